"""Every native RabbitMQ feature, through kombu's API, against the real broker."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from typing import Any

import amqp
import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu_amqp import transport as amqp_transport

pytestmark = pytest.mark.usefixtures("rabbitmq")


def drain_until(conn: Any, done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Drain events until ``done()`` or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for deliveries")
        try:
            conn.drain_events(timeout=min(remaining, 0.25))
        except TimeoutError:
            pass


def get_wait(queue: Queue, timeout: float = 3.0, **kwargs: Any) -> Any:
    """``queue.get()`` until a message arrives (publishing is asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        message = queue.get(**kwargs)
        if message is not None or time.monotonic() > deadline:
            return message
        time.sleep(0.02)


def test_quickstart_roundtrip(conn: Connection, cleanup: Any, uid: str) -> None:
    ex = Exchange(cleanup.exchange(f"ex-{uid}"), "direct", durable=False)
    q = Queue(cleanup.queue(f"q-{uid}"), ex, routing_key="video")
    producer = conn.Producer()
    producer.publish({"name": "clip.mp4", "n": 1}, exchange=ex, routing_key="video",
                     declare=[q], headers={"trace": "abc"}, correlation_id="c-1")
    got: list[tuple[Any, Any]] = []

    def handle(body: Any, message: Any) -> None:
        got.append((body, message))
        message.ack()

    with Consumer(conn, [q], callbacks=[handle], accept=["json"]):
        drain_until(conn, lambda: bool(got))
    body, message = got[0]
    assert body == {"name": "clip.mp4", "n": 1}
    assert isinstance(message, amqp_transport.Message)
    assert message.content_type == "application/json"
    assert message.content_encoding == "utf-8"
    assert message.headers == {"trace": "abc"}
    assert message.properties["correlation_id"] == "c-1"
    assert message.properties["delivery_mode"] == 2
    assert message.delivery_info["routing_key"] == "video"
    assert message.delivery_info["exchange"] == ex.name
    assert message.delivery_info["redelivered"] is False
    assert isinstance(message.delivery_tag, int)
    assert message.acknowledged
    assert q(conn.default_channel).get() is None


def test_topic_exchange(conn: Connection, cleanup: Any, uid: str) -> None:
    ex = Exchange(cleanup.exchange(f"topic-{uid}"), "topic", durable=False)
    q = Queue(cleanup.queue(f"q-{uid}"), ex, routing_key="logs.*.error")(conn.default_channel)
    q.declare()
    producer = Producer(conn.default_channel, ex)
    producer.publish("hit", routing_key="logs.web.error")
    producer.publish("miss", routing_key="logs.web.info")
    assert get_wait(q, no_ack=True).payload == "hit"
    time.sleep(0.1)
    assert q.get(no_ack=True) is None


def test_fanout_exchange(conn: Connection, cleanup: Any, uid: str) -> None:
    ex = Exchange(cleanup.exchange(f"fan-{uid}"), "fanout", durable=False)
    chan = conn.default_channel
    queues = [Queue(cleanup.queue(f"q{i}-{uid}"), ex)(chan) for i in range(3)]
    for q in queues:
        q.declare()
    Producer(chan, ex).publish({"all": True}, routing_key="ignored")
    for q in queues:
        assert get_wait(q, no_ack=True).payload == {"all": True}


def test_headers_exchange(conn: Connection, cleanup: Any, uid: str) -> None:
    ex = Exchange(cleanup.exchange(f"hdr-{uid}"), "headers", durable=False)
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"q-{uid}"), ex,
              binding_arguments={"x-match": "all", "format": "pdf", "type": "report"})(chan)
    q.declare()
    producer = Producer(chan, ex)
    producer.publish("yes", headers={"format": "pdf", "type": "report"})
    producer.publish("no", headers={"format": "pdf", "type": "log"})
    assert get_wait(q, no_ack=True).payload == "yes"
    time.sleep(0.1)
    assert q.get(no_ack=True) is None


