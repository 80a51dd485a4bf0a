"""The fault suite runs (scripts/fault_runs.py), once per session."""

from __future__ import annotations

from typing import Any

import pytest
from fault_runs import run_fault_suites


@pytest.fixture(scope="session")
def fault_runner(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("fault-results")
    return lambda names: run_fault_suites(names, out)
