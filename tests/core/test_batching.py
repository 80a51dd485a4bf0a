"""Producer.batch(): batched publishing, and immediate publishing where a transport cannot batch."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection, Queue
from kombu.exceptions import BatchPublishError, KombuError


class Session:
    """A transport's batch session, as a plugin would write one: buffer, then send."""

    def __init__(self, channel: Any, max_size: int, fail_after: int | None = None) -> None:
        self.channel = channel
        self.max_size = max_size
        self.fail_after = fail_after
        self.buffer: list[tuple[Any, dict[str, Any]]] = []
        self.flushes = 0
        self.closed = False

    def publish(self, message: Any, **kwargs: Any) -> None:
        self.buffer.append((message, kwargs))
        if len(self.buffer) >= self.max_size:
            self.flush()

    def flush(self) -> None:
        self.flushes += 1
        pending, self.buffer = self.buffer, []
        for sent, (message, kwargs) in enumerate(pending):
            if self.fail_after is not None and sent == self.fail_after:
                raise BatchPublishError(f"{sent} of {len(pending)} messages sent")
            self.channel.basic_publish(message, **kwargs)

    def discard(self) -> None:
        self.buffer = []

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def conn() -> Iterator[Connection]:
    with Connection("memory://") as c:
        yield c


@pytest.fixture
def queue(conn: Connection) -> Queue:
    q = Queue(f"batch-{uuid.uuid4().hex[:8]}")
    q(conn.default_channel).declare()
    return q


def batching(conn: Connection, **options: Any) -> list[Session]:
    """Give the connection's default channel the batch contract."""
    sessions: list[Session] = []
    channel = conn.default_channel

    def create_publish_batch(max_size: int) -> Session:
        sessions.append(Session(channel, max_size, **options))
        return sessions[-1]

    channel.create_publish_batch = create_publish_batch
    conn.transport.implements = conn.transport.implements.extend(batch_publish=True)
    return sessions


def ready(conn: Connection, queue: Queue) -> int:
    return queue(conn.default_channel).queue_declare(passive=True).message_count


def test_without_transport_support_a_batch_publishes_at_once(conn: Connection,
                                                              queue: Queue) -> None:
    producer = conn.Producer()
    assert producer.supports_batch_publish is False
    with producer.batch():
        for n in range(3):
            producer.publish({"n": n}, routing_key=queue.name)
        assert ready(conn, queue) == 3  # nothing was held back
    assert ready(conn, queue) == 3


def test_batch_holds_messages_until_the_block_ends(conn: Connection, queue: Queue) -> None:
    sessions = batching(conn)
    producer = conn.Producer()
    assert producer.supports_batch_publish is True
    with producer.batch(max_size=100):
        for n in range(5):
            producer.publish({"n": n}, routing_key=queue.name)
        assert ready(conn, queue) == 0
    assert ready(conn, queue) == 5
    (session,) = sessions
    assert session.flushes == 1 and session.closed
    got = [queue(conn.default_channel).get(no_ack=True).payload for _ in range(5)]
    assert got == [{"n": n} for n in range(5)]


def test_batch_flushes_at_max_size_and_on_request(conn: Connection, queue: Queue) -> None:
    batching(conn)
    producer = conn.Producer()
    with producer.batch(max_size=2) as batch:
        for n in range(3):
            producer.publish(n, routing_key=queue.name)
        assert ready(conn, queue) == 2  # the session flushed at max_size
        batch.flush()
        assert ready(conn, queue) == 3
    with pytest.raises(RuntimeError, match="not open"):
        batch.flush()


def test_an_error_in_the_block_discards_what_was_not_sent(conn: Connection,
                                                          queue: Queue) -> None:
    sessions = batching(conn)
    producer = conn.Producer()
    with pytest.raises(KeyError):
        with producer.batch():
            producer.publish("lost", routing_key=queue.name)
            raise KeyError("application error")
    assert ready(conn, queue) == 0
    assert sessions[0].flushes == 0 and sessions[0].closed
    producer.publish("after", routing_key=queue.name)  # no batch any more: sent at once
    assert ready(conn, queue) == 1


def test_nested_blocks_flush_once_at_the_outermost(conn: Connection, queue: Queue) -> None:
    sessions = batching(conn)
    producer = conn.Producer()
    with producer.batch():
        with producer.batch():
            producer.publish("inner", routing_key=queue.name)
        assert ready(conn, queue) == 0
        producer.publish("outer", routing_key=queue.name)
    assert ready(conn, queue) == 2
    assert len(sessions) == 1 and sessions[0].flushes == 1


def test_other_threads_publish_at_once(conn: Connection, queue: Queue) -> None:
    batching(conn)
    producer = conn.Producer()
    with producer.batch():
        thread = threading.Thread(
            target=lambda: producer.publish("other", routing_key=queue.name))
        thread.start()
        thread.join()
        assert ready(conn, queue) == 1


def test_an_uncertain_flush_raises_batch_publish_error(conn: Connection, queue: Queue) -> None:
    sessions = batching(conn, fail_after=2)
    producer = conn.Producer()
    with pytest.raises(BatchPublishError, match="2 of 4 messages sent") as caught:
        with producer.batch():
            for n in range(4):
                producer.publish(n, routing_key=queue.name)
    assert isinstance(caught.value, KombuError)
    assert ready(conn, queue) == 2  # which is why the outcome is "uncertain"
    assert sessions[0].closed


def test_bad_use_is_refused(conn: Connection) -> None:
    producer = conn.Producer()
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(ValueError, match="max_size must be a positive integer"):
            producer.batch(max_size=bad)  # type: ignore[arg-type]
    batch = producer.batch()
    with batch:
        pass
    with pytest.raises(RuntimeError, match="cannot be entered twice"):
        with batch:
            pass
