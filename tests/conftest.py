"""Shared fixtures; broker availability lives in tests/brokers.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# scripts/kit_targets.py: the one list of conformance kit runs (nox and the
# table script read it too).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))


@pytest.fixture(autouse=True)
def _fresh_plugin_registry():
    """Each test sees plugin discovery as a new process would."""
    from kombu import plugins

    plugins.reset()
    yield
    plugins.reset()
