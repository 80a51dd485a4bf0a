"""Last-resort persistence of state when a process is going down."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pprint import pformat
from typing import IO, Any

__all__ = ("emergency_dump_state",)


def emergency_dump_state(
    state: Any,
    open_file: Callable[..., IO[Any]] = open,
    dump: Callable[..., Any] | None = None,
    stderr: IO[str] | None = None,
) -> str:
    """Save ``state`` to a new temporary file and return its path.

    ``dump(state, file)`` defaults to :func:`pickle.dump`; if it fails the
    ``pprint`` text of ``state`` is written instead.  The path is reported
    on ``stderr``.
    """
    if stderr is None:
        stderr = sys.stderr
    if dump is None:
        import pickle

        dump = pickle.dump
    fd, path = tempfile.mkstemp(prefix="kombu-state-", suffix=".dump")
    os.close(fd)
    print(f"EMERGENCY DUMP STATE TO FILE -> {path} <-", file=stderr)
    with open_file(path, "wb") as fh:
        try:
            dump(state, fh)
        except Exception as exc:
            print(f"Cannot pickle state: {exc!r}. Falling back to pformat.", file=stderr)
            fh.seek(0)
            fh.truncate()
            fh.write(pformat(state).encode("utf-8", errors="replace"))
    return path
