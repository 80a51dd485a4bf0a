"""At-least-once on ZooKeeper: the lease is the consumer's session.

A consumer that holds messages keeps them as long as it lives (kazoo keeps its
session alive, whatever the consumer does); SIGKILLed, its session expires after
``session_timeout`` and ZooKeeper deletes its locks: the messages are back, for
anyone, flagged redelivered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from kombu import Connection, Queue

SESSION = 2.0

HOLDER = textwrap.dedent("""
    import sys, time
    from kombu import Connection, Queue
    url, n = sys.argv[1], int(sys.argv[2])
    conn = Connection(url, transport_options={"session_timeout": float(sys.argv[3])})
    held = []
    with conn.Consumer(Queue("held"), callbacks=[lambda b, m: held.append(m)],
                       prefetch_count=n):
        while len(held) < n:
            conn.drain_events(timeout=10)
        print("held", len(held), flush=True)
        time.sleep(3600)
""")


def _get_all(conn: Connection, n: int, timeout: float) -> list[Any]:
    bound = Queue("held")(conn.default_channel)
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        message = bound.get()
        if message is None:
            time.sleep(0.05)
            continue
        got.append(message)
    return got


def test_sigkilled_consumer_gives_its_messages_back_when_its_session_expires(url: str) -> None:
    with Connection(url) as conn:
        simple = conn.SimpleQueue("held")
        for i in range(5):
            simple.put({"i": i})
        child = subprocess.Popen([sys.executable, "-c", HOLDER, url, "5", str(SESSION)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().startswith("held 5")
            # While it lives, nobody else gets them (well past its session timeout).
            assert _get_all(conn, 1, SESSION * 2) == []
            os.kill(child.pid, signal.SIGKILL)
            killed = time.monotonic()
            child.wait()
            back = _get_all(conn, 5, SESSION + 10)
            elapsed = time.monotonic() - killed
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert sorted(m.payload["i"] for m in back) == [0, 1, 2, 3, 4]
        assert all(m.delivery_info["redelivered"] for m in back)
        # Back once ZooKeeper expires the session: within its timeout (plus a tick).
        assert elapsed < SESSION + 1.5, elapsed
        for message in back:
            message.ack()
        assert simple.qsize() == 0


def test_a_live_consumer_keeps_what_it_holds_and_its_acks_delete(url: str) -> None:
    options = {"session_timeout": SESSION}
    with Connection(url, transport_options=options) as holder, Connection(url) as other:
        simple = holder.SimpleQueue("held")
        simple.put({"x": 1})
        message = Queue("held")(holder.default_channel).get()
        assert message is not None
        time.sleep(SESSION * 2)  # a long task: the session (the lease) stays alive
        assert _get_all(other, 1, 0.5) == []
        message.ack()
        assert other.SimpleQueue("held").qsize() == 0


def test_closing_a_connection_gives_unacked_messages_back_at_once(url: str) -> None:
    with Connection(url) as conn:
        conn.SimpleQueue("held").put({"y": 1})
    holder = Connection(url)
    message = Queue("held")(holder.default_channel).get()
    assert message is not None
    holder.close()
    with Connection(url) as conn:
        back = _get_all(conn, 1, 2)
        assert [m.payload for m in back] == [{"y": 1}]
        back[0].ack()


def test_competing_consumers_share_a_queue_without_duplicates(url: str) -> None:
    import threading

    with Connection(url) as conn:
        simple = conn.SimpleQueue("shared")
        for i in range(300):
            simple.put({"i": i})
    seen: list[list[int]] = [[], []]

    def consume(who: int) -> None:
        with Connection(url) as conn:
            def on_message(body: Any, message: Any) -> None:
                seen[who].append(body["i"])
                message.ack()

            with conn.Consumer(Queue("shared"), callbacks=[on_message], prefetch_count=50):
                deadline = time.monotonic() + 30
                while len(seen[0]) + len(seen[1]) < 300 and time.monotonic() < deadline:
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass

    threads = [threading.Thread(target=consume, args=(w,)) for w in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen[0] + seen[1]) == list(range(300))
