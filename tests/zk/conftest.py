"""Fixtures for the ZooKeeper transport tests (server: scripts/services.d/zookeeper.sh)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from brokers import require_service

ZK_HOST, ZK_PORT = "127.0.0.1", 2181


@pytest.fixture(autouse=True)
def _zookeeper_available() -> None:
    require_service("zookeeper", ZK_HOST, ZK_PORT)


@pytest.fixture
def root() -> Iterator[str]:
    """A chroot unique to the test; deleted afterwards."""
    from kazoo.client import KazooClient

    value = f"kombu-zk-test/{uuid.uuid4().hex[:10]}"
    yield value
    zk = KazooClient(hosts=f"{ZK_HOST}:{ZK_PORT}")
    zk.start(timeout=10)
    try:
        zk.delete(f"/{value}", recursive=True)
    except Exception:
        pass
    finally:
        zk.stop()
        zk.close()


@pytest.fixture
def url(root: str) -> str:
    return f"zookeeper://{ZK_HOST}:{ZK_PORT}/{root}"


@pytest.fixture
def raw() -> Iterator[object]:
    """A plain kazoo client on the server."""
    from kazoo.client import KazooClient

    zk = KazooClient(hosts=f"{ZK_HOST}:{ZK_PORT}")
    zk.start(timeout=10)
    yield zk
    zk.stop()
    zk.close()
