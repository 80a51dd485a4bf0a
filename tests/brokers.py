"""Broker availability for tests: skip locally, fail under ``CI=true``."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(message: str) -> NoReturn:
    """Skip the test (locally) or fail it (CI=true): a missing broker is no pass."""
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it (start it with scripts/services.sh)",
                    pytrace=False)
    pytest.skip(message)


def require_service(name: str, host: str, port: int) -> None:
    """Skip (locally) or fail (CI=true) when ``name`` does not answer on ``host:port``."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        unavailable(f"{name} is not reachable at {host}:{port} ({exc})")
