"""Running the kit in subprocesses, several at once, and reading their results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

#: name -> extra pytest arguments (``--kombu-url=...``, a kit module, ...)
Jobs = Mapping[str, Sequence[str]]


#: Kit runs at once: each is a busy process (and its broker another); a 2-core CI
#: machine also runs other test groups beside this one.
KIT_JOBS = int(os.environ.get("KOMBU_KIT_JOBS", 3))


def run_kits(jobs: Jobs, out: Path, env: Mapping[str, str] | None = None,
             timeout: float = 900) -> dict[str, dict[str, Any]]:
    """Run ``pytest -p kombu.testing`` once per job, ``KOMBU_KIT_JOBS`` at a time;
    ``--kombu-results`` go to ``out/<name>.json``.  Returns exit code, output, seconds
    and results.  ``timeout`` bounds each run."""
    waiting = list(jobs.items())
    running: dict[str, tuple[float, subprocess.Popen[str], Path]] = {}
    done: dict[str, dict[str, Any]] = {}
    while waiting or running:
        while waiting and len(running) < max(1, KIT_JOBS):
            name, args = waiting.pop(0)
            log = out / f"{name}.log"
            cmd = [sys.executable, "-m", "pytest", "-p", "kombu.testing", "-p",
                   "no:cacheprovider", "-q", "--timeout=120",
                   f"--kombu-results={out / name}.json", *args]
            with log.open("w") as sink:  # a file, not a pipe: nothing blocks on output
                proc = subprocess.Popen(cmd, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT,
                                        text=True, env=dict(os.environ, PYTHONUNBUFFERED="1",
                                                            **(env or {})))
            running[name] = (time.monotonic(), proc, log)
        time.sleep(0.2)
        for name, (started, proc, log) in list(running.items()):
            seconds = time.monotonic() - started
            if proc.poll() is None and seconds < timeout:
                continue
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            del running[name]
            path = out / f"{name}.json"
            output = log.read_text()
            if seconds >= timeout:
                output += f"\n(kit run killed after {timeout:.0f} s)"
            done[name] = {"exit": proc.returncode, "output": output, "seconds": seconds,
                          "results": json.loads(path.read_text()) if path.exists() else None}
    return done


def _failure_summary(run: Mapping[str, Any]) -> str:
    """The failing checks and their first error lines, from a kit run's output."""
    lines = run["output"].splitlines()
    keep = [ln for ln in lines if ln.startswith(("FAILED", "ERROR", "E   "))]
    return "\n".join(keep[-60:]) or "\n".join(lines[-40:])


@pytest.fixture(scope="module")
def kit_runner(tmp_path_factory: pytest.TempPathFactory
               ) -> Callable[..., dict[str, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("kit-results")

    def run(jobs: Jobs, **kwargs: Any) -> dict[str, dict[str, Any]]:
        return run_kits(jobs, out, **kwargs)

    return run


@pytest.fixture
def failure_summary() -> Callable[[Mapping[str, Any]], str]:
    """Summarize a failed kit run: its FAILED and E lines."""
    return _failure_summary
