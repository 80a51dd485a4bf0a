"""What the command writes: results on standard output, everything else on standard error."""

from __future__ import annotations

import sys

__all__ = ("Reporter", "StdoutClosed")


class StdoutClosed(Exception):
    """Standard output was closed by its reader (``kombu consume q | head -1``)."""


class Reporter:
    """Writes for one command: ``kombu COMMAND: ...`` lines on standard error."""

    def __init__(self, command: str) -> None:
        self.command = command

    def say(self, message: str) -> None:
        """One line on standard error, prefixed with the command."""
        print(f"kombu {self.command}: {message}", file=sys.stderr, flush=True)

    @staticmethod
    def stderr_is_terminal() -> bool:
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    @staticmethod
    def emit(text: str) -> None:
        """``text`` on standard output, flushed; :class:`StdoutClosed` if nobody reads it."""
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError as exc:
            raise StdoutClosed(str(exc)) from None
