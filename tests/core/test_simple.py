"""kombu.simple: SimpleQueue and SimpleBuffer behave like queue.Queue over a broker."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from kombu import Connection, Exchange, Queue
from kombu.simple import SimpleBuffer, SimpleQueue


@pytest.fixture
def conn():
    with Connection("memory://", transport_options={"polling_interval": 0.01}) as c:
        yield c


def test_put_get_round_trip_and_ack(conn):
    with conn.SimpleQueue("simple-rt") as q:
        q.put({"hello": "world"})
        message = q.get(timeout=1)
        assert message.payload == {"hello": "world"}
        message.ack()
        assert q.qsize() == 0


def test_messages_come_in_order(conn):
    q = conn.SimpleQueue("simple-order")
    for i in range(5):
        q.put(i)
    got = []
    for _ in range(5):
        message = q.get(timeout=1)
        got.append(message.payload)
        message.ack()
    assert got == [0, 1, 2, 3, 4]
    q.close()


def test_get_times_out_with_empty_within_the_time_asked(conn):
    q = conn.SimpleQueue("simple-empty")
    started = time.monotonic()
    with pytest.raises(q.Empty):
        q.get(timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 1.0
    assert q.Empty is queue.Empty is SimpleQueue.Empty
    q.close()


def test_get_nowait_and_non_blocking_get(conn):
    q = conn.SimpleQueue("simple-nowait")
    started = time.monotonic()
    with pytest.raises(queue.Empty):
        q.get_nowait()
    with pytest.raises(queue.Empty):
        q.get(block=False)
    assert time.monotonic() - started < 0.2
    q.put("ready")
    message = q.get_nowait()
    assert message.payload == "ready"
    message.ack()
    q.close()


def test_blocking_get_wakes_when_a_message_arrives(conn):
    q = conn.SimpleQueue("simple-wake")
    other = Connection("memory://")
    threading.Timer(0.1, lambda: other.SimpleQueue("simple-wake").put("late")).start()
    message = q.get(block=True, timeout=5)
    assert message.payload == "late"
    message.ack()
    q.close()
    other.close()


def test_qsize_len_and_clear(conn):
    q = conn.SimpleQueue("simple-size")
    for i in range(3):
        q.put(i)
    assert q.qsize() == 3
    assert len(q) == 3
    assert bool(q)  # a queue object is true even when empty
    assert q.clear() == 3
    assert len(q) == 0
    q.close()


def test_unacked_message_is_redelivered_after_close(conn):
    q = conn.SimpleQueue("simple-unacked")
    q.put("precious")
    assert q.get(timeout=1).payload == "precious"  # not acked
    q.close()
    conn.close()
    with Connection("memory://") as again:
        q2 = again.SimpleQueue("simple-unacked")
        message = q2.get(timeout=1)
        assert message.payload == "precious"
        assert message.delivery_info.get("redelivered")
        message.ack()
        q2.close()


def test_put_options_serializer_headers_compression(conn):
    q = conn.SimpleQueue("simple-opts", serializer="json")
    q.put({"x": 1}, headers={"h": "v"}, compression="zlib", priority=3)
    message = q.get(timeout=1)
    assert message.payload == {"x": 1}
    assert message.headers["h"] == "v"
    assert message.headers["compression"] == "application/x-gzip"
    assert message.content_type == "application/json"
    message.ack()
    q.close()


def test_attributes_and_defaults(conn):
    q = conn.SimpleQueue("simple-attrs")
    assert q.no_ack is False
    assert q.queue.name == "simple-attrs"
    assert q.queue.durable
    assert q.producer.exchange.name == "simple-attrs"
    assert q.producer.routing_key == "simple-attrs"
    assert q.consumer.queues[0].name == "simple-attrs"
    assert q.channel is conn.default_channel
    q.close()


def test_explicit_queue_entity_and_opts(conn):
    entity = Queue("simple-entity", Exchange("simple-entity-x", type="topic"), "a.b")
    q = SimpleQueue(conn.channel(), entity)
    assert q.producer.exchange.name == "simple-entity-x"
    q.put("via topic")
    message = q.get(timeout=1)
    assert message.payload == "via topic"
    message.ack()
    q.close()

    q = conn.SimpleQueue(
        "simple-opts-2",
        queue_opts={"durable": False},
        queue_args={"x-max-priority": 5},
        exchange_opts={"type": "fanout"},
    )
    assert q.queue.durable is False
    assert q.queue.queue_arguments == {"x-max-priority": 5}
    assert q.producer.exchange.type == "fanout"
    q.close()


def test_simple_buffer_is_transient_and_needs_no_ack(conn):
    buf = conn.SimpleBuffer("simple-buffer")
    assert isinstance(buf, SimpleBuffer)
    assert buf.no_ack is True
    assert buf.queue.auto_delete and not buf.queue.durable
    assert buf.producer.exchange.delivery_mode == 1  # transient
    buf.put("one")
    assert buf.get(timeout=1).payload == "one"
    buf.close()
    with Connection("memory://") as again:  # consumed without ack: gone for good
        with pytest.raises(queue.Empty):
            again.SimpleBuffer("simple-buffer").get(timeout=0.2)


def test_simple_queue_on_a_plain_channel(conn):
    channel = conn.channel()
    q = SimpleQueue(channel, "simple-channel", no_ack=True)
    q.put("c")
    assert q.get(timeout=1).payload == "c"
    q.close()
    channel.close()
