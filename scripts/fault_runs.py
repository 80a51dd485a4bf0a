"""Run the fault suite against targets of kit_targets.py: one ``pytest -p
kombu.testing.faults`` subprocess per target, in parallel (each target's servers and
proxies are its own).  Used by tests/faults and scripts/update_reliability_table.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kit_targets import TARGETS

__all__ = ("run_fault_suites",)

ROOT = Path(__file__).resolve().parent.parent


def run_fault_suites(names: list[str], out: Path, timeout: float = 600) -> dict[str, Any]:
    procs = {}
    for name in names:
        tmp = tempfile.mkdtemp(prefix=f"kombu-faults-{name}-")
        cmd = [sys.executable, "-m", "pytest", "-p", "kombu.testing.faults",
               "-p", "no:cacheprovider", "-q", "-rs", "--timeout=300",
               *TARGETS[name].fault_args(tmp), f"--kombu-fault-results={out / name}.json"]
        procs[name] = (time.monotonic(), subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1")))
    done = {}
    for name, (started, proc) in procs.items():
        output, _ = proc.communicate(timeout=timeout)
        path = out / f"{name}.json"
        done[name] = {"exit": proc.returncode, "output": output,
                      "seconds": time.monotonic() - started,
                      "results": json.loads(path.read_text()) if path.exists() else None}
    return done
