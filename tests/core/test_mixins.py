"""kombu.mixins: ConsumerMixin / ConsumerProducerMixin, including surviving connection loss.

Connection loss is injected with a memory transport subclass (a dropped
connection cannot be provoked on demand from a real broker).
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from contextlib import contextmanager
from typing import Any

import pytest

from kombu import Connection, Producer, Queue
from kombu.exceptions import OperationalError
from kombu.mixins import ConsumerMixin, ConsumerProducerMixin
from kombu.transport.memory import Channel as MemoryChannel
from kombu.transport.memory import MemoryState
from kombu.transport.memory import Transport as MemoryTransport


class BrokenLink(OSError):
    """The injected connection error."""


def faulty_transport(
    fail_drains: set[int] = frozenset(), fail_acks: set[int] = frozenset(), fail_connects: int = 0
) -> type:
    """A memory transport (own broker) that drops the connection on the given calls.

    ``fail_drains``: the n-th ``drain_events`` calls raise before delivering;
    ``fail_acks``: the n-th ``basic_ack`` calls raise instead of acking.
    """

    class FaultyChannel(MemoryChannel):
        def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
            cls = type(self.connection)
            cls.ack_calls += 1
            if cls.ack_calls in cls.fail_acks:
                raise BrokenLink("connection lost while acking")
            super().basic_ack(delivery_tag, multiple)
            cls.broker_acks += 1

    class FaultyTransport(MemoryTransport):
        Channel = FaultyChannel
        state = MemoryState()
        connection_errors = (*MemoryTransport.connection_errors, BrokenLink)
        polling_interval = 0.01
        drain_batch_size = 1  # one delivery per drain: faults land where intended
        drains = 0
        ack_calls = 0
        broker_acks = 0
        connects = 0

        def establish_connection(self) -> Any:
            cls = type(self)
            cls.connects += 1
            if cls.connects <= cls.fail_connects:
                raise BrokenLink("connection refused")
            return super().establish_connection()

        def drain_events(self, connection: Any, timeout: float | None = None) -> Any:
            cls = type(self)
            cls.drains += 1
            if cls.drains in cls.fail_drains:
                raise BrokenLink("connection reset by peer")
            return super().drain_events(connection, timeout=timeout)

    FaultyTransport.fail_drains = set(fail_drains)
    FaultyTransport.fail_acks = set(fail_acks)
    FaultyTransport.fail_connects = fail_connects
    return FaultyTransport


class Worker(ConsumerMixin):
    def __init__(self, connection: Connection, queue: Queue, expected: int = 0) -> None:
        self.connection = connection
        self.queue = queue
        self.expected = expected
        self.deliveries: Counter[int] = Counter()
        self.acks: Counter[int] = Counter()
        self.events: list[Any] = []

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        return [
            Consumer(
                queues=[self.queue], callbacks=[self.on_message], prefetch_count=1, accept=["json"]
            )
        ]

    def on_message(self, body: Any, message: Any) -> None:
        self.deliveries[body["id"]] += 1
        message.ack()
        self.acks[body["id"]] += 1
        if self.expected and len(self.acks) >= self.expected:
            self.should_stop = True

    def on_connection_revived(self) -> None:
        self.events.append("revived")

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.events.append(("error", type(exc), interval))

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: list[Any], **kwargs: Any
    ) -> None:
        self.events.append(("ready", len(consumers), kwargs))

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        self.events.append("end")


def _publish(conn: Connection, queue: Queue, n: int) -> None:
    producer = Producer(conn)
    for i in range(n):
        producer.publish({"id": i}, routing_key=queue.name, declare=[queue])


def _run_in_thread(worker: ConsumerMixin, limit: float = 15, **kwargs: Any) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            worker.run(**kwargs)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        worker.should_stop = True
        thread.join(5)
        pytest.fail(f"worker did not finish within {limit} seconds")
    if errors:
        raise errors[0]


def test_consumer_mixin_processes_messages_until_should_stop():
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-basic")
    _publish(conn, queue, 5)
    worker = Worker(conn, queue, expected=5)
    _run_in_thread(worker, answer=42)
    assert worker.acks == Counter(range(5))
    assert worker.events[0] == "revived"
    assert worker.events[1] == ("ready", 1, {"answer": 42})
    assert worker.events[-1] == "end"
    assert transport.broker_acks == 5


def test_consumer_mixin_survives_connection_loss_without_losing_or_double_acking():
    # The 4th drain drops the connection before delivering; the 7th ack is
    # lost with the connection (that message must come back and be acked once).
    transport = faulty_transport(fail_drains={4}, fail_acks={7})
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-faults")
    _publish(conn, queue, 20)
    worker = Worker(conn, queue, expected=20)
    _run_in_thread(worker)

    assert set(worker.acks) == set(range(20))  # nothing lost
    assert all(n == 1 for n in worker.acks.values()), worker.acks  # nothing acked twice
    assert transport.broker_acks == 20
    redelivered = [i for i, n in worker.deliveries.items() if n > 1]
    assert redelivered == [6]  # the message whose ack was lost, delivered again
    assert worker.events.count("revived") == 3  # first connect + two reconnects
    assert transport.connects == 4  # + the publisher's
    with Connection("memory://", transport=transport) as check:
        assert queue(check.default_channel).queue_declare(passive=True)[1] == 0


def test_reconnect_backs_off_and_reports_connection_errors():
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-backoff")
    _publish(conn, queue, 1)
    transport.fail_connects = transport.connects + 1  # refuse the worker's first connect
    worker = Worker(conn, queue, expected=1)
    started = time.monotonic()
    _run_in_thread(worker)
    assert worker.acks == Counter({0: 1})
    # ensure_connection's default back-off: told of the error, retried 2 s later.
    assert worker.events[0] == ("error", BrokenLink, 2)
    assert worker.events[1] == "revived"
    assert 1.9 <= time.monotonic() - started < 6


def test_connect_max_retries_gives_up():
    transport = faulty_transport(fail_connects=10**9)
    worker = Worker(Connection("memory://", transport=transport), Queue("mixin-never"))
    worker.connect_max_retries = 0
    started = time.monotonic()
    with pytest.raises(OperationalError):
        worker.run()
    assert time.monotonic() - started < 2
    assert transport.connects == 1


def test_consume_limit_timeout_and_iteration_hooks():
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-consume")
    _publish(conn, queue, 3)
    iterations: list[int] = []

    class Counting(Worker):
        def on_iteration(self) -> None:
            iterations.append(1)

    worker = Counting(conn, queue)
    assert len(list(worker.consume(limit=2, safety_interval=0.1))) == 2
    assert sum(worker.acks.values()) == 2
    assert len(iterations) == 2

    worker = Counting(conn, queue)
    gen = worker.consume(timeout=0.3, safety_interval=0.1)
    next(gen)  # the third message
    started = time.monotonic()
    with pytest.raises(socket.timeout):
        next(gen)  # nothing more: gives up after the timeout
    assert 0.25 <= time.monotonic() - started < 1.5


def test_extra_context_wraps_consuming():
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-extra")
    _publish(conn, queue, 1)
    seen: list[str] = []

    class WithExtra(Worker):
        @contextmanager
        def extra_context(self, connection: Any, channel: Any):
            seen.append("enter")
            assert channel is connection.default_channel
            yield
            seen.append("exit")

    list(WithExtra(conn, queue).consume(limit=1, safety_interval=0.1))
    assert seen == ["enter", "exit"]


def test_default_on_decode_error_acks_the_bad_message(caplog):
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("mixin-decode")
    Producer(conn).publish(
        b"\x00binary",
        routing_key=queue.name,
        declare=[queue],
        content_type="application/x-unknown",
        content_encoding="binary",
    )
    _publish(conn, queue, 1)
    worker = Worker(conn, queue, expected=1)
    _run_in_thread(worker)
    assert "Can't decode message body" in caplog.text
    assert transport.broker_acks == 2  # the bad one was acked, not redelivered forever


def test_get_consumers_must_be_implemented():
    class Bare(ConsumerMixin):
        connection = Connection("memory://")

    with pytest.raises(NotImplementedError):
        list(Bare().consume(limit=1))


def test_restart_limit_and_error_tuples():
    worker = Worker(Connection("memory://", transport=faulty_transport()), Queue("x"))
    assert worker.restart_limit.can_consume(1)
    assert BrokenLink in worker.connection_errors
    assert worker.channel_errors == tuple(worker.connection.channel_errors)


def test_consumer_producer_mixin_replies_on_its_own_connection():
    transport = faulty_transport()
    conn = Connection("memory://", transport=transport)
    requests, replies = Queue("cpm-requests"), Queue("cpm-replies")

    class Replier(ConsumerProducerMixin):
        def __init__(self, connection: Connection) -> None:
            self.connection = connection
            self.connections: list[Any] = []

        def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
            return [Consumer(queues=[requests], on_message=self.on_request)]

        def on_request(self, message: Any) -> None:
            self.connections.append((message.channel.connection.client, self.producer_connection))
            self.producer.publish(
                {"result": message.payload["n"] * 2},
                routing_key=message.properties["reply_to"],
                declare=[replies],
                retry=True,
            )
            message.ack()
            self.should_stop = True

    Producer(conn).publish(
        {"n": 21}, routing_key="cpm-requests", declare=[requests], reply_to="cpm-replies"
    )
    worker = Replier(conn)
    _run_in_thread(worker)
    consuming, producing = worker.connections[0]
    assert consuming is not producing
    assert worker._producer_connection is None  # closed when consuming ended
    reply = conn.SimpleQueue(replies).get(timeout=1)
    assert reply.payload == {"result": 42}
    reply.ack()
