"""Fixtures for the kombu-amqp tests: a real RabbitMQ at 127.0.0.1:5672 (guest/guest).

Without RabbitMQ the tests skip, or fail when ``CI=true``.  Every test uses
its own uniquely named queues and exchanges and deletes them afterwards.
Broker-side changes some tests need (a virtual host, a TLS listener) are
made at run time with ``rabbitmqctl`` and undone at the end of the session:
the broker is never restarted and its configuration files are never touched.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from brokers import require_service, unavailable

HOST = "127.0.0.1"
PORT = 5672
URL = f"amqp://guest:guest@{HOST}:{PORT}//"


def rabbitmqctl(*args: str, check: bool = True, timeout: float = 60) -> str:
    """Run ``rabbitmqctl`` against the local node and return its output."""
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        unavailable("rabbitmqctl is not installed: this test drives the broker with it")
    out = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {out.stderr or out.stdout}")
    return out.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def rabbitmq() -> str:
    """The broker URL, once RabbitMQ answers."""
    require_service("rabbitmq", HOST, PORT)
    return URL


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:12]


class Cleanup:
    """Delete queues/exchanges by name at teardown, on a fresh connection."""

    def __init__(self) -> None:
        self.queues: list[str] = []
        self.exchanges: list[str] = []

    def queue(self, name: str) -> str:
        self.queues.append(name)
        return name

    def exchange(self, name: str) -> str:
        self.exchanges.append(name)
        return name

    def run(self, url: str) -> None:
        if not (self.queues or self.exchanges):
            return
        import amqp

        conn = amqp.Connection(f"{HOST}:{PORT}", connect_timeout=5)
        try:
            conn.connect()
            for name in self.queues:
                ch = conn.channel()
                try:
                    ch.queue_delete(name)
                    ch.close()
                except amqp.exceptions.ChannelError:
                    pass
            for name in self.exchanges:
                ch = conn.channel()
                try:
                    ch.exchange_delete(name)
                    ch.close()
                except amqp.exceptions.ChannelError:
                    pass
        finally:
            conn.close()


@pytest.fixture
def cleanup(rabbitmq: str) -> Iterator[Cleanup]:
    c = Cleanup()
    yield c
    c.run(rabbitmq)


@pytest.fixture
def conn(rabbitmq: str) -> Iterator[Any]:
    from kombu import Connection

    c = Connection(rabbitmq, connect_timeout=5)
    c.connect()
    yield c
    c.close()


@pytest.fixture(scope="session")
def vhost(rabbitmq: str) -> Iterator[str]:
    """A virtual host of our own (guest has full rights on it), deleted at the end."""
    name = f"kombu-amqp-test-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield name
    finally:
        rabbitmqctl("delete_vhost", name, check=False)


@pytest.fixture(scope="session")
def ctl() -> Any:
    """:func:`rabbitmqctl`, for test modules (conftest is not importable by name)."""
    return rabbitmqctl


@pytest.fixture
def unused_port() -> int:
    return free_port()