def test_exchange_to_exchange_binding(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    source = Exchange(cleanup.exchange(f"src-{uid}"), "topic", durable=False)(chan)
    dest = Exchange(cleanup.exchange(f"dst-{uid}"), "fanout", durable=False)(chan)
    source.declare()
    dest.declare()
    dest.bind_to(source, routing_key="orders.#")
    q = Queue(cleanup.queue(f"q-{uid}"), dest)(chan)
    q.declare()
    producer = Producer(chan, source)
    producer.publish({"order": 1}, routing_key="orders.eu.new")
    assert get_wait(q, no_ack=True).payload == {"order": 1}
    dest.unbind_from(source, routing_key="orders.#")
    producer.publish({"order": 2}, routing_key="orders.eu.new")
    time.sleep(0.1)
    assert q.get(no_ack=True) is None


def test_message_ttl(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"ttl-{uid}"), message_ttl=0.2)(chan)
    q.declare()
    Producer(chan).publish("short-lived", routing_key=q.name)
    # Per-message expiration too (kombu sends it in milliseconds).
    Producer(chan).publish("also", routing_key=q.name, expiration=0.1)
    time.sleep(0.6)
    assert q.get(no_ack=True) is None


def test_queue_expires(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"exp-{uid}"), expires=0.3)(chan)
    q.declare()
    # Any declare (passive too) counts as use and restarts the clock: look
    # less often than the expiry period.
    for _ in range(5):
        time.sleep(1.0)
        check = conn.channel()
        try:
            check.queue_declare(q.name, passive=True)
        except amqp.exceptions.NotFound:
            return  # the broker deleted the unused queue
        check.close()
    raise AssertionError("queue with x-expires was never deleted")


def test_max_length_drop_head(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"len-{uid}"), max_length=2)(chan)
    q.declare()
    producer = Producer(chan)
    for i in range(4):
        producer.publish(i, routing_key=q.name)
    chan.queue_declare(q.name, passive=True)
    assert [get_wait(q, no_ack=True).payload for _ in range(2)] == [2, 3]
    assert q.get(no_ack=True) is None


def test_max_length_reject_publish_nacks_with_confirms(
        rabbitmq: str, cleanup: Any, uid: str) -> None:
    name = cleanup.queue(f"len-{uid}")
    with Connection(rabbitmq, transport_options={"confirm_publish": True}) as conn:
        q = Queue(name, queue_arguments={"x-max-length": 1, "x-overflow": "reject-publish"})
        producer = conn.Producer()
        producer.publish("first", routing_key=name, declare=[q])
        with pytest.raises(amqp.exceptions.MessageNacked):
            producer.publish("second", routing_key=name)
        assert get_wait(q(conn.default_channel), no_ack=True).payload == "first"


def test_max_priority(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"prio-{uid}"), max_priority=10)(chan)
    q.declare()
    producer = Producer(chan)
    for prio in (1, 9, 5, 0):
        producer.publish(prio, routing_key=q.name, priority=prio)
    chan.queue_declare(q.name, passive=True)
    time.sleep(0.1)
    got = [get_wait(q, no_ack=True).payload for _ in range(4)]
    assert got == [9, 5, 1, 0]


def test_dead_letter_exchange_and_routing_key(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    dlx = Exchange(cleanup.exchange(f"dlx-{uid}"), "direct", durable=False)
    dead = Queue(cleanup.queue(f"dead-{uid}"), dlx, routing_key="graveyard")(chan)
    dead.declare()
    work = Queue(cleanup.queue(f"work-{uid}"), queue_arguments={
        "x-dead-letter-exchange": dlx.name,
        "x-dead-letter-routing-key": "graveyard",
    })(chan)
    work.declare()
    Producer(chan).publish({"job": 7}, routing_key=work.name)
    message = get_wait(work)
    message.reject(requeue=False)
    corpse = get_wait(dead, no_ack=True)
    assert corpse.payload == {"job": 7}
    assert corpse.delivery_info["routing_key"] == "graveyard"
    death = corpse.headers["x-death"][0]
    assert death["reason"] == "rejected" and death["queue"] == work.name


def test_quorum_queue(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"quorum-{uid}"), durable=True,
              queue_arguments={"x-queue-type": "quorum"})(chan)
    q.declare()
    Producer(chan).publish("replicated", routing_key=q.name)
    first = get_wait(q)
    assert first.payload == "replicated"
    first.requeue()
    again = get_wait(q)
    # Only quorum queues count deliveries in a header.
    assert again.headers.get("x-delivery-count") == 1
    assert again.delivery_info["redelivered"] is True
    again.ack()


