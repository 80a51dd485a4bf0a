"""Shared fixtures; broker availability lives in tests/brokers.py."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fresh_plugin_registry():
    """Each test sees plugin discovery as a new process would."""
    from kombu import plugins

    plugins.reset()
    yield
    plugins.reset()
