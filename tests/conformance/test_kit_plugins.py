"""The conformance kit against each installed first-party plugin's real broker.

A plugin that is not installed is skipped; a broker that does not answer is skipped
locally and fails under CI=true (scripts/test.py starts them: see SERVICES).  The
runs go in parallel subprocesses, and what they measure must match the stored
results the README's table is made from.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest
from brokers import unavailable

from kombu.testing.results import load_results

HOST = "127.0.0.1"

#: name -> (distribution, service, port, URL, transport options)
PLUGINS: dict[str, tuple[str, str, int, str, dict[str, Any]]] = {
    "amqp": ("kombu-amqp", "rabbitmq", 5672, f"amqp://guest:guest@{HOST}:5672//", {}),
    # a consumer killed with messages unacked gives them back after visibility_timeout
    "redis": ("kombu-redis", "redis", 6379, f"redis://{HOST}:6379/13",
              {"visibility_timeout": 5}),
}


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
def runs(kit_runner: Callable[..., dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    jobs = {}
    for name, (dist, _service, port, url, options) in PLUGINS.items():
        if _installed(dist) and _answers(port) is None:
            jobs[name] = [f"--kombu-url={url}"]
            if options:
                jobs[name].append(f"--kombu-transport-options={json.dumps(options)}")
    return kit_runner(jobs)


def _run_for(runs: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    dist, service, port, _url, _options = PLUGINS[name]
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