def test_stream_queue(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"stream-{uid}"), durable=True,
              queue_arguments={"x-queue-type": "stream"},
              consumer_arguments={"x-stream-offset": "first"})
    producer = Producer(chan)
    q(chan).declare()
    for i in range(3):
        producer.publish(i, routing_key=q.name)
    got: list[Any] = []

    def handle(body: Any, message: Any) -> None:
        got.append((body, message.headers.get("x-stream-offset")))
        message.ack()

    channel = conn.channel()
    with Consumer(channel, [q], callbacks=[handle], prefetch_count=10):
        drain_until(conn, lambda: len(got) == 3)
    assert [body for body, _ in got] == [0, 1, 2]
    assert [offset for _, offset in got] == [0, 1, 2]
    # A stream keeps its messages: a second reader from "first" sees them again.
    got.clear()
    with Consumer(conn.channel(), [q], callbacks=[handle], prefetch_count=10):
        drain_until(conn, lambda: len(got) == 3)
    channel.close()


def test_single_active_consumer(conn: Connection, cleanup: Any, uid: str) -> None:
    q = Queue(cleanup.queue(f"sac-{uid}"), queue_arguments={"x-single-active-consumer": True})
    seen: dict[str, list[Any]] = {"a": [], "b": []}

    def recorder(key: str) -> Callable[[Any, Any], None]:
        def handle(body: Any, message: Any) -> None:
            seen[key].append(body)
            message.ack()
        return handle

    ch_a, ch_b = conn.channel(), conn.channel()
    with Consumer(ch_a, [q], callbacks=[recorder("a")], prefetch_count=1), \
            Consumer(ch_b, [q], callbacks=[recorder("b")], prefetch_count=1):
        producer = Producer(conn.default_channel)
        for i in range(6):
            producer.publish(i, routing_key=q.name)
        drain_until(conn, lambda: len(seen["a"]) + len(seen["b"]) == 6)
    assert seen["a"] == list(range(6)) and seen["b"] == []
    ch_a.close()
    ch_b.close()


def test_consumer_priorities(conn: Connection, cleanup: Any, uid: str) -> None:
    name = cleanup.queue(f"cprio-{uid}")
    low = Queue(name, consumer_arguments={"x-priority": 1})
    high = Queue(name, consumer_arguments={"x-priority": 10})
    seen: dict[str, list[Any]] = {"low": [], "high": []}

    def recorder(key: str) -> Callable[[Any, Any], None]:
        def handle(body: Any, message: Any) -> None:
            seen[key].append(body)
            message.ack()
        return handle

    ch_low, ch_high = conn.channel(), conn.channel()
    with Consumer(ch_low, [low], callbacks=[recorder("low")], prefetch_count=50), \
            Consumer(ch_high, [high], callbacks=[recorder("high")], prefetch_count=50):
        producer = Producer(conn.default_channel)
        for i in range(10):
            producer.publish(i, routing_key=name)
        drain_until(conn, lambda: len(seen["low"]) + len(seen["high"]) == 10)
    assert seen["high"] == list(range(10)) and seen["low"] == []
    ch_low.close()
    ch_high.close()


def test_basic_get(conn: Connection, cleanup: Any, uid: str) -> None:
    chan = conn.default_channel
    q = Queue(cleanup.queue(f"get-{uid}"))(chan)
    q.declare()
    assert q.get() is None
    Producer(chan).publish({"a": 1}, routing_key=q.name)
    Producer(chan).publish({"a": 2}, routing_key=q.name)
    message = get_wait(q)
    assert isinstance(message, amqp_transport.Message)
    assert message.payload == {"a": 1}
    assert message.delivery_info["message_count"] == 1
    message.ack()
    raw = chan.basic_get(q.name, no_ack=True)
    assert isinstance(raw, amqp.Message)
    assert chan.message_to_python(raw).payload == {"a": 2}


def test_qos_prefetch_limits_unacked(conn: Connection, cleanup: Any, uid: str) -> None:
    q = Queue(cleanup.queue(f"qos-{uid}"))
    pending: list[Any] = []
    channel = conn.channel()
    with Consumer(channel, [q], on_message=pending.append, prefetch_count=2):
        producer = Producer(conn.default_channel)
        for i in range(5):
            producer.publish(i, routing_key=q.name)
        drain_until(conn, lambda: len(pending) == 2)
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.3)
        assert len(pending) == 2
        pending[0].ack()
        drain_until(conn, lambda: len(pending) == 3)
        for message in pending[1:]:
            message.ack()
        drain_until(conn, lambda: len(pending) == 5)
        for message in pending[3:]:
            message.ack()
    channel.close()


