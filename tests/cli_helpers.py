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
                      interrupt: bool = False, timeout: float = 30) -> TerminalRun:
    """Run the command with standard error on a pseudo-terminal.

    With ``until``, wait for that text on the terminal; with ``interrupt``
    then send SIGINT (Ctrl-C) and wait for the exit.
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "kombu", *args], env=dict(env),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout

    def read(wait: float) -> None:
        nonlocal seen
        ready, _, _ = select.select([master], [], [], wait)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:  # the child closed the terminal
                pass

    try:
        while until is not None and until.encode() not in seen:
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            read(0.2)
        if interrupt:
            proc.send_signal(signal.SIGINT)
        stdout, _ = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
        for _ in range(5):
            read(0.1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return TerminalRun(proc.returncode, stdout.decode(), seen.decode(errors="replace"))
