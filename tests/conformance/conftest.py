"""Running the kit in subprocesses, a few at once, and reading their results."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from bounded_runs import jobs_from_env, run_bounded

ROOT = Path(__file__).resolve().parent.parent.parent

#: name -> extra pytest arguments (``--kombu-url=...``, a kit module, ...)
Jobs = Mapping[str, Sequence[str]]


def run_kits(jobs: Jobs, out: Path, env: Mapping[str, str] | None = None,
             timeout: float = 900) -> dict[str, dict[str, Any]]:
    """Run ``pytest -p kombu.testing`` once per job, ``KOMBU_KIT_JOBS`` (3) at a time;
    ``--kombu-results`` go to ``out/<name>.json``.  Returns exit code, output, seconds
    and results.  ``timeout`` bounds each run."""
    commands = {name: [sys.executable, "-m", "pytest", "-p", "kombu.testing", "-p",
                       "no:cacheprovider", "-q", "--timeout=120",
                       f"--kombu-results={out / name}.json", *args]
                for name, args in jobs.items()}
    finished = run_bounded(commands, out, jobs_from_env("KOMBU_KIT_JOBS"), timeout, env)
    done = {}
    for name, run in finished.items():
        path = out / f"{name}.json"
        done[name] = {"exit": run.exit, "output": run.output, "seconds": run.seconds,
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
