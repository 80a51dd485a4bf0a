"""memory:// transport: routing, acks, redelivery, priorities, TTL, dead letters,
threads, and the public API on top of it."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

from kombu.exceptions import ChannelError
from kombu.transport import memory, virtual


class Client:
    def __init__(self, **options):
        self.transport_options = options


@pytest.fixture
def name():
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def transport():
    t = memory.Transport(Client())
    t.establish_connection()
    yield t
    t.close_connection(t)


@pytest.fixture
def channel(transport):
    return transport.create_channel(transport)


def publish(channel, body, exchange="", routing_key="", priority=None, headers=None, **props):
    message = channel.prepare_message(body, priority, "text/plain", "utf-8", headers, props)
    channel.basic_publish(message, exchange, routing_key)


def bodies(channel, queue):
    out = []
    while (m := channel.basic_get(queue, no_ack=True)) is not None:
        out.append(m.body.decode())
    return out


def consume(transport, channel, queue, no_ack=False, timeout=0.5):
    got = []
    channel.basic_consume(queue, no_ack, got.append, f"ctag-{queue}")
    try:
        while True:
            transport.drain_events(transport, timeout=timeout)
    except TimeoutError:
        pass
    return got


def test_features():
    impl = memory.Transport.implements
    assert impl.asynchronous is False
    assert impl.cross_process is False
    assert impl.persistent is False
    assert impl.priority and impl.message_ttl and impl.dead_letter
    assert impl.exchange_type == frozenset({"direct", "topic", "fanout", "headers"})
    assert memory.Transport.driver_type == "memory"
    assert memory.Transport.polling_interval < 1.0
    assert issubclass(memory.Transport, virtual.Transport)
    assert issubclass(memory.Channel, virtual.Channel)


def test_connections_share_one_broker(name):
    t1, t2 = memory.Transport(Client()), memory.Transport(Client())
    c1, c2 = t1.create_channel(t1), t2.create_channel(t2)
    c1.exchange_declare(name, "direct")
    c1.queue_declare(name)
    c1.queue_bind(name, name, "k")
    publish(c2, "shared", name, "k")
    assert bodies(c1, name) == ["shared"]


def test_default_exchange_routes_by_queue_name(channel, name):
    channel.queue_declare(name)
    publish(channel, "direct-to-queue", "", name)
    assert bodies(channel, name) == ["direct-to-queue"]


def test_direct_topic_fanout_headers(channel, name):
    q = [f"{name}-{i}" for i in range(4)]
    for queue in q:
        channel.queue_declare(queue)
    channel.exchange_declare(f"{name}-d", "direct")
    channel.exchange_declare(f"{name}-t", "topic")
    channel.exchange_declare(f"{name}-f", "fanout")
    channel.exchange_declare(f"{name}-h", "headers")
    channel.queue_bind(q[0], f"{name}-d", "red")
    channel.queue_bind(q[1], f"{name}-d", "blue")
    channel.queue_bind(q[0], f"{name}-t", "stock.*.nyse")
    channel.queue_bind(q[1], f"{name}-t", "stock.#")
    channel.queue_bind(q[2], f"{name}-t", "#.nyse")
    channel.queue_bind(q[3], f"{name}-t", "a..b")
    for queue in q[:3]:
        channel.queue_bind(queue, f"{name}-f", "")
    channel.queue_bind(q[0], f"{name}-h", "", {"x-match": "all", "a": 1, "b": 2})
    channel.queue_bind(q[1], f"{name}-h", "", {"x-match": "any", "a": 1, "b": 2})

    publish(channel, "d-red", f"{name}-d", "red")
    publish(channel, "d-none", f"{name}-d", "green")
    publish(channel, "t-ibm", f"{name}-t", "stock.ibm.nyse")
    publish(channel, "t-deep", f"{name}-t", "stock.a.b.c")
    publish(channel, "t-empty-word", f"{name}-t", "a..b")
    publish(channel, "f", f"{name}-f", "whatever")
    publish(channel, "h-all", f"{name}-h", "", headers={"a": 1, "b": 2})
    publish(channel, "h-any", f"{name}-h", "", headers={"b": 2})

    assert bodies(channel, q[0]) == ["d-red", "t-ibm", "f", "h-all"]
    assert bodies(channel, q[1]) == ["t-ibm", "t-deep", "f", "h-all", "h-any"]
    assert bodies(channel, q[2]) == ["t-ibm", "f"]
    assert bodies(channel, q[3]) == ["t-empty-word"]


def test_fanout_copies_are_independent(channel, name):
    channel.exchange_declare(name, "fanout")
    for i in range(2):
        channel.queue_declare(f"{name}-{i}")
        channel.queue_bind(f"{name}-{i}", name, "")
    publish(channel, "x", name, "")
    a = channel.basic_get(f"{name}-0")
    b = channel.basic_get(f"{name}-1")
    assert a.delivery_tag != b.delivery_tag
    a.reject(requeue=True)
    b.ack()
    assert channel.basic_get(f"{name}-0").delivery_info["redelivered"] is True
    assert channel.basic_get(f"{name}-1") is None


def test_binding_changes_invalidate_routing_cache(channel, name):
    channel.exchange_declare(name, "topic")
    channel.queue_declare(name)
    publish(channel, "before", name, "a.b")
    channel.queue_bind(name, name, "a.*")
    publish(channel, "bound", name, "a.b")
    channel.queue_unbind(name, name, "a.*")
    publish(channel, "after", name, "a.b")
    assert bodies(channel, name) == ["bound"]


def test_publish_to_undeclared_exchange(channel, name):
    with pytest.raises(ChannelError, match=rf"'{name}'.*[Dd]eclare"):
        publish(channel, "x", name, "k")


def test_passive_declares(channel, name):
    with pytest.raises(ChannelError, match=name):
        channel.queue_declare(name, passive=True)
    with pytest.raises(ChannelError, match=name):
        channel.exchange_declare(name, "direct", passive=True)


def test_prefetch_is_honoured(transport, channel, name):
    channel.queue_declare(name)
    for i in range(20):
        publish(channel, str(i), "", name)
    channel.basic_qos(prefetch_count=5)
    got = []
    channel.basic_consume(name, False, got.append, "t")
    transport.drain_events(transport, timeout=1)
    assert len(got) == 5  # one drain delivers up to the prefetch limit
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0.05)
    for m in got:
        m.ack()
    transport.drain_events(transport, timeout=1)
    assert len(got) == 10
    assert [m.body for m in got] == [str(i).encode() for i in range(10)]


def test_unlimited_prefetch_drains_in_batches(transport, channel, name):
    channel.queue_declare(name)
    for i in range(250):
        publish(channel, str(i), "", name)
    got = []
    channel.basic_consume(name, True, got.append, "t")
    transport.drain_events(transport, timeout=1)
    assert 1 < len(got) <= transport.drain_batch_size


def test_reject_requeue_goes_to_front_with_redelivered(channel, name):
    channel.queue_declare(name)
    for body in ("a", "b", "c"):
        publish(channel, body, "", name)
    first = channel.basic_get(name)
    assert first.delivery_info["redelivered"] is False
    first.reject(requeue=True)
    again = channel.basic_get(name)
    assert again.body == b"a"
    assert again.delivery_info["redelivered"] is True
    again.ack()
    assert bodies(channel, name) == ["b", "c"]


def test_requeue_via_message_api(channel, name):
    channel.queue_declare(name)
    publish(channel, "a", "", name)
    m = channel.basic_get(name)
    m.requeue()
    with pytest.raises(m.MessageStateError):
        m.ack()
    assert channel.basic_get(name).delivery_info["redelivered"] is True


def test_unacked_return_on_channel_close_in_order(transport, channel, name):
    channel.queue_declare(name)
    for i in range(5):
        publish(channel, str(i), "", name)
    got = consume(transport, channel, name, timeout=0.05)
    assert len(got) == 5
    got[1].ack()
    channel.close()
    other = transport.create_channel(transport)
    ms = []
    while (m := other.basic_get(name)) is not None:
        ms.append(m)
    assert [m.body for m in ms] == [b"0", b"2", b"3", b"4"]
    assert all(m.delivery_info["redelivered"] for m in ms)


def test_unacked_return_on_connection_close(name):
    t = memory.Transport(Client())
    t.establish_connection()
    ch = t.create_channel(t)
    ch.queue_declare(name)
    publish(ch, "x", "", name)
    got = consume(t, ch, name, timeout=0.05)
    assert len(got) == 1
    t.close_connection(t)
    t2 = memory.Transport(Client())
    assert bodies(t2.create_channel(t2), name) == ["x"]


def test_priorities(channel, name):
    channel.queue_declare(name, arguments={"x-max-priority": 10})
    for body, priority in [
        ("low1", 1),
        ("high1", 9),
        ("none", None),
        ("high2", 9),
        ("mid", 5),
        ("over", 200),
        ("low2", 1),
    ]:
        publish(channel, body, "", name, priority=priority)
    assert bodies(channel, name) == ["over", "high1", "high2", "mid", "low1", "low2", "none"]


def test_priority_requeue_keeps_priority_order(channel, name):
    channel.queue_declare(name, arguments={"x-max-priority": 3})
    publish(channel, "hi", "", name, priority=3)
    publish(channel, "lo", "", name, priority=0)
    m = channel.basic_get(name)
    m.reject(requeue=True)
    assert bodies(channel, name) == ["hi", "lo"]


def test_no_priority_queue_is_fifo(channel, name):
    channel.queue_declare(name)
    publish(channel, "a", "", name, priority=1)
    publish(channel, "b", "", name, priority=9)
    assert bodies(channel, name) == ["a", "b"]


def test_message_ttl(channel, name):
    channel.queue_declare(name)
    publish(channel, "short", "", name, expiration="30")
    publish(channel, "forever", "", name)
    time.sleep(0.06)
    assert bodies(channel, name) == ["forever"]


def test_queue_ttl(channel, name):
    channel.queue_declare(name, arguments={"x-message-ttl": 30})
    publish(channel, "gone", "", name)
    publish(channel, "kept-by-shorter", "", name, expiration="100000")
    time.sleep(0.06)
    publish(channel, "fresh", "", name)
    assert bodies(channel, name) == ["fresh"]


def test_dead_letter_on_reject_and_expiry(channel, name):
    dlx, dead = f"{name}-dlx", f"{name}-dead"
    channel.exchange_declare(dlx, "direct")
    channel.queue_declare(dead)
    channel.queue_bind(dead, dlx, "to-dead")
    channel.queue_declare(
        name,
        arguments={
            "x-dead-letter-exchange": dlx,
            "x-dead-letter-routing-key": "to-dead",
            "x-message-ttl": 40,
        },
    )
    publish(channel, "rejected", "", name)
    channel.basic_get(name).reject(requeue=False)
    publish(channel, "expired", "", name)
    time.sleep(0.07)
    assert channel.basic_get(name) is None
    got = [channel.basic_get(dead) for _ in range(2)]
    assert [m.body for m in got] == [b"rejected", b"expired"]
    assert [m.headers["x-death"][0]["reason"] for m in got] == ["rejected", "expired"]
    assert got[0].delivery_info["routing_key"] == "to-dead"
    assert channel.basic_get(dead) is None  # dead letters do not expire again


def test_dead_letter_keeps_routing_key_by_default(channel, name):
    dlx = f"{name}-dlx"
    channel.exchange_declare(dlx, "topic")
    channel.queue_declare(f"{name}-dead")
    channel.queue_bind(f"{name}-dead", dlx, "orig.#")
    channel.queue_declare(name, arguments={"x-dead-letter-exchange": dlx})
    channel.exchange_declare(name, "direct")
    channel.queue_bind(name, name, "orig.key")
    publish(channel, "x", name, "orig.key")
    channel.basic_get(name).reject()
    dead = channel.basic_get(f"{name}-dead")
    assert dead.delivery_info["routing_key"] == "orig.key"


def test_purge_size_delete(channel, name):
    ok = channel.queue_declare(name)
    assert ok.message_count == 0
    for i in range(3):
        publish(channel, str(i), "", name)
    assert channel.queue_declare(name, passive=True).message_count == 3
    assert channel._size(name) == 3
    assert channel.queue_purge(name) == 3
    publish(channel, "x", "", name)
    assert channel.queue_delete(name) == 1
    with pytest.raises(ChannelError):
        channel.queue_declare(name, passive=True)


def test_drain_events_timeout_and_wakeup(transport, channel, name):
    channel.queue_declare(name)
    got = []
    channel.basic_consume(name, False, got.append, "t")
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0.15)
    assert 0.14 <= time.monotonic() - start < 1.0
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0)

    other = memory.Transport(Client())
    och = other.create_channel(other)
    threading.Timer(0.05, lambda: publish(och, "late", "", name)).start()
    start = time.monotonic()
    transport.drain_events(transport, timeout=5)
    assert time.monotonic() - start < 0.5
    assert got[0].body == b"late"


def test_threads_each_message_delivered_exactly_once(name):
    total, producers, consumers = 2000, 4, 4
    setup = memory.Transport(Client())
    setup.create_channel(setup).queue_declare(name)
    seen: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def produce(index):
        try:
            t = memory.Transport(Client())
            ch = t.create_channel(t)
            for i in range(total // producers):
                publish(ch, f"{index}-{i}", "", name)
        except BaseException as exc:
            errors.append(exc)

    def consume_loop():
        try:
            t = memory.Transport(Client())
            ch = t.create_channel(t)
            ch.basic_qos(prefetch_count=10)

            def on_message(message):
                with lock:
                    seen.append(message.body.decode())
                message.ack()

            ch.basic_consume(name, False, on_message, "c")
            while not stop.is_set():
                try:
                    t.drain_events(t, timeout=0.05)
                except TimeoutError:
                    pass
            t.close_connection(t)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=consume_loop) for _ in range(consumers)]
    threads += [threading.Thread(target=produce, args=(i,)) for i in range(producers)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 10
    while len(seen) < total and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    for th in threads:
        th.join(5)
    assert not errors
    assert len(seen) == total
    assert len(set(seen)) == total


def test_malformed_message_is_not_lost(transport, channel, name):
    channel.queue_declare(name)
    transport.state.queues[name].put("not an envelope")
    got = consume(transport, channel, name, timeout=0.05)
    assert got[0].errors
    channel.close()
    assert transport.state.queues[name].pop() == "not an envelope"


# -- through the public API -------------------------------------------------


def test_connection_producer_consumer(name):
    kombu = pytest.importorskip("kombu.connection")
    from kombu import Exchange, Queue

    exchange = Exchange(name, "topic", durable=False)
    queue = Queue(name, exchange, routing_key="job.#", durable=False)
    received = []
    with kombu.Connection("memory://") as conn:
        producer = conn.Producer()
        producer.publish({"n": 1}, exchange=exchange, routing_key="job.a", declare=[queue])
        producer.publish({"n": 2}, exchange=exchange, routing_key="job.b.c")

        def on_message(body, message):
            received.append(body)
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message], prefetch_count=10):
            while len(received) < 2:
                conn.drain_events(timeout=2)
    assert received == [{"n": 1}, {"n": 2}]


def test_connection_close_requeues_unacked(name):
    kombu = pytest.importorskip("kombu.connection")
    from kombu import Queue

    queue = Queue(name, durable=False)
    with kombu.Connection("memory://") as conn:
        conn.Producer().publish("hello", routing_key=name, declare=[queue])
        got = []
        consumer = conn.Consumer(queue, callbacks=[lambda b, m: got.append(m)])
        consumer.consume()
        conn.drain_events(timeout=2)
        assert len(got) == 1
    with kombu.Connection("memory://") as conn:
        message = queue(conn.default_channel).get()
        assert message.payload == "hello"
        assert message.delivery_info["redelivered"] is True
        message.ack()


def test_one_drain_delivers_at_most_prefetch_even_when_acked(transport, channel, name):
    channel.queue_declare(name)
    for i in range(5):
        publish(channel, str(i), "", name)
    channel.basic_qos(prefetch_count=1)
    got = []

    def on_message(message):
        got.append(message)
        message.ack()

    channel.basic_consume(name, False, on_message, "t")
    transport.drain_events(transport, timeout=1)
    assert len(got) == 1
    transport.drain_events(transport, timeout=1)
    assert len(got) == 2


def test_two_channels_one_connection_same_queue(transport, name):
    a, b = transport.create_channel(transport), transport.create_channel(transport)
    a.queue_declare(name)
    got_a, got_b = [], []
    a.basic_consume(name, True, got_a.append, "a")
    b.basic_consume(name, True, got_b.append, "b")
    a.basic_cancel("a")
    publish(a, "x", "", name)
    transport.drain_events(transport, timeout=1)
    assert (len(got_a), len(got_b)) == (0, 1)


def test_subclass_gets_its_own_broker(name):
    class Sub(memory.Transport):
        pass

    assert isinstance(Sub.state, memory.MemoryState)
    assert Sub.state is not memory.Transport.state
    t = Sub(Client())
    ch = t.create_channel(t)
    ch.queue_declare(name)
    publish(ch, "x", "", name)
    assert name not in memory.Transport.state.queues
    assert bodies(ch, name) == ["x"]


def test_redeclare_changes_priority_levels_without_losing(channel, name):
    channel.queue_declare(name)
    publish(channel, "old", "", name, priority=5)
    channel.queue_declare(name, arguments={"x-max-priority": 9})
    publish(channel, "high", "", name, priority=9)
    channel.queue_declare(name, arguments={"x-max-priority": 2})
    publish(channel, "two", "", name, priority=2)
    assert bodies(channel, name) == ["high", "two", "old"]
