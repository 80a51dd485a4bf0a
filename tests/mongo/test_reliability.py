"""At-least-once: a consumer killed with SIGKILL holding unacked messages loses none.

While the holder lives, nobody else gets its messages (its lease keeper renews
them); once it is killed they all come back, each once, after the lease.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from kombu import Connection, Consumer, Producer, Queue

LEASE = 2.0
HOLDER = textwrap.dedent("""
    import sys, time
    from kombu import Connection, Consumer, Queue
    url, lease = sys.argv[1], float(sys.argv[2])
    held = []
    with Connection(url, transport_options={"visibility_timeout": lease}) as conn:
        with Consumer(conn, [Queue("held")], callbacks=[lambda b, m: held.append(b)],
                      prefetch_count=50):
            while len(held) < 20:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
            print("holding", len(held), flush=True)
            while True:  # never acks; the lease keeper renews in the background
                time.sleep(1)
""")


def _collect(conn: Connection, seconds: float) -> list[Any]:
    got: list[Any] = []

    def on_message(body: Any, message: Any) -> None:
        got.append(body)
        message.ack()

    with Consumer(conn, [Queue("held")], callbacks=[on_message], prefetch_count=100):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
    return got


def test_sigkilled_consumer_messages_come_back_once(url: str) -> None:
    options = {"visibility_timeout": LEASE, "polling_interval": 0.05}
    with Connection(url, transport_options=options) as conn:
        with Producer(conn) as p:
            for i in range(20):
                p.publish(i, routing_key="held", declare=[Queue("held")])
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(LEASE)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().startswith("holding 20")
            # The holder lives: three leases pass and nobody else gets a message.
            assert _collect(conn, LEASE * 3) == []
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait()
            got = _collect(conn, LEASE * 4)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
        assert sorted(got) == list(range(20))  # every one back, none twice


def test_lapsed_lease_is_restored_by_any_client(url: str) -> None:
    options = {"visibility_timeout": 0.5}
    with Connection(url, transport_options=options) as a, \
            Connection(url, transport_options=options) as b:
        q = a.SimpleQueue("lapse")
        q.put("m")
        storage = a.default_channel.storage
        [delivery] = storage.fetch(["lapse"], 1)  # leased, never renewed
        assert storage.queue_size("lapse") == 0
        time.sleep(0.7)
        assert b.default_channel.storage.restore_lapsed() == 1
        again = b.SimpleQueue("lapse").get(timeout=5)
        assert again.payload == "m" and again.delivery_info["redelivered"]
        again.ack()
        # The first holder's late ack and requeue touch nothing now.
        storage.ack([delivery.tag])
        storage.requeue([delivery])
        assert storage.queue_size("lapse") == 0
        q.close()


def test_noack_consumer_removes_for_good(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("noack", no_ack=True)
        q.put("x")
        assert q.get(timeout=5).payload == "x"
        assert conn.default_channel.storage.messages.count_documents({"queue": "noack"}) == 0
        q.close()
