"""Messaging on ZooKeeper: kombu's layout and priorities, the znode size limit, waking."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from kombu import Connection, Exchange, Queue


def _drain(conn: Connection, queue: Queue, n: int, ack: bool = True) -> list[Any]:
    got: list[Any] = []

    def on_message(body: Any, message: Any) -> None:
        got.append(body)
        if ack:
            message.ack()

    with conn.Consumer(queue, callbacks=[on_message], prefetch_count=n):
        deadline = time.monotonic() + 10
        while len(got) < n and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=1)
            except TimeoutError:
                pass
    return got


def test_one_znode_per_queue_with_sequential_children(url: str, root: str, raw: Any) -> None:
    with Connection(url) as conn:
        queue = Queue("layout", Exchange("layout-x", "direct"), "k")
        with conn.Producer() as producer:
            for i in range(3):
                producer.publish({"i": i}, exchange=queue.exchange, routing_key="k",
                                 declare=[queue])
        children = sorted(raw.get_children(f"/{root}/queues/layout/m"))
        assert len(children) == 3 and all(c[3] == "-" and c[4:].isdigit() for c in children)
        assert conn.SimpleQueue("layout").qsize() == 3
        assert _drain(conn, queue, 3) == [{"i": 0}, {"i": 1}, {"i": 2}]
        # Acks are on their way when ack() returns; another session sees them soon after.
        deadline = time.monotonic() + 5
        while raw.get_children(f"/{root}/queues/layout/m") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert raw.get_children(f"/{root}/queues/layout/m") == []


def test_priorities_kombu_order_on_every_queue(url: str) -> None:
    """kombu's ZooKeeper order: 0..9 (MAX_PRIORITY 9), higher first, no x-max-priority."""
    with Connection(url) as conn:
        queue = Queue("prio")
        queue(conn.default_channel).declare()
        with conn.Producer() as producer:
            for p in (0, 5, 9, 3, 12, 5):
                producer.publish({"p": p}, routing_key="prio", priority=p)
        got = _drain(conn, queue, 6)
        assert [m["p"] for m in got] == [9, 12, 5, 5, 3, 0]  # 12 counts as 9, FIFO within


def test_a_body_over_the_znode_limit_fails_at_publish_and_stores_nothing(url: str) -> None:
    from kombu_zk.transport import MessageTooLarge

    with Connection(url) as conn:
        simple = conn.SimpleQueue("big")
        limit = conn.transport.max_message_size
        with pytest.raises(MessageTooLarge, match=f"{limit} bytes"):
            simple.put("x" * limit)
        assert simple.qsize() == 0
        simple.put("x" * (limit // 2))  # base64 and JSON fit under the limit
        assert len(simple.get(timeout=5).payload) == limit // 2
    with Connection(url, transport_options={"max_message_size": 0}) as conn:
        assert conn.transport.max_message_size is None


def test_leased_messages_are_not_counted_and_requeue_flags_redelivered(url: str) -> None:
    with Connection(url) as conn:
        simple = conn.SimpleQueue("held")
        simple.put({"a": 1})
        simple.put({"b": 2})
        bound = Queue("held")(conn.default_channel)
        first = bound.get()
        assert first.payload == {"a": 1} and not first.delivery_info["redelivered"]
        assert simple.qsize() == 1
        first.requeue()
        assert simple.qsize() == 2
        again = bound.get()
        assert again.payload == {"a": 1} and again.delivery_info["redelivered"]
        again.ack()
        assert bound.get().payload == {"b": 2}


def test_fanout_reaches_consumers_on_other_connections(url: str) -> None:
    exchange = Exchange("fan", "fanout")
    queues = [Queue(f"fan-{i}", exchange) for i in range(2)]
    with Connection(url) as one, Connection(url) as two:
        for conn, queue in zip((one, two), queues, strict=True):
            queue(conn.default_channel).declare()
        with one.Producer() as producer:
            producer.publish({"hello": "all"}, exchange=exchange)
        assert _drain(one, queues[0], 1) == [{"hello": "all"}]
        assert _drain(two, queues[1], 1) == [{"hello": "all"}]


def test_a_waiting_consumer_wakes_on_a_child_watch(url: str) -> None:
    """With a 5 s polling_interval, a message published elsewhere arrives at once."""
    with Connection(url, transport_options={"polling_interval": 5}) as conn, \
            Connection(url) as other:
        queue = Queue("wake")
        queue(conn.default_channel).declare()
        got: list[float] = []

        def on_message(body: Any, message: Any) -> None:
            got.append(time.monotonic() - body["sent"])
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message]):
            try:
                conn.drain_events(timeout=0.2)  # arms the watch
            except TimeoutError:
                pass

            def publish() -> None:
                time.sleep(0.3)
                other.SimpleQueue("wake").put({"sent": time.monotonic()})

            thread = threading.Thread(target=publish)
            thread.start()
            conn.drain_events(timeout=4)
            thread.join()
        assert got and got[0] < 1.0, got


def test_purge_and_delete(url: str, root: str, raw: Any) -> None:
    with Connection(url) as conn:
        exchange = Exchange("pd", "direct")
        queue = Queue("pd-q", exchange, "k")
        bound = queue(conn.default_channel)
        bound.declare()
        with conn.Producer() as producer:
            for _ in range(3):
                producer.publish({}, exchange=exchange, routing_key="k")
        assert bound.purge() == 3
        producer.publish({}, exchange=exchange, routing_key="k")
        bound.delete()
        assert not raw.exists(f"/{root}/queues/pd-q")
        assert raw.get_children(f"/{root}/exchanges/pd") == []
