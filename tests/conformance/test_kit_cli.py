"""``pytest -p kombu.testing --kombu-url=URL`` runs the kit against memory:// and
filesystem://, passes, is quick, and measures what the stored results say."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from kit_targets import TARGETS

from kombu.testing.results import load_results

#: A full run of the kit against memory:// takes about 16 s unloaded (plus about 8 s
#: for the async section); the groups of a CI run share two cores, so this bound only
#: catches a check that stalls (one once waited out its whole 15 s redelivery timeout).
MEMORY_BUDGET = 60.0
CORE = ["memory", "filesystem"]


@pytest.fixture(scope="module")
def runs(kit_runner: Callable[..., dict[str, dict[str, Any]]],
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = str(tmp_path_factory.mktemp("filesystem-broker"))
    return kit_runner({name: TARGETS[name].pytest_args(folder) for name in CORE})


@pytest.mark.parametrize("name", CORE)
def test_kit_passes(runs: dict[str, dict[str, Any]], name: str,
                    failure_summary: Callable[[dict[str, Any]], str]) -> None:
    run = runs[name]
    assert run["exit"] == 0, f"the kit fails {name}://:\n{failure_summary(run)}"


def test_memory_run_is_fast(runs: dict[str, dict[str, Any]]) -> None:
    assert runs["memory"]["seconds"] < MEMORY_BUDGET, runs["memory"]["output"][-1000:]


@pytest.mark.parametrize("name", CORE)
def test_results_file(runs: dict[str, dict[str, Any]], name: str) -> None:
    import kombu

    results = runs[name]["results"]
    assert results is not None, runs[name]["output"][-2000:]
    assert results["transport"] == name
    assert results["transport_class"] == f"kombu.transport.{name}:Transport"
    assert (results["distribution"], results["distribution_version"]) == \
        ("kombu-core", kombu.__version__)
    assert results["kombu_core_version"] == kombu.__version__
    assert results["python"] == ".".join(map(str, sys.version_info[:3]))
    assert len(results["date"]) == 10
    assert set(results["features"].values()) <= {"pass", "fail", "not supported"}
    assert results["features"]["queue_ttl"] == "not supported"
    for check in results["checks"].values():
        assert check["outcome"] in {"pass", "fail", "not supported", "skipped"}


@pytest.mark.parametrize("name", CORE)
def test_stored_results_are_current(runs: dict[str, dict[str, Any]], name: str) -> None:
    """What the kit measures now is what the committed results (and README) say."""
    stored = {run["transport"]: run for run in load_results()}
    assert name in stored, "no stored results: run python scripts/update_transport_table.py " \
        "--measure"
    measured = runs[name]["results"]
    assert measured is not None
    assert measured["features"] == stored[name]["features"], (
        f"{name}'s stored results are stale: run "
        f"`python scripts/update_transport_table.py --measure` and commit the results")


def test_results_path_is_reported(runs: dict[str, dict[str, Any]]) -> None:
    assert "kombu.testing: results written to" in runs["memory"]["output"]
