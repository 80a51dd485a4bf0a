"""The conformance kit against each installed first-party plugin's real broker.

A plugin that is not installed is skipped; a broker that does not answer is skipped
locally and fails under CI=true (scripts/test.py starts them: see SERVICES).  The
runs go in parallel subprocesses, and what they measure must match the stored
results the README's table is made from.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest
from brokers import unavailable
from kit_targets import TARGETS

from kombu.testing.results import load_results

#: The module's fixture runs every target (a few at a time, each bounded on its own):
#: far longer than the runner's 300 s per test.
pytestmark = pytest.mark.timeout(2400)

HOST = "127.0.0.1"

#: The plugin targets of scripts/kit_targets.py (those with a server).
PLUGINS = {name: t for name, t in TARGETS.items() if t.distribution is not None}


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def _answers(port: int) -> str | None:
    try:
        socket.create_connection((HOST, port), timeout=3).close()
    except OSError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def runs(kit_runner: Callable[..., dict[str, dict[str, Any]]],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    jobs = {}
    for name, target in PLUGINS.items():
        assert target.distribution is not None
        # A target without a port has no server (a SQLite file in a scratch folder).
        if _installed(target.distribution) and (
                target.port is None or _answers(target.port) is None):
            tmp = tmp_path_factory.mktemp(f"kit-{_safe(name)}")
            jobs[name] = target.pytest_args(str(tmp))
    return kit_runner(jobs)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)


def _run_for(runs: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    target = PLUGINS[name]
    dist, port = str(target.distribution), int(target.port or 0)
    service = target.services[0] if target.services else "its broker"
    if not _installed(dist):
        unavailable(f"{dist} is not installed")
    if name not in runs:
        unavailable(f"{service} is not reachable at {HOST}:{port} ({_answers(port)})")
    return runs[name]


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_kit_passes(runs: dict[str, dict[str, Any]], name: str,
                    failure_summary: Callable[[dict[str, Any]], str]) -> None:
    run = _run_for(runs, name)
    assert run["exit"] == 0, f"the kit fails {name}:\n{failure_summary(run)}"


@pytest.mark.parametrize("name", sorted(PLUGINS))
def test_stored_results_are_current(runs: dict[str, dict[str, Any]], name: str) -> None:
    run = _run_for(runs, name)
    assert run["results"] is not None, run["output"][-2000:]
    stored = {r["transport"]: r for r in load_results()}
    assert name in stored, "no stored results: run python scripts/update_transport_table.py " \
        "--measure"
    assert run["results"]["features"] == stored[name]["features"], (
        f"{name}'s stored results are stale: run "
        f"`python scripts/update_transport_table.py --measure` and commit the results")
