"""The wire (a redis-py Connection with pre-packed commands) where it matters.

- a BaseException raised mid-reply (a signal handler, as Celery's soft time
  limit) closes the connection: no reply is left for the next command, no ack lost;
- replies that say the server cannot serve us now (MASTERDOWN, OOM, READONLY) and
  "max number of clients reached" are connection errors;
- redis-py's health check runs;
- a Sentinel failover with plain publishes;
- replies awaited by busy polling (``busy_poll``): the same replies as sleeping,
  a late reply still read, and an interruption while polling closes the
  connection like one while reading.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from kombu import Connection, Producer, Queue
from kombu.exceptions import OperationalError


class SoftTimeLimit(BaseException):
    """Raised from a signal handler (not an Exception, like Celery's)."""


@pytest.fixture
def alarm() -> Iterator[Any]:
    """``alarm(seconds)``: raise SoftTimeLimit in the main thread after ``seconds``."""

    def handler(signum: int, frame: Any) -> None:
        raise SoftTimeLimit()

    previous = signal.signal(signal.SIGALRM, handler)

    def arm(seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def wait_for(predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_base_exception_mid_reply_closes_and_loses_no_ack(url: str, raw: Any, prefix: str,
                                                          alarm: Any) -> None:
    with Connection(url) as conn:
        channel = conn.default_channel
        queue = Queue("wire.acks")(channel)
        queue.declare()
        producer = Producer(channel)
        for n in range(50):
            producer.publish(n, routing_key="wire.acks")
        held = [queue.get() for _ in range(50)]
        assert raw.hlen(f"{prefix}unacked") == 50
        for message in held:  # written reply-less, corked
            message.ack()
        wire = channel.storage.wire
        alarm(0.3)
        with pytest.raises(SoftTimeLimit):  # interrupted while reading BLPOP's reply
            wire.call("BLPOP", f"{prefix}wire.blocked", 5)
        assert not wire.connected  # closed: the reply cannot reach the next command
        raw.rpush(f"{prefix}wire.blocked", "late")
        raw.set(f"{prefix}wire.k", "value")
        assert wire.call("GET", f"{prefix}wire.k") == b"value"
        assert wire.call("PING") in (True, b"PONG", "PONG")
        assert raw.hlen(f"{prefix}unacked") == 0  # every ack arrived
        assert raw.zcard(f"{prefix}unacked_index") == 0


def test_base_exception_while_acks_are_corked(url: str, raw: Any, prefix: str,
                                              alarm: Any) -> None:
    """Acks written just before the interrupted command still reach Redis."""
    with Connection(url) as conn:
        channel = conn.default_channel
        queue = Queue("wire.acks2")(channel)
        queue.declare()
        producer = Producer(channel)
        for n in range(20):
            producer.publish(n, routing_key="wire.acks2")
        held = [queue.get() for _ in range(20)]
        wire = channel.storage.wire
        for message in held[:10]:
            message.ack()
        alarm(0.2)
        with pytest.raises(SoftTimeLimit):
            wire.call("BLPOP", f"{prefix}wire.blocked2", 5)
        for message in held[10:]:  # acks after the interruption: a new connection
            message.ack()
        channel.flush_acks()
        assert raw.hlen(f"{prefix}unacked") == 0


def test_max_clients_is_a_connection_error(redis_server: Any) -> None:
    server = redis_server("--maxclients", "1")
    holder = redis.Redis(port=server.port)
    holder.ping()
    try:
        conn = Connection(f"redis://127.0.0.1:{server.port}/0", connect_timeout=2)
        with pytest.raises(OperationalError, match="max number of clients"):
            conn.ensure_connection(max_retries=0)
        conn.release()
    finally:
        holder.close()


def test_oom_is_a_connection_error(redis_server: Any) -> None:
    server = redis_server()
    admin = redis.Redis(port=server.port)
    with Connection(f"redis://127.0.0.1:{server.port}/0") as conn:
        queue = conn.SimpleQueue("oom")
        queue.put("fits")
        admin.config_set("maxmemory", "1")  # the private server only
        try:
            with pytest.raises(conn.connection_errors, match="OOM") as info:
                Producer(conn).publish("too much", routing_key="oom")
            assert not isinstance(info.value, conn.channel_errors)
            assert not conn.default_channel.storage.wire.connected
        finally:
            admin.config_set("maxmemory", "0")
        Producer(conn).publish("fits again", routing_key="oom")
        assert queue.qsize() == 2
    admin.close()


def test_masterdown_is_a_connection_error(redis_server: Any) -> None:
    master = redis_server()
    replica = redis_server("--replicaof", "127.0.0.1", str(master.port),
                           "--replica-serve-stale-data", "no")
    admin = redis.Redis(port=replica.port)
    wait_for(lambda: admin.info("replication")["master_link_status"] == "up", what="sync")
    with Connection(f"redis://127.0.0.1:{replica.port}/0") as conn:
        conn.connect()
        master.stop()
        wait_for(lambda: admin.info("replication")["master_link_status"] == "down",
                 what="the link to go down")
        with pytest.raises(conn.connection_errors, match="MASTERDOWN") as info:
            conn.default_channel.queue_declare("stale", passive=True)
        assert not isinstance(info.value, conn.channel_errors)
    admin.close()


def test_readonly_after_demotion_is_a_connection_error(redis_server: Any) -> None:
    """A master demoted to a replica under an open connection (a failover without
    Sentinel's client kill): READONLY closes the connection and is a connection error."""
    other = redis_server()
    server = redis_server()
    admin = redis.Redis(port=server.port)
    with Connection(f"redis://127.0.0.1:{server.port}/0") as conn:
        Producer(conn).publish("first", routing_key="ro", declare=[Queue("ro")])
        admin.execute_command("REPLICAOF", "127.0.0.1", str(other.port))
        with pytest.raises(conn.connection_errors, match="READONLY") as info:
            Producer(conn).publish("second", routing_key="ro")
        assert not isinstance(info.value, conn.channel_errors)
        assert not conn.default_channel.storage.wire.connected
    admin.close()


def test_health_check_interval_runs(redis_server: Any) -> None:
    server = redis_server()
    admin = redis.Redis(port=server.port)

    def pings() -> int:
        stats = admin.info("commandstats").get("cmdstat_ping") or {}
        return int(stats.get("calls", 0))

    with Connection(f"redis://127.0.0.1:{server.port}/0?health_check_interval=1") as conn:
        wire = conn.default_channel.storage.wire
        wire.call("GET", "k")
        before = pings()
        wire.call("GET", "k")  # within the interval: no check
        assert pings() == before
        time.sleep(1.3)
        wire.call("GET", "k")  # idle longer than the interval: PING first
        assert pings() == before + 1
    admin.close()


def test_sentinel_failover_with_plain_publish(redis_server: Any) -> None:
    master = redis_server()
    replica = redis_server("--replicaof", "127.0.0.1", str(master.port))
    sentinel = redis_server(f"sentinel monitor kfail 127.0.0.1 {master.port} 1",
                            "sentinel down-after-milliseconds kfail 1000",
                            "sentinel failover-timeout kfail 5000",
                            sentinel=True)
    to_master = redis.Redis(port=master.port)
    to_replica = redis.Redis(port=replica.port)
    to_sentinel = redis.Redis(port=sentinel.port)
    wait_for(lambda: to_replica.info("replication")["master_link_status"] == "up",
             what="the replica to sync")
    wait_for(lambda: to_sentinel.sentinel_master("kfail").get("num-slaves", 0) >= 1,
             what="sentinel to see the replica")
    url = f"sentinel://127.0.0.1:{sentinel.port}/0"
    options = {"master_name": "kfail"}
    published = []
    with Connection(url, transport_options=options) as conn:
        producer = Producer(conn)
        producer.publish("before", routing_key="failover", declare=[Queue("failover")])
        published.append("before")
        to_master.execute_command("WAIT", 1, 2000)
        to_sentinel.execute_command("SENTINEL", "FAILOVER", "kfail")
        wait_for(lambda: to_replica.execute_command("ROLE")[0] == b"master"
                 and to_master.execute_command("ROLE")[0] == b"slave",
                 what="the failover")
        # A plain publish (no retry): stored on the new master, or a connection
        # error (never a channel error, never a silent loss)...
        try:
            producer.publish("during", routing_key="failover")
            published.append("during")
        except conn.connection_errors as exc:
            assert not isinstance(exc, conn.channel_errors), exc
            print("plain publish during the failover:", exc)
        # ... and the next one goes to the new master.
        producer.publish("after", routing_key="failover")
        published.append("after")
    # Every publish that returned is on the new master, in order.
    with Connection(f"redis://127.0.0.1:{replica.port}/0") as new_master:
        queue = new_master.SimpleQueue("failover")
        got = []
        while len(got) < len(published):
            message = queue.get(timeout=5)
            got.append(message.payload)
            message.ack()
        assert queue.qsize() == 0
    assert got == published
    for client in (to_master, to_replica, to_sentinel):
        client.close()


def _hold_server(raw: Any, seconds: float) -> threading.Thread:
    """Keep Redis busy in a Lua loop for ``seconds`` (every other reply waits)."""
    script = ("local t = redis.call('TIME'); local stop = t[1] * 1e6 + t[2] + ARGV[1] * 1e6 "
              "while true do local n = redis.call('TIME'); "
              "if n[1] * 1e6 + n[2] > stop then return 1 end end")
    thread = threading.Thread(target=raw.eval, args=(script, 0, seconds), daemon=True)
    thread.start()
    time.sleep(0.05)  # the script runs before the next command arrives
    return thread


@pytest.mark.parametrize("busy_poll", ["0", "0.0001", "2"])
def test_busy_poll_gives_the_same_replies_early_or_late(url: str, raw: Any,
                                                        busy_poll: str) -> None:
    queue_name = f"wire.poll{busy_poll.replace('.', '_')}"
    with Connection(f"{url}&busy_poll={busy_poll}" if "?" in url
                    else f"{url}?busy_poll={busy_poll}") as conn:
        channel = conn.default_channel
        queue = Queue(queue_name)(channel)
        queue.declare()
        producer = Producer(channel)
        for n in range(100):  # quick replies
            producer.publish(n, routing_key=queue_name)
        holder = _hold_server(raw, 0.5)
        producer.publish("late", routing_key=queue_name)  # its reply comes after 0.5 s
        holder.join()
        got = []
        while (message := queue.get()) is not None:
            got.append(message.decode())
            message.ack()
        assert got == [*range(100), "late"]


def test_interrupted_while_polling_closes_the_connection(url: str, raw: Any, prefix: str,
                                                         alarm: Any) -> None:
    with Connection(f"{url}&busy_poll=5" if "?" in url else f"{url}?busy_poll=5") as conn:
        channel = conn.default_channel
        queue = Queue("wire.poll_int")(channel)
        queue.declare()
        producer = Producer(channel)
        wire = channel.storage.wire
        holder = _hold_server(raw, 0.6)
        alarm(0.2)  # lands while the reply is polled for (up to 5 s)
        with pytest.raises(SoftTimeLimit):
            wire.call("GET", f"{prefix}wire.poll_k")
        assert not wire.connected  # the unread reply cannot reach the next command
        holder.join()
        raw.set(f"{prefix}wire.poll_k", "value")
        assert wire.call("GET", f"{prefix}wire.poll_k") == b"value"
        producer.publish("after", routing_key="wire.poll_int")
        message = queue.get()
        assert message is not None and message.decode() == "after"
        message.ack()
