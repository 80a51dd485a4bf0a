"""kombu.common: broadcast, declaration cache, event loops, replies, insured, QoS, oids."""

from __future__ import annotations

import socket
import threading
import time
import uuid as _uuid
from typing import Any

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import (
    PREFETCH_COUNT_MAX,
    Broadcast,
    QoS,
    collect_replies,
    declaration_cached,
    drain_consumer,
    eventloop,
    generate_oid,
    ignore_errors,
    insured,
    itermessages,
    maybe_declare,
    oid_from,
    send_reply,
    uuid,
)
from kombu.exceptions import ChannelError, ConnectionError
from kombu.transport.memory import Channel as MemoryChannel
from kombu.transport.memory import MemoryState
from kombu.transport.memory import Transport as MemoryTransport


@pytest.fixture
def conn():
    with Connection("memory://", transport_options={"polling_interval": 0.01}) as c:
        yield c


def _drain(conn: Connection, queue: Queue) -> list[Any]:
    bodies: list[Any] = []
    with Consumer(conn, [queue], callbacks=[lambda b, m: (bodies.append(b), m.ack())]):
        try:
            for _ in eventloop(conn, timeout=0.1):
                pass
        except TimeoutError:
            return bodies
    raise AssertionError("unreachable")


# -- uuid / oid -------------------------------------------------------------


def test_uuid_is_a_uuid4_string():
    value = uuid()
    assert isinstance(value, str)
    assert _uuid.UUID(value).version == 4
    assert uuid() != value
    assert uuid(lambda: "fixed") == "fixed"


def test_oid_from_is_stable_per_object_and_thread():
    a, b = object(), object()
    assert oid_from(a) == oid_from(a)
    assert oid_from(a) != oid_from(b)
    _uuid.UUID(oid_from(a))
    other_thread: list[str] = []
    t = threading.Thread(
        target=lambda: other_thread.extend([oid_from(a), oid_from(a, threads=False)])
    )
    t.start()
    t.join()
    assert other_thread[0] != oid_from(a)
    assert other_thread[1] == oid_from(a, threads=False)


def test_generate_oid_depends_on_every_part():
    obj = object()
    base = generate_oid(1, 2, 3, obj)
    assert base == generate_oid(1, 2, 3, obj)
    assert (
        len(
            {
                base,
                generate_oid(9, 2, 3, obj),
                generate_oid(1, 9, 3, obj),
                generate_oid(1, 2, 9, obj),
                generate_oid(1, 2, 3, object()),
            }
        )
        == 5
    )


# -- Broadcast --------------------------------------------------------------


def test_broadcast_queue_defaults():
    b = Broadcast("news")
    assert b.exchange.name == "news"
    assert b.exchange.type == "fanout"
    assert b.name.startswith("bcast.")
    assert b.auto_delete and b.exchange.auto_delete
    assert b.alias == "news"
    assert Broadcast("news").name != b.name
    assert Broadcast("news", queue="mine").name == "mine"
    unique = Broadcast("news", queue="mine", unique=True)
    assert unique.name.startswith("mine.") and unique.name != "mine"
    assert Broadcast("news", exchange=Exchange("custom", type="fanout")).exchange.name == "custom"


def test_broadcast_reaches_every_consumer(conn):
    b1, b2 = Broadcast("bcast-test"), Broadcast("bcast-test")
    got: dict[str, list[Any]] = {"one": [], "two": []}
    c1 = Consumer(conn.channel(), [b1], callbacks=[lambda b, m: got["one"].append(b)], no_ack=True)
    c2 = Consumer(conn.channel(), [b2], callbacks=[lambda b, m: got["two"].append(b)], no_ack=True)
    with c1, c2:
        Producer(conn).publish({"all": True}, exchange=b1.exchange)
        for _ in eventloop(conn, timeout=0.2, ignore_timeouts=True, limit=4):
            pass
    assert got == {"one": [{"all": True}], "two": [{"all": True}]}


def test_broadcast_copies_keep_their_queue_name():
    b = Broadcast("copied")
    bound = b.bind(Connection("memory://").default_channel)
    assert bound.name == b.name
    assert bound.exchange.name == "copied"


# -- maybe_declare ----------------------------------------------------------


class CountingChannel(MemoryChannel):
    declares: list[str] = []

    def queue_declare(self, queue: Any = None, **kwargs: Any) -> Any:
        type(self).declares.append(queue)
        return super().queue_declare(queue=queue, **kwargs)


class CountingTransport(MemoryTransport):
    Channel = CountingChannel
    state = MemoryState()


