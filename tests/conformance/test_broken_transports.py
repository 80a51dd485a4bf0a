"""The kit catches each deliberately broken transport, for the right reason.

All four runs of the kit (kits_broken.py, one class per transport, each overriding
the ``kombu_connection`` fixture) go in parallel subprocesses writing
``--kombu-results``; each test reads which checks failed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent

#: transport -> (checks that must fail, checks that may fail too, groups that fail)
EXPECTED: dict[str, tuple[set[str], set[str], set[str]]] = {
    "LosesRequeued": (
        {"test_requeue_redelivers", "test_reject_with_requeue_redelivers",
         "test_aio_reject_requeue_and_decode_errors"},
        # the async side runs the same channel: requeueing through it loses too
        {"test_requeue_does_not_dead_letter", "test_aio_consumer_cancelled_mid_stream",
         "test_aio_interoperates_with_the_blocking_api"},
        {"acks", "dead_letter", "asyncio"},
    ),
    "IgnoresPrefetch": (
        {"test_prefetch_count_honoured", "test_prefetch_change",
         "test_aio_prefetch_is_honoured"},
        set(),
        {"prefetch", "asyncio"},
    ),
    "MisroutesHash": (
        {"test_topic_hash", "test_topic_many_levels"},
        {"test_topic_empty_words", "test_topic_one_copy_per_queue"},
        {"topic"},
    ),
    "IgnoresPriority": (
        {"test_priority_order"},
        set(),
        {"priority"},
    ),
}


@pytest.fixture(scope="module")
def broken_runs(kit_runner: Callable[..., dict[str, dict[str, Any]]]
                ) -> dict[str, dict[str, Any]]:
    path = os.pathsep.join([str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])
    runs = kit_runner({name: [f"{HERE / 'kits_broken.py'}::Test{name}"] for name in EXPECTED},
                      env={"PYTHONPATH": path})
    for name, run in runs.items():
        assert run["results"] is not None, f"no results for {name}:\n{run['output'][-3000:]}"
        run.update(run.pop("results"))
    return runs


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kit_catches_broken_transport(broken_runs: dict[str, dict[str, Any]], name: str) -> None:
    run = broken_runs[name]
    must, may, groups = EXPECTED[name]
    failed = {check for check, res in run["checks"].items() if res["outcome"] == "fail"}
    assert run["exit"] != 0, f"the kit passed {name}:\n{run['output'][-2000:]}"
    assert must <= failed, f"{name}: expected {sorted(must - failed)} to fail; failed: " \
        f"{sorted(failed)}"
    assert failed <= must | may, f"{name}: unrelated checks failed: {sorted(failed - must - may)}"
    failing = {g for g, outcome in run["features"].items() if outcome == "fail"}
    assert failing <= groups, f"{name}: unrelated feature groups fail: {failing - groups}"
    assert {run["checks"][c]["group"] for c in must} <= failing


def test_unstated_feature_is_not_supported(broken_runs: dict[str, dict[str, Any]]) -> None:
    """A transport that does not state a feature is 'not supported', not failed."""
    run = broken_runs["IgnoresPrefetch"]
    assert run["implements"]["queue_ttl"] is False
    assert run["features"]["queue_ttl"] == "not supported"
    reason = run["checks"]["test_queue_expires_when_unused"]["reason"]
    assert reason.startswith("not supported: queue_ttl")
