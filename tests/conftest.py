"""Shared test helpers: broker availability (fail, not skip, under CI=true)."""

from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (CI=true) when ``name`` does not answer."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        message = f"{name} is not reachable at {host}:{port} ({exc})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it (start it with scripts/services.sh)",
                        pytrace=False)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_plugin_registry():
    """Each test sees plugin discovery as a new process would."""
    from kombu import plugins

    plugins.reset()
    yield
    plugins.reset()