def test_maybe_declare_caches_per_connection_and_redeclares_after_reconnect():
    CountingChannel.declares = []
    conn = Connection("memory://", transport=CountingTransport)
    queue = Queue("declare-me", Exchange("declare-x"), "k")
    assert maybe_declare(queue, conn.default_channel) is True
    assert maybe_declare(queue, conn.default_channel) is False
    assert declaration_cached(queue, conn.default_channel)
    assert CountingChannel.declares == ["declare-me"]
    conn.collect()  # connection lost: the broker may have lost the queue too
    assert not declaration_cached(queue, conn.default_channel)
    assert maybe_declare(queue, conn.default_channel) is True
    assert CountingChannel.declares == ["declare-me", "declare-me"]
    conn.close()


def test_maybe_declare_differs_by_binding_and_skips_cache_for_auto_delete(conn):
    channel = conn.default_channel
    exchange = Exchange("declare-bindings")
    assert maybe_declare(Queue("dq", exchange, "a"), channel)
    assert maybe_declare(Queue("dq", exchange, "b"), channel)  # another binding
    temporary = Queue("dq-tmp", exchange, "t", auto_delete=True)
    assert maybe_declare(temporary, channel)
    assert maybe_declare(temporary, channel)  # never cached


def test_maybe_declare_unbound_without_channel_fails_clearly():
    with pytest.raises(ChannelError, match="not bound"):
        maybe_declare(Queue("nowhere"))


def test_maybe_declare_with_retry(conn):
    queue = Queue("declare-retry")(conn.default_channel)
    assert maybe_declare(queue, retry=True, max_retries=1) is True
    assert maybe_declare(queue, retry=True, max_retries=1) is False


# -- event loops ------------------------------------------------------------


def test_eventloop_limit_and_timeouts(conn):
    queue = Queue("evloop-q")
    seen: list[Any] = []
    with Consumer(conn, [queue], callbacks=[lambda b, m: (seen.append(b), m.ack())]):
        Producer(conn).publish(1, routing_key="evloop-q")
        assert len(list(eventloop(conn, limit=1, timeout=1))) == 1
        assert seen == [1]
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            next(eventloop(conn, timeout=0.1))
        # Ignoring timeouts: two empty drains, then the limit ends the loop.
        assert list(eventloop(conn, limit=2, timeout=0.1, ignore_timeouts=True)) == []
        assert time.monotonic() - started < 1.5


def test_itermessages_yields_body_and_message(conn):
    queue = Queue("iter-q")
    queue(conn.default_channel).declare()
    producer = Producer(conn)
    for i in range(3):
        producer.publish({"i": i}, routing_key="iter-q")
    got = []
    for body, message in itermessages(conn, conn.default_channel, queue, limit=3, timeout=1):
        got.append(body["i"])
        message.ack()
    assert got == [0, 1, 2]
    # limit=None goes on for as long as the caller iterates.
    producer.publish({"i": 3}, routing_key="iter-q")
    body, message = next(itermessages(conn, conn.default_channel, queue, limit=None, timeout=0.1))
    assert body == {"i": 3}
    message.ack()


def test_drain_consumer_calls_extra_callbacks(conn):
    queue = Queue("drain-q")
    queue(conn.default_channel).declare()
    Producer(conn).publish("x", routing_key="drain-q")
    extra: list[Any] = []
    consumer = Consumer(conn.default_channel, [queue], no_ack=True)
    items = list(
        drain_consumer(consumer, limit=1, timeout=1, callbacks=[lambda b, m: extra.append(b)])
    )
    assert [body for body, _ in items] == ["x"]
    assert extra == ["x"]


# -- request / reply --------------------------------------------------------


def test_send_reply_and_collect_replies(conn):
    requests = Queue("rpc-requests")
    replies = Queue("rpc-replies", Exchange("rpc-reply-x"), "client-1")
    requests(conn.default_channel).declare()
    replies(conn.default_channel).declare()
    producer = Producer(conn)
    producer.publish(
        {"n": 20},
        routing_key="rpc-requests",
        reply_to="client-1",
        correlation_id="c-1",
        serializer="json",
    )

    ((body, request),) = list(
        itermessages(conn, conn.default_channel, requests, limit=1, timeout=1)
    )
    send_reply(Exchange("rpc-reply-x"), request, {"result": body["n"] * 2}, producer)
    request.ack()

    results = list(collect_replies(conn, conn.default_channel, replies, limit=1, timeout=1))
    assert results == [{"result": 40}]


def test_send_reply_carries_correlation_id_and_serializer(conn):
    replies = Queue("rpc-replies-2", Exchange("rpc-reply-2"), "back")
    replies(conn.default_channel).declare()
    requests = Queue("rpc-requests-2")
    requests(conn.default_channel).declare()
    Producer(conn).publish(
        {"q": 1}, routing_key="rpc-requests-2", reply_to="back", correlation_id="corr-9"
    )
    ((_, request),) = list(itermessages(conn, conn.default_channel, requests, timeout=1))
    send_reply(Exchange("rpc-reply-2"), request, {"a": 1}, Producer(conn))
    ((body, reply),) = list(
        itermessages(conn, conn.default_channel, replies, timeout=1, no_ack=True)
    )
    assert body == {"a": 1}
    assert reply.properties["correlation_id"] == "corr-9"
    assert reply.content_type == "application/json"