def test_flow(conn: Connection, cleanup: Any, uid: str) -> None:
    q = Queue(cleanup.queue(f"flow-{uid}"))
    channel = conn.channel()
    consumer = Consumer(channel, [q], on_message=lambda m: m.ack())
    consumer.flow(True)  # resuming is accepted
    # RabbitMQ does not implement client-side channel.flow(active=false)
    # (basic.qos replaces it): the broker answers 540 NOT_IMPLEMENTED, a
    # connection error.
    with pytest.raises(conn.connection_errors):
        consumer.flow(False)


def test_recover_redelivers_unacked(conn: Connection, cleanup: Any, uid: str) -> None:
    q = Queue(cleanup.queue(f"recover-{uid}"))
    got: list[Any] = []
    channel = conn.channel()
    with Consumer(channel, [q], on_message=got.append) as consumer:
        producer = Producer(conn.default_channel)
        producer.publish("a", routing_key=q.name)
        producer.publish("b", routing_key=q.name)
        drain_until(conn, lambda: len(got) == 2)
        assert not any(m.delivery_info["redelivered"] for m in got)
        consumer.recover(requeue=True)
        drain_until(conn, lambda: len(got) == 4)
        again = got[2:]
        assert sorted(m.payload for m in again) == ["a", "b"]
        assert all(m.delivery_info["redelivered"] for m in again)
        for message in again:
            message.ack()
    channel.close()


