"""Running the ``kombu`` command as a user does: a subprocess, optionally on a terminal."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Every exit status line ``kombu --help`` documents, by status.
EXIT = {"ok": 0, "no_message": 1, "usage": 2, "bad_message": 3, "unreachable": 10,
        "timeout": 11, "authentication": 12, "access": 13, "tls": 14, "not_installed": 15,
        "broker": 16, "interrupted": 130}


def kombu(*args: str, env: Mapping[str, str], input: str | None = None,
          timeout: float = 60, python: Sequence[str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    """``python -m kombu ARGS`` (or ``python ARGS`` with ``python`` given) to completion."""
    cmd = [*(python or [sys.executable, "-m", "kombu"]), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=dict(env), input=input,
                          timeout=timeout)


@dataclass
class TerminalRun:
    returncode: int
    stdout: str
    stderr: str  # what the terminal showed


def kombu_on_terminal(*args: str, env: Mapping[str, str], until: str | None = None,
                      interrupt: bool = False, timeout: float = 60,
                      exit_timeout: float = 30) -> TerminalRun:
    """Run the command with standard error on a pseudo-terminal.

    With ``until``, wait up to ``timeout`` for that text on the terminal; with
    ``interrupt`` then send SIGINT (Ctrl-C) and wait up to ``exit_timeout`` for
    the exit.  The terminal is read all along, as a real one is, so a command
    that writes a lot never blocks on it.  A command that does not exit in time
    gets SIGABRT: ``-X faulthandler`` then prints where each of its threads
    was, and the assertion shows it.
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "kombu", *args],
                            env=dict(env), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave)
    os.close(slave)
    seen = b""
    out: list[bytes] = []
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)

    def read(wait: float) -> None:
        nonlocal seen
        streams = [master, proc.stdout.fileno()] if proc.stdout else [master]
        ready, _, _ = select.select(streams, [], [], wait)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                continue
            if fd == master:
                seen += data
            else:
                out.append(data)

    def wait_exit(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while proc.poll() is None and time.monotonic() < deadline:
            read(0.1)
        return proc.poll() is not None

    try:
        deadline = time.monotonic() + timeout
        while until is not None and until.encode() not in seen:
            if proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"{until!r} not on the terminal within {timeout:g} s; "
                                     f"it showed: {seen.decode(errors='replace')!r}")
            read(0.2)
        if interrupt:
            proc.send_signal(signal.SIGINT)
        if not wait_exit(exit_timeout):
            proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            wait_exit(5)
            raise AssertionError(f"kombu {' '.join(args)} did not exit within "
                                 f"{exit_timeout:g} s{' of Ctrl-C' if interrupt else ''}; "
                                 f"the terminal showed:\n{seen.decode(errors='replace')}")
        for _ in range(5):
            read(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return TerminalRun(proc.returncode, b"".join(out).decode(), seen.decode(errors="replace"))
