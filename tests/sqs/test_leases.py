"""Beyond kombu: leases renewed while work runs, batched round trips, size limit, FIFO."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from sqs_support import URL, drain_until, watch

from kombu import Connection, Consumer, Queue

HOLDER = r"""
import json, sys, time
from kombu import Connection, Consumer, Queue
url, options, name, n = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4])
held = []
with Connection(url, transport_options=options) as conn:
    with Consumer(conn, [Queue(name)], on_message=held.append, prefetch_count=n):
        while len(held) < n:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
        print("held", json.dumps(sorted(m.decode()["n"] for m in held)), flush=True)
        while True:
            time.sleep(1)
"""


def _consume(conn: Connection, queue: Queue, n: int, timeout: float,
             ack: bool = True) -> list[Any]:
    got: list[Any] = []

    def on_message(message: Any) -> None:
        got.append(message)
        if ack:
            message.ack()

    with Consumer(conn, [queue], on_message=on_message, prefetch_count=max(n, 1)):
        drain_until(conn, lambda: len(got) >= n, timeout)
    return got


def test_sigkilled_consumer_gives_back_everything_after_the_visibility_timeout(
        options: dict[str, Any]) -> None:
    vt = options["visibility_timeout"]
    with Connection(URL, transport_options=options) as conn:
        queue = Queue("killed", routing_key="killed")
        sq = conn.SimpleQueue(queue)
        for n in range(5):
            sq.put({"n": n})
        child = subprocess.Popen([sys.executable, "-c", HOLDER, URL, json.dumps(options),
                                  "killed", "5"], stdout=subprocess.PIPE, text=True,
                                 start_new_session=True)
        try:
            line = child.stdout.readline() if child.stdout else ""
            assert line.startswith("held"), f"the child said {line!r}"
            assert json.loads(line.split(" ", 1)[1]) == [0, 1, 2, 3, 4]
            # While it lives (and renews), nothing reaches anyone else: 2.5 leases.
            assert _consume(conn, queue, 1, timeout=2.5 * vt) == []
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            killed_at = time.monotonic()
            back = _consume(conn, queue, 5, timeout=vt + 10)
            took = time.monotonic() - killed_at
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert sorted(m.decode()["n"] for m in back) == [0, 1, 2, 3, 4]
        assert all(m.delivery_info["redelivered"] for m in back)
        assert took <= vt + 5, f"took {took:.1f}s with visibility_timeout={vt}"


def test_long_work_outlasts_the_visibility_timeout(options: dict[str, Any]) -> None:
    vt = options["visibility_timeout"]
    with Connection(URL, transport_options=options) as worker, \
            Connection(URL, transport_options=options) as other:
        queue = Queue("long", routing_key="long")
        worker.SimpleQueue(queue).put({"n": "long"})
        calls = watch(worker)
        held = _consume(worker, queue, 1, timeout=10, ack=False)
        assert len(held) == 1
        # The task "runs" for three visibility timeouts; another worker polls meanwhile.
        assert _consume(other, queue, 1, timeout=3 * vt) == []
        renewals = calls.of("ChangeMessageVisibilityBatch")
        assert renewals, "the lease was never renewed"
        assert all(e["VisibilityTimeout"] == vt for r in renewals for e in r["Entries"])
        held[0].ack()
        assert _consume(other, queue, 1, timeout=vt + 1) == []


def test_renewals_are_batched_ten_a_request(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = Queue("renew", routing_key="renew")
        sq = conn.SimpleQueue(queue)
        for n in range(15):
            sq.put({"n": n})
        calls = watch(conn)
        held = _consume(conn, queue, 15, timeout=10, ack=False)
        assert len(held) == 15
        time.sleep(options["visibility_timeout"])
        renewals = calls.of("ChangeMessageVisibilityBatch")
        assert renewals and max(len(r["Entries"]) for r in renewals) == 10
        conn.default_channel.basic_ack(held[-1].delivery_tag, multiple=True)


@pytest.mark.parametrize(("prefetch", "asked"), [(4, 4), (10, 10), (50, 10)])
def test_one_receive_fetches_up_to_min_10_prefetch(options: dict[str, Any], prefetch: int,
                                                   asked: int) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = Queue(f"batch{prefetch}", routing_key=f"batch{prefetch}")
        sq = conn.SimpleQueue(queue)
        for n in range(12):
            sq.put({"n": n})
        calls = watch(conn)
        got: list[Any] = []
        with Consumer(conn, [queue], on_message=got.append, prefetch_count=prefetch):
            drain_until(conn, lambda: len(got) >= min(prefetch, 12))
        first = calls.of("ReceiveMessage")[0]
        assert first["MaxNumberOfMessages"] == asked
        for message in got:
            message.ack()


def test_acks_of_a_batch_go_out_in_one_delete_message_batch(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = Queue("acks", routing_key="acks")
        sq = conn.SimpleQueue(queue)
        for n in range(10):
            sq.put({"n": n})
        got = _consume(conn, queue, 10, timeout=10, ack=False)
        calls = watch(conn)
        conn.default_channel.basic_ack(got[-1].delivery_tag, multiple=True)
        deletes = calls.of("DeleteMessageBatch")
        assert [len(d["Entries"]) for d in deletes] == [10]
        assert "DeleteMessage" not in calls.names()
        assert _consume(conn, queue, 1, timeout=options["visibility_timeout"] + 1) == []


def test_ack_batch_window_shares_requests_and_flushes_within_it(
        options: dict[str, Any]) -> None:
    opts = {**options, "ack_batch_window": 0.2}
    with Connection(URL, transport_options=opts) as conn:
        queue = Queue("window", routing_key="window")
        sq = conn.SimpleQueue(queue)
        for n in range(25):
            sq.put({"n": n})
        calls = watch(conn)
        got = _consume(conn, queue, 25, timeout=10)
        assert len(got) == 25
        time.sleep(0.5)  # the last, partial batch is flushed by the window
        sizes = [len(d["Entries"]) for d in calls.of("DeleteMessageBatch")]
        assert sum(sizes) == 25 and len(sizes) <= 5, sizes
    with Connection(URL, transport_options=options) as conn:
        assert _consume(conn, queue, 1, timeout=options["visibility_timeout"] + 1) == []


def test_a_body_over_256_kib_fails_at_publish_and_sends_nothing(
        options: dict[str, Any]) -> None:
    from kombu_sqs.transport import MessageTooLarge

    with Connection(URL, transport_options=options) as conn:
        sq = conn.SimpleQueue("big")
        sq.put({"pad": "x" * 100_000})  # under the limit: fine
        calls = watch(conn)
        with pytest.raises(MessageTooLarge, match=r"262144 bytes \(256 KiB\)"):
            sq.put({"pad": "x" * (300 * 1024)})
        assert "SendMessage" not in calls.names()
        assert sq.qsize() == 1


def test_fifo_order_within_a_group_and_on_requeue(options: dict[str, Any], raw: Any,
                                                  prefix: str) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = Queue("orders.fifo", routing_key="orders.fifo")
        queue(conn.default_channel).declare()
        url = raw.get_queue_url(QueueName=prefix + "orders.fifo")["QueueUrl"]
        attrs = raw.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue"])
        assert attrs["Attributes"]["FifoQueue"] == "true"
        producer = conn.Producer()
        calls = watch(conn)
        for n in range(6):
            producer.publish({"n": n}, routing_key="orders.fifo", MessageGroupId="g1",
                             MessageDeduplicationId=f"d{n}")
        sends = calls.of("SendMessage")
        assert [s["MessageGroupId"] for s in sends] == ["g1"] * 6
        assert [s["MessageDeduplicationId"] for s in sends] == [f"d{n}" for n in range(6)]
        got = _consume(conn, queue, 3, timeout=10, ack=False)
        assert [m.decode()["n"] for m in got] == [0, 1, 2]
        for message in got:  # explicit requeue: they come back first, in order
            message.requeue()
        again = _consume(conn, queue, 6, timeout=10)
        assert [m.decode()["n"] for m in again] == [0, 1, 2, 3, 4, 5]
        assert [m.delivery_info["redelivered"] for m in again[:3]] == [True] * 3


def test_fifo_defaults_group_and_deduplication_as_kombu(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        sq = conn.SimpleQueue("plain.fifo")
        calls = watch(conn)
        sq.put({"a": 1})
        sq.put({"a": 1})  # same body: a fresh deduplication id, so both are kept
        send = calls.of("SendMessage")
        assert [s["MessageGroupId"] for s in send] == ["default", "default"]
        assert send[0]["MessageDeduplicationId"] != send[1]["MessageDeduplicationId"]
        assert [sq.get(timeout=5).payload for _ in range(2)] == [{"a": 1}, {"a": 1}]
