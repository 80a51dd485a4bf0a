"""kombu.aio against memory, filesystem, Redis and RabbitMQ (the real brokers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from brokers import require_service

from kombu import Connection

REDIS_URL = "redis://127.0.0.1:6379/13"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture(params=["memory", "filesystem", "redis", "amqp"])
def url_and_options(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    name = request.param
    if name == "memory":
        return "memory://", {}
    if name == "filesystem":
        return "filesystem://", {"data_folder": str(tmp_path / "fs"), "fsync": False,
                                 "polling_interval": 0.05}
    if name == "redis":
        require_service("Redis", "127.0.0.1", 6379)
        return REDIS_URL, {"visibility_timeout": 2}
    require_service("RabbitMQ", "127.0.0.1", 5672)
    return AMQP_URL, {}


@pytest.fixture
def blocking(url_and_options: tuple[str, dict[str, Any]]) -> Any:
    url, options = url_and_options
    conn = Connection(url, transport_options=options)
    yield conn
    conn.close()
