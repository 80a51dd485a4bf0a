"""Connection resilience: ensure_connection, failover, ensure/autoretry, revive, collect.

Faults a real broker cannot be made to produce on demand (a refused
connect, a connection dropping in the middle of a publish) are injected
with small subclasses of the memory transport.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import OperationalError
from kombu.plugins import register_transport
from kombu.transport.memory import Channel as MemoryChannel
from kombu.transport.memory import MemoryState
from kombu.transport.memory import Transport as MemoryTransport


class BrokenLink(OSError):
    """The injected, recoverable connection error."""


class AccessDenied(Exception):
    """An irrecoverable connection error (retrying cannot help)."""


def flaky_transport(fail_connects: int = 0, fail_publishes: int = 0) -> type:
    """A memory transport (with a broker of its own) failing on demand.

    The first ``fail_connects`` connects and ``fail_publishes`` publishes
    raise :class:`BrokenLink`; every attempt is logged on the class.
    """

    class FlakyChannel(MemoryChannel):
        def basic_publish(
            self, message: Any, exchange: str, routing_key: str, **kwargs: Any
        ) -> Any:
            transport = type(self.connection)
            transport.publishes += 1
            if transport.publishes <= transport.fail_publishes:
                raise BrokenLink("connection dropped while publishing")
            return super().basic_publish(message, exchange, routing_key, **kwargs)

    class FlakyTransport(MemoryTransport):
        Channel = FlakyChannel
        state = MemoryState()
        connection_errors = (*MemoryTransport.connection_errors, BrokenLink)
        driver_name = "flaky"
        connects = 0
        publishes = 0
        hosts: list[str] = []

        def establish_connection(self) -> Any:
            cls = type(self)
            cls.connects += 1
            cls.hosts.append(self.client.hostname)
            if cls.connects <= cls.fail_connects:
                raise BrokenLink(f"connection refused by {self.client.hostname}")
            return super().establish_connection()

    FlakyTransport.fail_connects = fail_connects
    FlakyTransport.fail_publishes = fail_publishes
    FlakyTransport.hosts = []
    return FlakyTransport


def always_failing() -> type:
    return flaky_transport(fail_connects=10**9)


# -- ensure_connection ------------------------------------------------------


def test_ensure_connection_gives_up_after_max_retries_with_operational_error():
    conn = Connection("memory://", transport=always_failing())
    errors: list[tuple[Exception, float]] = []
    started = time.monotonic()
    with pytest.raises(OperationalError, match="connection refused"):
        conn.ensure_connection(
            errback=lambda exc, interval: errors.append((exc, interval)),
            max_retries=3,
            interval_start=0.05,
            interval_step=0.05,
            interval_max=1,
        )
    elapsed = time.monotonic() - started
    # 4 attempts, sleeping 0.05 + 0.1 + 0.15 seconds in between.
    assert conn.transport_cls.connects == 4
    assert [interval for _, interval in errors] == pytest.approx([0.05, 0.1, 0.15])
    assert all(isinstance(exc, BrokenLink) for exc, _ in errors)
    assert 0.25 <= elapsed < 1.5
    assert not conn.connected


def test_ensure_connection_interval_max_caps_the_sleep():
    conn = Connection("memory://", transport=always_failing())
    intervals: list[float] = []
    with pytest.raises(OperationalError):
        conn.ensure_connection(
            errback=lambda exc, i: intervals.append(i),
            max_retries=4,
            interval_start=0.01,
            interval_step=0.05,
            interval_max=0.03,
        )
    assert intervals == pytest.approx([0.01, 0.03, 0.03, 0.03])


def test_ensure_connection_without_library_errors_raises_the_transport_error():
    conn = Connection("memory://", transport=always_failing())
    with pytest.raises(BrokenLink):
        conn.ensure_connection(max_retries=1, interval_start=0, reraise_as_library_errors=False)


def test_ensure_connection_timeout_bounds_retrying_forever():
    conn = Connection("memory://", transport=always_failing())
    started = time.monotonic()
    with pytest.raises(OperationalError):
        conn.ensure_connection(max_retries=None, interval_start=0.05, interval_step=0, timeout=0.4)
    assert time.monotonic() - started < 1.2


def test_ensure_connection_succeeds_after_failures_and_calls_callback():
    transport = flaky_transport(fail_connects=2)
    conn = Connection("memory://", transport=transport)
    calls: list[int] = []
    assert (
        conn.ensure_connection(
            max_retries=5, interval_start=0.01, interval_step=0, callback=lambda: calls.append(1)
        )
        is conn
    )
    assert conn.connected
    assert transport.connects == 3
    assert calls  # told while retrying
    conn.close()


def test_irrecoverable_connection_errors_are_not_retried():
    class Strict(MemoryTransport):
        state = MemoryState()
        connection_errors = (BrokenLink, AccessDenied)
        recoverable_connection_errors = (BrokenLink,)
        attempts = 0

        def establish_connection(self) -> Any:
            type(self).attempts += 1
            raise AccessDenied("bad credentials")

    conn = Connection("memory://", transport=Strict)
    with pytest.raises(AccessDenied):
        conn.ensure_connection(max_retries=5, interval_start=0)
    assert Strict.attempts == 1
    assert conn.recoverable_connection_errors == (BrokenLink,)
    assert set(conn.connection_errors) == {BrokenLink, AccessDenied}


# -- failover ---------------------------------------------------------------


@pytest.fixture
def flaky_scheme():
    transport = always_failing()
    register_transport("flaky", transport)
    return transport


def test_failover_round_robin_moves_on_without_sleeping_within_a_cycle(flaky_scheme):
    conn = Connection("flaky://h1;flaky://h2;memory://h3")
    intervals: list[float] = []
    conn.ensure_connection(
        errback=lambda exc, i: intervals.append(i), max_retries=5, interval_start=5
    )
    assert flaky_scheme.hosts == ["h1", "h2"]
    assert intervals == [0, 0]  # no back-off until every host was tried
    assert conn.connected
    assert conn.hostname == "h3"
    assert conn.transport.driver_name == "memory"
    conn.close()


def test_failover_round_robin_cycles_in_order_and_sleeps_per_cycle(flaky_scheme):
    conn = Connection(["flaky://a", "flaky://b"])
    intervals: list[float] = []
    with pytest.raises(OperationalError):
        conn.ensure_connection(
            errback=lambda exc, i: intervals.append(i),
            max_retries=5,
            interval_start=0.01,
            interval_step=0.01,
        )
    assert flaky_scheme.hosts == ["a", "b", "a", "b", "a", "b"]
    assert intervals == pytest.approx([0, 0.01, 0, 0.02, 0])


def test_failover_alternates_argument(flaky_scheme):
    conn = Connection("flaky://primary", alternates=["memory://backup"])
    conn.ensure_connection(max_retries=2, interval_start=0)
    assert flaky_scheme.hosts == ["primary"]
    assert conn.hostname == "backup"
    conn.close()


def test_failover_shuffle_tries_every_host(flaky_scheme):
    conn = Connection("flaky://a;flaky://b;flaky://c", failover_strategy="shuffle")
    with pytest.raises(OperationalError):
        conn.ensure_connection(max_retries=11, interval_start=0, interval_step=0)
    assert len(flaky_scheme.hosts) == 12
    assert set(flaky_scheme.hosts) == {"a", "b", "c"}


def test_custom_failover_strategy_callable(flaky_scheme):
    def backwards(hosts):
        while True:
            yield from reversed(hosts)

    conn = Connection("flaky://a;flaky://b;flaky://c", failover_strategy=backwards)
    with pytest.raises(OperationalError):
        conn.ensure_connection(max_retries=3, interval_start=0)
    # The first item of the cycle counts as the current host; then it goes on.
    assert flaky_scheme.hosts == ["a", "b", "a", "c"]


def test_switch_and_maybe_switch_next_and_completes_cycle(flaky_scheme):
    conn = Connection("memory://one;memory://two;memory://three")
    assert conn.hostname == "one"
    conn.maybe_switch_next()
    assert conn.hostname == "two"
    conn.switch("flaky://elsewhere")
    assert conn.hostname == "elsewhere"
    assert conn.transport_cls == "flaky"
    assert [conn.completes_cycle(n) for n in range(6)] == [False, False, True] * 2
    single = Connection("memory://")
    single.maybe_switch_next()  # no alternates: nothing happens
    assert single.completes_cycle(0)


# -- ensure / autoretry / revive ---------------------------------------------


def _drain(conn: Connection, queue: Queue) -> list[Any]:
    bodies: list[Any] = []
    with conn.Consumer(queue, callbacks=[lambda body, msg: (bodies.append(body), msg.ack())]):
        while True:
            try:
                conn.drain_events(timeout=0.1)
            except TimeoutError:
                return bodies


def test_ensure_reconnects_revives_the_producer_and_publishes_once():
    transport = flaky_transport(fail_publishes=2)
    conn = Connection("memory://", transport=transport)
    queue = Queue("ensure-q", Exchange("ensure-x"), "rk")
    producer = Producer(conn, exchange=queue.exchange)
    queue(conn.default_channel).declare()
    first_channel = producer.channel
    revived: list[Any] = []
    errors: list[Any] = []
    publish = conn.ensure(
        producer,
        producer.publish,
        max_retries=3,
        errback=lambda exc, i: errors.append(exc),
        on_revive=revived.append,
    )
    publish({"n": 1}, routing_key="rk")
    assert transport.publishes == 3
    assert len(errors) == 2 and all(isinstance(e, BrokenLink) for e in errors)
    assert len(revived) == 2
    assert producer.channel is revived[-1] is conn.default_channel
    assert producer.channel is not first_channel
    assert _drain(conn, queue) == [{"n": 1}]
    conn.close()


def test_ensure_gives_up_after_max_retries():
    transport = flaky_transport(fail_publishes=100)
    conn = Connection("memory://", transport=transport)
    producer = Producer(conn)
    publish = conn.ensure(producer, producer.publish, max_retries=2)
    with pytest.raises(BrokenLink):
        publish({"n": 1}, routing_key="nowhere")
    assert transport.publishes == 3
    conn.close()


def test_ensure_does_not_retry_irrecoverable_channel_errors():
    class Refused(Exception):
        pass

    class RefusingChannel(MemoryChannel):
        def basic_publish(self, *args: Any, **kwargs: Any) -> Any:
            type(self.connection).publishes += 1
            raise Refused("access refused to exchange")

    class Refusing(MemoryTransport):
        Channel = RefusingChannel
        state = MemoryState()
        channel_errors = (*MemoryTransport.channel_errors, Refused)
        publishes = 0

    conn = Connection("memory://", transport=Refusing)
    producer = Producer(conn)
    with pytest.raises(Refused):
        conn.ensure(producer, producer.publish, max_retries=5)({"x": 1}, routing_key="q")
    assert Refusing.publishes == 1
    assert Refused in conn.channel_errors
    assert Refused not in conn.recoverable_channel_errors
    conn.close()


def test_publish_retry_policy_retries_on_connection_loss():
    transport = flaky_transport(fail_publishes=1)
    conn = Connection("memory://", transport=transport)
    queue = Queue("retry-policy-q")
    queue(conn.default_channel).declare()
    producer = Producer(conn)
    producer.publish(
        {"ok": True},
        routing_key="retry-policy-q",
        retry=True,
        retry_policy={"max_retries": 2, "interval_start": 0},
    )
    assert _drain(conn, queue) == [{"ok": True}]
    # Without retry the error reaches the caller.
    transport.fail_publishes = transport.publishes + 1
    with pytest.raises(BrokenLink):
        producer.publish({"ok": False}, routing_key="retry-policy-q")
    conn.close()


def test_publish_declares_again_after_reconnect():
    transport = flaky_transport(fail_publishes=1)
    conn = Connection("memory://", transport=transport)
    exchange = Exchange("redeclared-x", type="direct")
    queue = Queue("redeclared-q", exchange, "k")
    producer = Producer(conn)
    producer.publish(
        {"a": 1},
        exchange=exchange,
        routing_key="k",
        declare=[queue],
        retry=True,
        retry_policy={"max_retries": 2},
    )
    assert queue in conn.declared_entities  # cached on the new connection
    assert _drain(conn, queue) == [{"a": 1}]
    conn.close()


def test_autoretry_retries_with_a_new_channel():
    transport = flaky_transport(fail_publishes=1)
    conn = Connection("memory://", transport=transport)
    Queue("autoretry-q")(conn.default_channel).declare()
    used: list[Any] = []

    def send(body: Any, channel: Any = None) -> str:
        used.append(channel)
        Producer(channel).publish(body, routing_key="autoretry-q")
        return "sent"

    channel = conn.channel()
    result, final_channel = conn.autoretry(send, channel=channel, max_retries=2)({"hello": "world"})
    assert result == "sent"
    assert used[0] is channel
    assert final_channel is used[-1] is not channel
    assert _drain(conn, Queue("autoretry-q")) == [{"hello": "world"}]
    conn.close()


def test_autoretry_without_channel_uses_default_channel():
    conn = Connection("memory://")
    result, channel = conn.autoretry(lambda channel=None: channel)()
    assert result is channel is conn.default_channel
    conn.close()


def test_consumer_revives_on_a_new_connection():
    transport = flaky_transport()
    conn = Connection("memory://", transport=transport)
    queue = Queue("revive-q", Exchange("revive-x"), "r")
    got: list[Any] = []
    consumer = Consumer(
        conn.default_channel, [queue], callbacks=[lambda b, m: (got.append(b), m.ack())]
    )
    conn.collect()  # the connection is gone
    assert not conn.declared_entities
    consumer.revive(conn.default_channel)  # redeclares on the new connection
    consumer.consume()
    Producer(conn).publish({"after": "revive"}, exchange="revive-x", routing_key="r")
    conn.drain_events(timeout=1)
    assert got == [{"after": "revive"}]
    conn.close()


def test_revive_replaces_the_default_channel():
    conn = Connection("memory://")
    old = conn.default_channel
    new = conn.channel()
    conn.revive(new)
    assert conn.default_channel is not old
    conn.close()


def test_heartbeat_check_is_delegated_to_the_transport():
    class Beating(MemoryTransport):
        state = MemoryState()
        rates: list[int] = []

        def heartbeat_check(self, connection: Any, rate: int = 2) -> None:
            type(self).rates.append(rate)

    conn = Connection("memory://", transport=Beating, heartbeat=10)
    conn.heartbeat_check()
    conn.heartbeat_check(rate=4)
    assert Beating.rates == [2, 4]
    assert not conn.supports_heartbeats
    conn.close()


# -- collect / release --------------------------------------------------------


def test_collect_drops_the_connection_and_it_can_reconnect():
    conn = Connection("memory://")
    assert conn.default_channel is not None
    Queue("collect-q")(conn.default_channel).declare()
    assert conn.connected
    conn.collect()
    assert not conn.connected
    assert conn._transport is None
    assert not conn.declared_entities
    conn.ensure_connection(max_retries=1)
    assert conn.connected
    conn.close()


def test_release_closes_a_plain_connection_and_returns_a_pooled_one():
    conn = Connection("memory://")
    conn.connect()
    conn.release()
    assert not conn.connected

    pool = Connection("memory://").Pool(limit=1)
    pooled = pool.acquire()
    pooled.connect()
    pooled.release()
    again = pool.acquire()
    assert again is pooled
    assert again.connected  # still open: released to the pool, not closed
    again.release()
    pool.force_close_all()
    assert not pooled.connected
