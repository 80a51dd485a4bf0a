"""Failures a real deployment meets: dropped connections, killed consumers, bad settings."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import amqp
import pytest

from kombu import Connection, Queue
from kombu.exceptions import OperationalError
from kombu.mixins import ConsumerMixin

pytestmark = pytest.mark.usefixtures("rabbitmq")


def wait_for(done: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Worker(ConsumerMixin):
    """A ConsumerMixin consumer recording what it saw and how often it (re)connected."""

    def __init__(self, connection: Connection, queue: Queue) -> None:
        self.connection = connection
        self.queue = queue
        self.received: set[int] = set()
        self.deliveries = 0
        self.connects = 0

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        return [Consumer([self.queue], callbacks=[self.on_message], prefetch_count=20,
                         accept=["json"])]

    def on_message(self, body: Any, message: Any) -> None:
        self.received.add(body)
        self.deliveries += 1
        message.ack()

    def on_connection_revived(self) -> None:
        self.connects += 1

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        pass  # expected here; keep the test output quiet


def test_broker_drops_connections_mid_stream(vhost: str, ctl: Any, uid: str) -> None:
    """close_all_connections mid-stream: with confirms and retry=True nothing is lost,
    and the consumer resumes on its own."""
    url = f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    queue = Queue(f"resilient-{uid}", durable=True)
    total = 400
    worker = Worker(Connection(url), queue)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.connects == 1, 10, "the consumer to connect")
        retries: list[Exception] = []
        policy = {"max_retries": 20, "interval_start": 0, "interval_step": 0.2,
                  "interval_max": 1, "errback": lambda exc, interval: retries.append(exc)}
        with Connection(url, transport_options={"confirm_publish": True}) as conn:
            producer = conn.Producer()
            for i in range(total):
                if i == total // 2:
                    ctl("close_all_connections", "-p", vhost,
                        "kombu-amqp test: the broker drops every connection")
                producer.publish(i, routing_key=queue.name, declare=[queue], retry=True,
                                 retry_policy=policy)
        assert retries, "the producer never saw the connection drop"
        wait_for(lambda: worker.received >= set(range(total)), 30,
                 "every published message to be consumed")
        assert worker.connects >= 2, "the consumer did not reconnect"
        assert worker.deliveries >= total
    finally:
        worker.should_stop = True
        thread.join(10)
        with Connection(url) as conn:
            conn.default_channel.queue_delete(queue.name)


CHILD = textwrap.dedent("""
    import sys, time
    from kombu import Connection, Consumer, Queue
    url, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with Connection(url) as conn:
        held = []
        with Consumer(conn, [Queue(name)], on_message=held.append, prefetch_count=count):
            while len(held) < count:
                conn.drain_events(timeout=10)
            print("holding", len(held), flush=True)
            time.sleep(120)  # never acks: killed before that
""")


def test_killed_consumer_unacked_messages_are_redelivered(
        conn: Connection, cleanup: Any, uid: str, rabbitmq: str) -> None:
    name = cleanup.queue(f"sigkill-{uid}")
    queue = Queue(name)(conn.default_channel)
    queue.declare()
    producer = conn.Producer()
    for i in range(5):
        producer.publish({"n": i}, routing_key=name)
    child = subprocess.Popen([sys.executable, "-c", CHILD, rabbitmq, name, "5"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.strip() == "holding 5", child.stderr.read() if child.stderr else line
        assert conn.default_channel.queue_declare(name, passive=True).message_count == 0
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    redelivered = []
    deadline = time.monotonic() + 10
    while len(redelivered) < 5 and time.monotonic() < deadline:
        message = queue.get()
        if message is None:
            time.sleep(0.05)
            continue
        redelivered.append(message)
        message.ack()
    assert sorted(m.payload["n"] for m in redelivered) == [0, 1, 2, 3, 4]
    assert all(m.delivery_info["redelivered"] is True for m in redelivered)


def test_wrong_credentials(rabbitmq: str) -> None:
    conn = Connection("amqp://guest:not-the-password@127.0.0.1:5672//", connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(amqp.exceptions.AccessRefused, match="ACCESS_REFUSED") as info:
        conn.connect()
    assert time.monotonic() - started < 3
    assert "not-the-password" not in str(info.value)
    assert not isinstance(info.value, conn.recoverable_connection_errors)  # not retried


def test_wrong_virtual_host(rabbitmq: str) -> None:
    conn = Connection("amqp://guest:guest@127.0.0.1:5672/no-such-vhost", connect_timeout=3)
    started = time.monotonic()
    with pytest.raises(amqp.exceptions.NotAllowed, match="no-such-vhost"):
        conn.connect()
    assert time.monotonic() - started < 3


def test_unreachable_port(unused_port: int) -> None:
    conn = Connection(f"amqp://guest:secret@127.0.0.1:{unused_port}//", connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(OperationalError) as info:
        conn.ensure_connection(max_retries=0)
    assert time.monotonic() - started < 2
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert f"127.0.0.1:{unused_port}" in str(info.value)
    assert "secret" not in str(info.value)


def test_silent_server_times_out_within_connect_timeout() -> None:
    # A port that accepts TCP connections but never speaks AMQP.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        conn = Connection(f"amqp://guest:guest@127.0.0.1:{port}//", connect_timeout=1)
        started = time.monotonic()
        with pytest.raises(OperationalError, match="timed out"):
            conn.ensure_connection(max_retries=0)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.5
