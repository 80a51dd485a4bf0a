"""Fixtures for the kombu command against the real Redis and RabbitMQ.

Without them the tests skip, or fail when ``CI=true``.  Every test uses its
own queue names (RabbitMQ: deleted afterwards; Redis: a key prefix of its own
in database 12, whose keys are deleted afterwards).  Nothing here changes a
broker's users, virtual hosts or configuration.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import require_service

HOST = "127.0.0.1"
AMQP_PORT, REDIS_PORT, REDIS_DB = 5672, 6379, 12
AMQP_URL = f"amqp://guest:guest@{HOST}:{AMQP_PORT}//"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KOMBU_URL", "COLUMNS")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    return env


@pytest.fixture
def queue() -> str:
    return f"kombu-cli-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def amqp_url(queue: str) -> Iterator[str]:
    """RabbitMQ's URL; the test's queue is deleted afterwards."""
    require_service("rabbitmq", HOST, AMQP_PORT)
    yield AMQP_URL
    import amqp

    conn = amqp.Connection(f"{HOST}:{AMQP_PORT}", connect_timeout=5)
    conn.connect()
    try:
        channel = conn.channel()
        channel.queue_delete(queue)
    finally:
        conn.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis's URL with a key prefix of the test's own; its keys are deleted afterwards."""
    require_service("redis", HOST, REDIS_PORT)
    prefix = f"kc{uuid.uuid4().hex[:10]}:"
    yield f"redis://{HOST}:{REDIS_PORT}/{REDIS_DB}?global_keyprefix={prefix}"
    import redis

    client = redis.Redis(HOST, REDIS_PORT, db=REDIS_DB)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["amqp", "redis"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each real broker in turn."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def dead_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
