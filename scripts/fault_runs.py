"""Run the fault suite against targets of kit_targets.py: one ``pytest -p
kombu.testing.faults`` subprocess per target, a few at a time (each target's servers
and proxies are its own).  Used by tests/faults and scripts/update_reliability_table.py."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bounded_runs import jobs_from_env, run_bounded
from kit_targets import TARGETS

__all__ = ("run_fault_suites",)

ROOT = Path(__file__).resolve().parent.parent


def run_fault_suites(names: list[str], out: Path, timeout: float = 900) -> dict[str, Any]:
    """The fault suite against each of ``names``, ``KOMBU_FAULT_JOBS`` (3) at a time:
    its lease and slow-consumer scenarios time real work, which a machine running all
    of them at once on 2 cores would distort."""
    commands = {}
    for name in names:
        tmp = tempfile.mkdtemp(prefix=f"kombu-faults-{name}-")
        commands[name] = [sys.executable, "-m", "pytest", "-p", "kombu.testing.faults",
                          "-p", "no:cacheprovider", "-q", "-rs", "--timeout=300",
                          *TARGETS[name].fault_args(tmp),
                          f"--kombu-fault-results={out / name}.json"]
    finished = run_bounded(commands, out, jobs_from_env("KOMBU_FAULT_JOBS"), timeout)
    done = {}
    for name, run in finished.items():
        path = out / f"{name}.json"
        done[name] = {"exit": run.exit, "output": run.output, "seconds": run.seconds,
                      "results": json.loads(path.read_text()) if path.exists() else None}
    return done
