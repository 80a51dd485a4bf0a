"""At-least-once: dead consumers, live slow consumers, Redis restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

from kombu import Connection, Consumer, Producer, Queue

VT = 3  # visibility_timeout for these tests (seconds)

CHILD = """
import sys, time
from kombu import Connection, Consumer, Queue
url, n = sys.argv[1], int(sys.argv[2])
held = []
with Connection(url) as conn:
    with Consumer(conn, [Queue("crash")], callbacks=[lambda b, m: held.append(b)],
                  prefetch_count=n):
        while len(held) < n:
            conn.drain_events(timeout=5)
        print("held", " ".join(str(b) for b in held), flush=True)
        time.sleep(600)
"""


def _drain_for(conn: Connection, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=min(0.5, max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            pass


def test_killed_consumer_messages_come_back_live_ones_stay(url: str, raw,
                                                            prefix: str) -> None:
    url = f"{url}&visibility_timeout={VT}"
    q = Queue("crash")
    with Connection(url) as pub:
        p = Producer(pub)
        for i in range(30):
            p.publish(i, routing_key="crash", declare=[q])

    # A live consumer takes 10 and holds them, unacked, far longer than VT.
    live = Connection(url)
    live_held: list = []
    live_msgs: list = []
    live_consumer = Consumer(live, [q], prefetch_count=10,
                             callbacks=[lambda b, m: (live_held.append(b), live_msgs.append(m))])
    live_consumer.consume()
    while len(live_held) < 10:
        live.drain_events(timeout=5)

    # A consumer process takes 10 more and is killed with SIGKILL.
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, "10"],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("held"), line
        child_held = [int(x) for x in line.split()[1:]]
        assert len(child_held) == 10
        assert raw.hlen(f"{prefix}unacked") == 20
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    killed_at = time.monotonic()

    # A third consumer gets the 10 never taken and, once their lease lapses, the
    # killed consumer's 10 (flagged redelivered) -- but never the live one's.
    got: list = []
    redelivered: list = []

    def on_message(body, message):
        got.append(body)
        if message.delivery_info.get("redelivered"):
            redelivered.append(body)
        message.ack()

    with Connection(url) as conn, Consumer(conn, [q], callbacks=[on_message],
                                           prefetch_count=10):
        while len(got) < 20 and time.monotonic() - killed_at < VT + 5:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
        came_back = time.monotonic() - killed_at
        # keep draining past 2 x VT: the live consumer's messages must stay put
        _drain_for(conn, max(0.0, 2 * VT + 1 - (time.monotonic() - killed_at)))

    assert sorted(redelivered) == sorted(child_held)
    assert came_back < VT + 4
    assert sorted(got) == sorted(set(range(30)) - set(live_held))
    assert not set(got) & set(live_held)

    for m in live_msgs:
        m.ack()
    live.release()
    assert raw.hlen(f"{prefix}unacked") == 0
    assert raw.zcard(f"{prefix}unacked_index") == 0


def test_slow_live_consumer_keeps_its_message(url: str) -> None:
    """Work that outlasts visibility_timeout is not handed to a second consumer."""
    url = f"{url}&visibility_timeout=1"
    q = Queue("slow")
    with Connection(url) as a, Connection(url) as b:
        Producer(a).publish("job", routing_key="slow", declare=[q])
        seen_a: list = []
        seen_b: list = []

        def slow(body, message):
            time.sleep(2.5)  # 2.5 x visibility_timeout, without polling
            seen_a.append(body)
            message.ack()

        stop = threading.Event()

        def other() -> None:
            with Consumer(b, [q], callbacks=[lambda body, m: (seen_b.append(body), m.ack())]):
                while not stop.is_set():
                    try:
                        b.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass

        t = threading.Thread(target=other)
        with Consumer(a, [q], callbacks=[slow], prefetch_count=1):
            t.start()  # b polls (and restores expired leases) while a works
            a.drain_events(timeout=5)
            time.sleep(1.5)
            stop.set()
            t.join()
    assert seen_a == ["job"]
    assert seen_b == []


def test_redis_restart_mid_stream(redis_server) -> None:
    server = redis_server("--appendonly", "yes", "--appendfsync", "always")
    url = f"redis://127.0.0.1:{server.port}/0?visibility_timeout={VT}"
    total = 300
    q = Queue("restart")
    policy = {"max_retries": 200, "interval_start": 0.05, "interval_step": 0.05,
              "interval_max": 0.2}
    published: list[int] = []

    def produce() -> None:
        with Connection(url) as conn:
            producer = Producer(conn)
            for i in range(total):
                producer.publish(i, routing_key="restart", declare=[q], retry=True,
                                 retry_policy=policy)
                published.append(i)
                time.sleep(0.003)

    seen: Counter = Counter()
    with Connection(url, transport_options={"max_retries": 50}) as conn:
        consumer = Consumer(conn, [q], prefetch_count=10,
                            callbacks=[lambda b, m: (seen.update([b]), m.ack())])
        consumer.consume()

        def drain_once() -> None:
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass

        drain = conn.ensure(consumer, drain_once, on_revive=lambda ch: consumer.consume(),
                            max_retries=200, interval_start=0.1, interval_step=0.1,
                            interval_max=0.3)
        producer = threading.Thread(target=produce)
        producer.start()
        while len(published) < total // 3:
            drain()
        server.stop()
        time.sleep(0.5)
        server.start()
        deadline = time.monotonic() + 30
        while (len(seen) < total or producer.is_alive()) and time.monotonic() < deadline:
            drain()
        producer.join(10)
    assert len(published) == total
    assert set(seen) == set(range(total))  # every message at least once
