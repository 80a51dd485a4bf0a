"""Pools against the real Redis: a connection that raised goes back closed.

Publishing to an exchange that was never declared is a channel error on
Redis too (NotFound); the pool must close that connection (or channel)
before taking it back, and the next ``acquire()`` must reconnect cleanly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection, Exchange, Queue, pools


@pytest.fixture(autouse=True)
def _clean_pools() -> Iterator[None]:
    pools.reset()
    yield
    pools.reset()


@pytest.fixture
def base(url: str) -> Iterator[Connection]:
    conn = Connection(url)
    yield conn
    conn.close()


def _missing_exchange() -> Exchange:
    return Exchange(f"missing-{uuid.uuid4().hex}", "direct")


def _not_found(conn: Connection) -> tuple[type[BaseException], ...]:
    """The transport's channel errors (NotFound is one of them)."""
    return conn.channel_errors


def _get(conn: Connection, queue_name: str) -> Any:
    message = conn.SimpleQueue(queue_name).get(timeout=5)
    message.ack()
    return message.payload


@pytest.mark.parametrize("source", ["Connection.Pool", "pools.connections"])
def test_connection_that_hit_a_channel_error_goes_back_closed(
        source: str, base: Connection) -> None:
    pool = base.Pool(limit=2) if source == "Connection.Pool" else pools.connections[base]
    queue_name = f"pool-{uuid.uuid4().hex[:8]}"
    with pytest.raises(_not_found(base)):
        with pool.acquire(block=True) as conn:
            conn.Producer().publish({"lost": True}, exchange=_missing_exchange(),
                                    routing_key="x")
    assert not conn.connected
    with pool.acquire(block=True) as again:
        assert again is conn and not again.connected
        again.Producer().publish({"ok": 1}, routing_key=queue_name,
                                 declare=[Queue(queue_name)])
        assert again.connected
        assert _get(again, queue_name) == {"ok": 1}


def test_connection_is_closed_whatever_the_exception(base: Connection) -> None:
    pool = base.Pool(limit=1)
    with pytest.raises(KeyError):
        with pool.acquire() as conn:
            conn.connect()
            assert conn.connected
            raise KeyError("application error")
    assert not conn.connected
    with pool.acquire() as again:
        assert again is conn
        again.connect()
        assert again.connected


def test_producer_pool_closes_the_connection_of_a_producer_that_raised(
        base: Connection) -> None:
    queue_name = f"pool-{uuid.uuid4().hex[:8]}"
    with pytest.raises(_not_found(base)):
        with pools.producers[base].acquire(block=True) as producer:
            used = producer.connection
            producer.publish({"lost": True}, exchange=_missing_exchange(), routing_key="x")
    assert not used.connected
    with pools.producers[base].acquire(block=True) as again:
        assert again.connection is used and not used.connected
        again.publish({"ok": 2}, routing_key=queue_name, declare=[Queue(queue_name)])
        assert used.connected
    assert _get(base, queue_name) == {"ok": 2}


def test_channel_pool_replaces_a_channel_that_raised(base: Connection) -> None:
    queue_name = f"pool-{uuid.uuid4().hex[:8]}"
    pool = base.ChannelPool(limit=1)
    with pytest.raises(_not_found(base)):
        with pool.acquire(block=True) as channel:
            base.Producer(channel).publish({"lost": True}, exchange=_missing_exchange(),
                                           routing_key="x")
    assert channel.closed
    with pool.acquire(block=True) as fresh:
        assert fresh is not channel and not fresh.closed
        base.Producer(fresh).publish({"ok": 3}, routing_key=queue_name,
                                     declare=[Queue(queue_name)])
    assert _get(base, queue_name) == {"ok": 3}