def test_publisher_confirms(rabbitmq: str, cleanup: Any, uid: str) -> None:
    name = cleanup.queue(f"confirm-{uid}")
    with Connection(rabbitmq, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for i in range(20):
            producer.publish(i, routing_key=name, declare=[Queue(name)])
        chan = producer.channel
        assert chan._confirm_selected
        # Confirmed means enqueued: the count is exact at once.
        assert chan.queue_declare(name, passive=True).message_count == 20


def test_mandatory_returns_with_confirms(rabbitmq: str, cleanup: Any, uid: str) -> None:
    returned: list[tuple[Any, ...]] = []

    def on_return(exc: Any, exchange: str, routing_key: str, message: Any) -> None:
        returned.append((exc, exchange, routing_key, message))

    ex = Exchange(cleanup.exchange(f"nowhere-{uid}"), "direct", durable=False)
    with Connection(rabbitmq, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer(exchange=ex, on_return=on_return)
        producer.publish({"lost": True}, routing_key="unbound", mandatory=True)
        # With confirms the return arrives before the ack: already handled.
        assert len(returned) == 1
    exc, exchange, routing_key, message = returned[0]
    assert exchange == ex.name and routing_key == "unbound"
    assert exc.reply_code == 312 and "NO_ROUTE" in exc.reply_text
    assert message.body in (b'{"lost": true}', '{"lost": true}')


def test_mandatory_returns_without_confirms(conn: Connection, cleanup: Any, uid: str) -> None:
    returned: list[Any] = []
    ex = Exchange(cleanup.exchange(f"nowhere-{uid}"), "direct", durable=False)
    producer = conn.Producer(exchange=ex, on_return=lambda *args: returned.append(args))
    producer.publish("x", routing_key="unbound", mandatory=True)
    assert producer.channel.events["basic_return"]
    drain_until(conn, lambda: bool(returned))
    assert returned[0][2] == "unbound"


def test_publish_handles_frames_already_waiting(conn: Connection, cleanup: Any,
                                                uid: str) -> None:
    # The publish path reads only when the socket has data: a return that
    # arrived meanwhile is dispatched by the next publish, as py-amqp does.
    returned: list[Any] = []
    ex = Exchange(cleanup.exchange(f"nowhere-{uid}"), "direct", durable=False)
    producer = conn.Producer(exchange=ex, on_return=lambda *args: returned.append(args))
    producer.publish("lost", routing_key="unbound", mandatory=True)
    deadline = time.monotonic() + 5
    sock = conn.connection.sock

    while not select.select([sock], [], [], 0.05)[0]:
        assert time.monotonic() < deadline
    producer.publish("next", routing_key="unbound")
    assert len(returned) == 1
    # Nothing waiting: publishing reads nothing and never blocks.
    started = time.monotonic()
    for _ in range(100):
        producer.publish("more", routing_key="unbound")
    assert time.monotonic() - started < 2


def test_drain_events_timeout_semantics(conn: Connection) -> None:
    sock = conn.connection.sock
    assert sock.gettimeout() is None
    started = time.monotonic()
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0.2)
    assert 0.15 < time.monotonic() - started < 2
    assert sock.gettimeout() is None  # restored
    with pytest.raises(socket.timeout):
        conn.drain_events(timeout=0)  # a non-blocking poll
    assert sock.gettimeout() is None


def test_heartbeats(rabbitmq: str, cleanup: Any, uid: str) -> None:
    with Connection(rabbitmq, heartbeat=1) as conn:
        conn.connect()
        assert conn.get_heartbeat_interval() == 1
        assert conn.supports_heartbeats
        raw = conn.connection
        sent_before = raw.bytes_sent
        # Idle for three intervals, ticking as kombu's event loop does: the
        # broker would close a connection that stayed silent this long.
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            conn.heartbeat_check(rate=2)
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
        assert raw.bytes_sent > sent_before  # heartbeat frames went out
        q = Queue(cleanup.queue(f"hb-{uid}"))(conn.default_channel)
        q.declare()
        Producer(conn.default_channel).publish("alive", routing_key=q.name)
        assert get_wait(q, no_ack=True).payload == "alive"


def test_heartbeat_check_detects_a_silent_broker(rabbitmq: str) -> None:
    # A broker that stops sending cannot be produced on demand: pretend the
    # last frame from it arrived long ago.
    with Connection(rabbitmq, heartbeat=1) as conn:
        conn.connect()
        raw = conn.connection
        conn.heartbeat_check()
        raw.last_heartbeat_received = time.monotonic() - 60
        raw.prev_recv = raw.bytes_recv
        with pytest.raises(amqp.exceptions.ConnectionForced):
            conn.heartbeat_check()
        assert issubclass(amqp.exceptions.ConnectionForced, conn.recoverable_connection_errors)


def test_virtual_host(vhost: str, cleanup: Any, uid: str) -> None:
    name = f"vh-{uid}"
    with Connection(f"amqp://guest:guest@127.0.0.1:5672/{vhost}") as conn:
        q = Queue(name)(conn.default_channel)
        q.declare()
        Producer(conn.default_channel).publish("in vhost", routing_key=name)
        assert get_wait(q, no_ack=True).payload == "in vhost"
        assert conn.info()["virtual_host"] == vhost
        with Connection("amqp://guest:guest@127.0.0.1:5672//") as root:
            with pytest.raises(amqp.exceptions.NotFound):
                root.default_channel.queue_declare(name, passive=True)
        q.delete()


def test_channel_max(rabbitmq: str) -> None:
    with Connection(rabbitmq, transport_options={"channel_max": 2}) as conn:
        assert conn.connection.channel_max == 2
        conn.channel()
        conn.channel()
        with pytest.raises(amqp.exceptions.ResourceError):
            conn.channel()


def test_frame_max_splits_large_bodies(rabbitmq: str, cleanup: Any, uid: str) -> None:
    with Connection(rabbitmq, transport_options={"frame_max": 4096}) as conn:
        assert conn.connection.frame_max == 4096
        q = Queue(cleanup.queue(f"big-{uid}"))(conn.default_channel)
        q.declare()
        body = "x" * 50_000
        Producer(conn.default_channel).publish(body, routing_key=q.name)
        assert get_wait(q, no_ack=True).payload == body


def test_read_write_timeouts_and_socket_options(rabbitmq: str) -> None:
    settings = {socket.TCP_NODELAY: 1}
    if hasattr(socket, "TCP_KEEPIDLE"):
        settings[socket.TCP_KEEPIDLE] = 33
    with Connection(rabbitmq, transport_options={
            "read_timeout": 7, "write_timeout": 9, "socket_settings": settings}) as conn:
        sock = conn.connection.sock
        for opt, value in settings.items():
            assert sock.getsockopt(socket.IPPROTO_TCP, opt) == value
        assert conn.connection.transport.read_timeout == 7
        assert conn.connection.transport.write_timeout == 9
        started = time.monotonic()
        with pytest.raises(socket.timeout):
            conn.drain_events(timeout=0.3)
        assert 0.25 < time.monotonic() - started < 2


def test_failover_across_hosts(rabbitmq: str, unused_port: int) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{unused_port}//"
    with Connection(f"{dead};{rabbitmq}", connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=3, interval_start=0, interval_step=0)
        assert conn.connected
        assert conn.port == 5672
        assert conn.info()["port"] == 5672


def test_connection_info_and_driver(conn: Connection) -> None:
    info = conn.info()
    assert info["hostname"] == "127.0.0.1" and info["port"] == 5672
    assert info["userid"] == "guest" and info["virtual_host"] == "/"
    assert info["transport"] == "amqp"
    assert conn.transport.driver_name == "py-amqp"
    assert conn.transport.driver_version() == amqp.__version__
    assert conn.is_evented
    assert conn.connection.server_properties["product"] == "RabbitMQ"
    assert conn.qos_semantics_matches_spec is False  # RabbitMQ >= 3.3


@pytest.mark.parametrize("method", ["AMQPLAIN", "PLAIN"])
def test_login_methods(rabbitmq: str, method: str) -> None:
    with Connection(rabbitmq, login_method=method) as conn:
        conn.connect()
        assert conn.connected


def test_external_login_needs_the_broker_to_offer_it(rabbitmq: str) -> None:
    # On the plain listener RabbitMQ offers only PLAIN and AMQPLAIN; EXTERNAL
    # over TLS with a client certificate is tested in test_tls.py.
    conn = Connection(rabbitmq, login_method="EXTERNAL", connect_timeout=3)
    with pytest.raises(amqp.exceptions.ConnectionError, match="auth mechanism"):
        conn.connect()


def test_amqps_scheme_needs_tls(unused_port: int) -> None:
    conn = Connection(f"amqps://guest:guest@127.0.0.1:{unused_port}//")
    assert conn.transport.connection_options()["ssl"] == {"server_hostname": "127.0.0.1"}


class MiniLoop:
    """The slice of the kombu Hub the transport uses: readers and call_soon."""

    def __init__(self) -> None:
        import selectors

        self.selector = selectors.DefaultSelector()
        self.soon: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        self.selector.register(fd, 1, (callback, args))

    def remove_reader(self, fd: Any) -> None:
        self.selector.unregister(fd)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> None:
        self.soon.append((callback, args))

    def run_once(self, timeout: float) -> None:
        while self.soon:
            callback, args = self.soon.pop(0)
            callback(*args)
        for key, _ in self.selector.select(timeout):
            callback, args = key.data
            callback(*args)


def test_event_loop_hooks(conn: Connection, cleanup: Any, uid: str) -> None:
    loop = MiniLoop()
    conn.transport.register_with_event_loop(conn.connection, loop)
    q = Queue(cleanup.queue(f"loop-{uid}"))
    got: list[Any] = []
    channel = conn.channel()
    with Consumer(channel, [q], callbacks=[lambda body, m: (got.append(body), m.ack())]):
        producer = Producer(conn.default_channel)
        for i in range(5):
            producer.publish(i, routing_key=q.name)
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            loop.run_once(0.1)
    assert got == list(range(5))
    conn.transport.unregister_from_event_loop(conn.connection, loop)
    assert not loop.selector.get_map()
    channel.close()


def test_kombu_hub_drives_the_connection(conn: Connection, cleanup: Any, uid: str) -> None:
    hub_mod = pytest.importorskip("kombu.asynchronous.hub")
    hub = hub_mod.Hub()
    try:
        conn.register_with_event_loop(hub)
        q = Queue(cleanup.queue(f"hub-{uid}"))
        got: list[Any] = []
        channel = conn.channel()
        with Consumer(channel, [q], callbacks=[lambda body, m: (got.append(body), m.ack())]):
            producer = Producer(conn.default_channel)
            for i in range(5):
                producer.publish(i, routing_key=q.name)
            deadline = time.monotonic() + 5
            loop = hub.create_loop()
            while len(got) < 5 and time.monotonic() < deadline:
                next(loop)
        assert got == list(range(5))
        channel.close()
    finally:
        hub.close()


def test_ack_and_reject_after_the_connection_closed(rabbitmq: str, cleanup: Any,
                                                    uid: str) -> None:
    with Connection(rabbitmq) as conn:
        q = Queue(cleanup.queue(f"closed-{uid}"))(conn.default_channel)
        q.declare()
        producer = Producer(conn.default_channel)
        producer.publish(1, routing_key=q.name)
        producer.publish(2, routing_key=q.name)
        first, second = get_wait(q), get_wait(q)
        conn.connection.collect()  # the connection is gone under the messages
        with pytest.raises(conn.recoverable_connection_errors):
            first.ack()
        with pytest.raises(conn.recoverable_connection_errors):
            second.reject(requeue=True)
    with Connection(rabbitmq) as conn:
        # Both were unacked when the connection died: back in the queue.
        deadline = time.monotonic() + 5
        while conn.default_channel.queue_declare(q.name, passive=True).message_count < 2:
            assert time.monotonic() < deadline, "unacked messages were not requeued"
            time.sleep(0.05)
