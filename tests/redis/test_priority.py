"""kombu's Redis priority order by default: lower numbers first, in priority_steps buckets."""

from __future__ import annotations

import pytest

from kombu import Connection, Producer, Queue


def publish(conn: Connection, queue: Queue, priorities: list[int | None]) -> None:
    producer = Producer(conn)
    for n, pri in enumerate(priorities):
        kwargs = {} if pri is None else {"priority": pri}
        producer.publish({"n": n, "p": pri}, routing_key=queue.name, declare=[queue], **kwargs)


def drain_order(conn: Connection, queue: Queue, count: int) -> list[int]:
    """Message numbers in the order a prefetch-1 consumer gets them."""
    simple = conn.SimpleQueue(queue)
    got = []
    for _ in range(count):
        message = simple.get(timeout=2)
        got.append(message.payload["n"])
        message.ack()
    simple.close()
    return got


# Default steps [0, 3, 6, 9]: 0-2 share the first bucket, 3-5 the second, 6-8 the
# third, 9 the last.  Each pair straddles one boundary; the second element is
# published first, so FIFO alone would give the wrong order.
@pytest.mark.parametrize(("urgent", "later"), [(2, 3), (5, 6), (8, 9)])
def test_bucket_boundary_lower_number_first(url: str, urgent: int, later: int) -> None:
    q = Queue(f"pb.{urgent}")
    with Connection(url) as conn:
        publish(conn, q, [later, urgent])
        assert drain_order(conn, q, 2) == [1, 0]


@pytest.mark.parametrize(("first", "second"), [(0, 2), (3, 5), (6, 8)])
def test_same_bucket_is_fifo(url: str, first: int, second: int) -> None:
    q = Queue(f"pf.{first}")
    with Connection(url) as conn:
        publish(conn, q, [second, first])  # same bucket: published order wins
        assert drain_order(conn, q, 2) == [0, 1]


def test_out_of_range_priorities_clamp_to_0_and_9(url: str, raw, prefix: str) -> None:
    q = Queue("pclamp")
    with Connection(url) as conn:
        publish(conn, q, [9, 42, -5, None])
        sep = "\x06\x16"
        assert raw.llen(f"{prefix}pclamp") == 2  # -5 and no priority: bucket 0
        assert raw.llen(f"{prefix}pclamp{sep}9") == 2  # 9 and 42
        assert drain_order(conn, q, 4) == [2, 3, 0, 1]


def test_max_priority_queue_uses_kombu_order_too(url: str) -> None:
    q = Queue("pmax", max_priority=10)
    with Connection(url) as conn:
        publish(conn, q, [6, 3, 0, 9])
        assert drain_order(conn, q, 4) == [2, 1, 0, 3]


def test_custom_steps_are_kombus_buckets(url: str, raw, prefix: str) -> None:
    q = Queue("psteps")
    with Connection(url, transport_options={"priority_steps": [0, 5]}) as conn:
        publish(conn, q, [7, 4, 5, 0])
        assert conn.default_channel._q_for_pri("psteps", 4) == f"{prefix}psteps"
        assert conn.default_channel._q_for_pri("psteps", 5) == f"{prefix}psteps\x06\x165"
        assert raw.llen(f"{prefix}psteps\x06\x165") == 2
        # bucket 0 (4, 0) in FIFO order, then bucket 5 (7, 5)
        assert drain_order(conn, q, 4) == [1, 3, 0, 2]


def test_requeue_keeps_the_priority_bucket(url: str) -> None:
    """A requeued message goes back to its own bucket: before the less urgent ones,
    at the head of its bucket."""
    q = Queue("prequeue")
    with Connection(url) as conn:
        publish(conn, q, [0, 0, 5, 9])
        bound = q(conn.default_channel)
        first = bound.get()
        assert first.payload["n"] == 0
        first.requeue()
        second = bound.get()
        assert second.payload["n"] == 0 and second.delivery_info["redelivered"]
        second.reject(requeue=True)
        order = []
        for _ in range(4):
            message = bound.get()
            order.append(message.payload["n"])
            message.ack()
        assert bound.get() is None
    assert order == [0, 1, 2, 3]


def test_amqp_order_still_available(url: str) -> None:
    q = Queue("pamqp")
    with Connection(url + "&priority_order=amqp") as conn:
        publish(conn, q, [0, 9, 3])
        assert drain_order(conn, q, 3) == [1, 2, 0]
