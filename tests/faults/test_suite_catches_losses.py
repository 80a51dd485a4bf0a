"""The fault suite fails a transport that loses messages, and says how many.

``lossyfs://`` (tests/fixtures/kombu-lossy-transport, installed by scripts/test.py)
is the filesystem transport deleting each message as it is fetched, as kombu's
at-most-once transports do.  A consumer SIGKILLed while it holds prefetched
messages then loses them: the suite must report them lost and fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"fsync": False, "polling_interval": 0.05, "visibility_timeout": 2}


def test_consumer_sigkill_reports_the_prefetched_messages_lost(tmp_path: Path) -> None:
    try:
        metadata.distribution("kombu-lossy-transport")
    except metadata.PackageNotFoundError:
        pytest.fail("tests/fixtures/kombu-lossy-transport is not installed: run "
                    "python3 scripts/test.py (it installs every tests/fixtures package)",
                    pytrace=False)
    results = tmp_path / "results.json"
    options = {**OPTIONS, "data_folder": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "kombu.testing.faults", "-p", "no:cacheprovider",
         "-q", "--timeout=300", "--kombu-url=lossyfs://",
         f"--kombu-transport-options={json.dumps(options)}",
         "--kombu-faults=consumer_sigkill", f"--kombu-fault-results={results}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"the fault suite passed an at-most-once transport:\n{output}"
    scenario = json.loads(results.read_text())["scenarios"]["consumer_sigkill"]
    tally = scenario["tally"]
    assert tally["lost"] > 0, (tally, output[-3000:])
    assert tally["twice"] == 0, tally
    assert "lost" in output, output[-3000:]
