"""Pools against RabbitMQ: a connection whose channel died goes back closed.

A publish with ``confirm_publish=True`` to an exchange that does not exist
makes the broker close the channel (404 NOT_FOUND, raised as NotFound).  The
pool must close that connection (or channel) before taking it back, so the
next ``acquire()`` gets one that reconnects instead of a dead channel.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection, Queue, pools


@pytest.fixture(autouse=True)
def _clean_pools() -> Iterator[None]:
    pools.reset()
    yield
    pools.reset()


@pytest.fixture
def base(rabbitmq: str) -> Iterator[Connection]:
    conn = Connection(rabbitmq, connect_timeout=5, transport_options={"confirm_publish": True})
    yield conn
    conn.close()


@pytest.fixture
def queue_name(uid: str, cleanup: Any) -> str:
    return cleanup.queue(f"pool-{uid}")


def _missing_exchange() -> str:
    return f"missing-{uuid.uuid4().hex}"


def _not_found(conn: Connection) -> type[BaseException]:
    """py-amqp's NotFound (404 NOT_FOUND), which kombu 5.7 raises here too."""
    from amqp.exceptions import NotFound

    assert issubclass(NotFound, conn.channel_errors)
    return NotFound


def _publish_and_get(conn: Connection, queue_name: str, body: Any) -> Any:
    producer = conn.Producer()
    producer.publish(body, routing_key=queue_name, declare=[Queue(queue_name)])
    message = conn.SimpleQueue(queue_name).get(timeout=5)
    message.ack()
    return message.payload


@pytest.mark.parametrize("source", ["Connection.Pool", "pools.connections"])
def test_connection_that_hit_a_channel_error_goes_back_closed(
        source: str, base: Connection, queue_name: str) -> None:
    pool = base.Pool(limit=2) if source == "Connection.Pool" else pools.connections[base]
    with pytest.raises(_not_found(base)):
        with pool.acquire(block=True) as conn:
            conn.Producer().publish({"lost": True}, exchange=_missing_exchange(),
                                    routing_key="x")
    assert not conn.connected
    with pool.acquire(block=True) as again:
        assert again is conn
        assert not again.connected
        assert _publish_and_get(again, queue_name, {"ok": 1}) == {"ok": 1}
        assert again.connected


def test_producer_pool_closes_the_connection_of_a_producer_that_hit_a_channel_error(
        base: Connection, queue_name: str) -> None:
    with pytest.raises(_not_found(base)):
        with pools.producers[base].acquire(block=True) as producer:
            used = producer.connection
            producer.publish({"lost": True}, exchange=_missing_exchange(), routing_key="x")
    assert not used.connected
    with pools.producers[base].acquire(block=True) as again:
        assert again.connection is used and not used.connected
        again.publish({"ok": 2}, routing_key=queue_name, declare=[Queue(queue_name)])
        assert used.connected
    with Connection(base.as_uri(include_password=True)) as reader:
        message = reader.SimpleQueue(queue_name).get(timeout=5)
        message.ack()
        assert message.payload == {"ok": 2}


def test_channel_pool_replaces_a_channel_that_hit_a_channel_error(
        base: Connection, queue_name: str) -> None:
    pool = base.ChannelPool(limit=1)
    with pytest.raises(_not_found(base)):
        with pool.acquire(block=True) as channel:
            base.Producer(channel).publish({"lost": True}, exchange=_missing_exchange(),
                                           routing_key="x")
    assert not channel.is_open
    with pool.acquire(block=True) as fresh:
        assert fresh is not channel and fresh.is_open
        base.Producer(fresh).publish({"ok": 3}, routing_key=queue_name,
                                     declare=[Queue(queue_name)])
    message = base.SimpleQueue(queue_name).get(timeout=5)
    message.ack()
    assert message.payload == {"ok": 3}
