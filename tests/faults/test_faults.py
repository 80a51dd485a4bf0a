"""Every transport of scripts/kit_targets.py runs the fault suite against its real broker:
0 lost and 0 delivered twice after an ack in every scenario but those its target states
the broker cannot offer; and the stored results behind the README's reliability table
say the same."""

from __future__ import annotations

import socket
from importlib import metadata
from typing import Any

import pytest
from brokers import unavailable
from kit_targets import TARGETS

from kombu.testing.faults.table import load_fault_results

#: The module's fixture runs every target (a few at a time, each bounded on its own):
#: far longer than the runner's 300 s per test.
pytestmark = pytest.mark.timeout(2400)


def _available(name: str) -> str | None:
    target = TARGETS[name]
    if target.distribution is not None:
        try:
            metadata.distribution(target.distribution)
        except metadata.PackageNotFoundError:
            return f"{target.distribution} is not installed"
    if target.port is not None and not target.fault_server:
        try:
            socket.create_connection(("127.0.0.1", target.port), timeout=3).close()
        except OSError as exc:
            return f"{name}'s broker is not reachable at 127.0.0.1:{target.port} ({exc})"
    return None


@pytest.fixture(scope="module")
def runs(fault_runner: Any) -> dict[str, Any]:
    return fault_runner([n for n in TARGETS if _available(n) is None])


def _run(runs: dict[str, Any], name: str) -> dict[str, Any]:
    why = _available(name)
    if why:
        unavailable(why)
    run = runs[name]
    assert run["results"] is not None, run["output"][-3000:]
    return run


def _failures(output: str) -> str:
    keep = [ln for ln in output.splitlines() if ln.startswith(("FAILED", "ERROR", "E   "))]
    return "\n".join(keep[-40:]) or output[-3000:]


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fault_suite_passes(runs: dict[str, Any], name: str) -> None:
    run = _run(runs, name)
    assert run["exit"] == 0, f"the fault suite fails {name}:\n{_failures(run['output'])}"
    for scenario, entry in run["results"]["scenarios"].items():
        if entry["outcome"] == "n/a" or entry.get("cannot_offer"):
            continue
        tally = entry.get("tally")
        if tally is not None:
            assert tally["lost"] == 0 and tally["twice"] == 0, (name, scenario, tally)


def _outcomes(results: dict[str, Any]) -> dict[str, tuple[str, str | None]]:
    return {s: (e["outcome"], e.get("cannot_offer")) for s, e in results["scenarios"].items()}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_stored_results_are_current(runs: dict[str, Any], name: str) -> None:
    run = _run(runs, name)
    stored = {r["transport"]: r for r in load_fault_results()}
    assert name in stored, ("no stored fault results: run python "
                            "scripts/update_reliability_table.py --measure")
    assert _outcomes(run["results"]) == _outcomes(stored[name]), (
        f"{name}'s stored fault results are stale: run "
        f"`python scripts/update_reliability_table.py --measure` and commit them")