def test_collect_replies_acks_when_asked(conn):
    replies = Queue("ack-replies")
    replies(conn.default_channel).declare()
    Producer(conn).publish("r", routing_key="ack-replies")
    assert list(collect_replies(conn, conn.default_channel, replies, no_ack=False, timeout=1)) == [
        "r"
    ]
    assert replies(conn.default_channel).queue_declare(passive=True)[1] == 0
    conn.close()
    with Connection("memory://") as again:  # acked: not redelivered
        assert _drain(again, replies) == []


# -- errors -----------------------------------------------------------------


def test_ignore_errors_ignores_connection_and_channel_errors_only(conn):
    def lost() -> None:
        raise ConnectionError("gone")

    assert ignore_errors(conn, lost) is None
    assert ignore_errors(conn, lambda x: x * 2, 21) == 42
    with ignore_errors(conn):
        raise ChannelError("channel closed")
    with pytest.raises(ValueError):
        ignore_errors(conn, lambda: (_ for _ in ()).throw(ValueError("bug")))


class Dropping(MemoryChannel):
    def basic_publish(self, *args: Any, **kwargs: Any) -> Any:
        transport = type(self.connection)
        transport.publishes += 1
        if transport.publishes == 1:
            raise BrokenPipeError("dropped")
        return super().basic_publish(*args, **kwargs)


class DroppingTransport(MemoryTransport):
    Channel = Dropping
    state = MemoryState()
    connection_errors = (*MemoryTransport.connection_errors, BrokenPipeError)
    publishes = 0


def test_insured_retries_a_call_after_connection_loss():
    DroppingTransport.publishes = 0
    base = Connection("memory://", transport=DroppingTransport)
    pool = base.Pool(limit=1)
    queue = Queue("insured-q")
    revived: list[Any] = []
    errors: list[Any] = []

    def publish(body: Any, connection: Any = None, channel: Any = None) -> str:
        Producer(channel).publish(body, routing_key="insured-q", declare=[queue])
        return "done"

    result = insured(
        pool,
        publish,
        ("hi",),
        {},
        errback=lambda e, i: errors.append(e),
        on_revive=revived.append,
        max_retries=2,
    )
    assert result == "done"
    assert len(errors) == 1 and len(revived) == 1
    assert DroppingTransport.publishes == 2
    with pool.acquire() as conn:  # the pool got its connection back
        assert _drain(conn, queue) == ["hi"]


# -- QoS --------------------------------------------------------------------


def test_qos_applies_changes_on_update():
    applied: list[int] = []
    qos = QoS(lambda prefetch_count: applied.append(prefetch_count), 2)
    assert qos.value == 2
    qos.update()
    assert applied == [2]
    qos.increment_eventually()
    qos.increment_eventually(3)
    assert qos.value == 6
    assert applied == [2]  # not yet
    qos.update()
    assert applied == [2, 6]
    qos.update()  # unchanged: not applied again
    assert applied == [2, 6]
    qos.decrement_eventually(10)
    assert qos.value == 1  # never below 1
    qos.update()
    assert applied == [2, 6, 1]


def test_qos_zero_means_unlimited_and_too_large_disables():
    applied: list[int] = []
    qos = QoS(lambda prefetch_count: applied.append(prefetch_count), 0)
    qos.increment_eventually()
    qos.decrement_eventually()
    assert qos.value == 0
    qos.set(PREFETCH_COUNT_MAX + 1)
    assert applied == [0]
    assert qos.prev == PREFETCH_COUNT_MAX + 1


def test_qos_max_prefetch_caps_increments():
    qos = QoS(lambda prefetch_count: None, 2, max_prefetch=4)
    qos.increment_eventually(10)
    assert qos.value == 4
    qos.decrement_eventually()
    qos.increment_eventually()
    assert qos.value == 4
    assert QoS(lambda prefetch_count: None, 2).max_prefetch is None


def test_qos_drives_a_consumer_prefetch(conn):
    consumer = Consumer(conn, [Queue("qos-q")])
    qos = QoS(consumer.qos, 4)
    qos.update()
    assert conn.default_channel.qos.prefetch_count == 4


def test_qos_is_thread_safe():
    qos = QoS(lambda prefetch_count: None, 1)
    threads = [
        threading.Thread(target=lambda: [qos.increment_eventually() for _ in range(1000)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert qos.value == 4001
