"""Run named subprocesses a few at a time: the kit and fault-suite runs of the tests.

Each run is a busy process (and often has a broker of its own); a 2-core CI machine
runs other test groups beside them, so starting all at once makes the slow ones time
out.  Output goes to a file per run, not a pipe, so nothing blocks on it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ("Finished", "jobs_from_env", "run_bounded")

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Finished:
    """How one run ended: exit status (None: killed at its timeout), output, seconds."""

    exit: int | None
    output: str
    seconds: float


def jobs_from_env(variable: str, default: int = 3) -> int:
    """How many runs at once: ``$variable`` if set, else ``default`` (at least 1)."""
    return max(1, int(os.environ.get(variable, default)))


def run_bounded(commands: Mapping[str, Sequence[str]], logs: Path, jobs: int,
                timeout: float, env: Mapping[str, str] | None = None,
                ) -> dict[str, Finished]:
    """Run each command (by name), ``jobs`` at a time, each killed after ``timeout`` s."""
    logs.mkdir(parents=True, exist_ok=True)
    environ = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    waiting = list(commands.items())
    running: dict[str, tuple[float, subprocess.Popen[bytes], Path]] = {}
    done: dict[str, Finished] = {}
    while waiting or running:
        while waiting and len(running) < jobs:
            name, cmd = waiting.pop(0)
            log = logs / f"{name}.log"
            with log.open("wb") as sink:
                proc = subprocess.Popen(list(cmd), cwd=ROOT, stdout=sink,
                                        stderr=subprocess.STDOUT, env=environ)
            running[name] = (time.monotonic(), proc, log)
        time.sleep(0.2)
        for name, (started, proc, log) in list(running.items()):
            seconds = time.monotonic() - started
            if proc.poll() is None and seconds < timeout:
                continue
            killed = proc.poll() is None
            if killed:
                proc.kill()
                proc.wait()
            del running[name]
            output = log.read_text(errors="replace")
            if killed:
                output += f"\n(killed after {timeout:.0f} s)\n"
            done[name] = Finished(None if killed else proc.returncode, output, seconds)
    return done
