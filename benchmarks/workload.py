"""One benchmark run with whatever ``kombu`` this interpreter imports.

Run by the benchmark drivers in a subprocess, once with kombu-core's
virtualenv and once with kombu 5.7's, so both run the same code:

    python benchmarks/workload.py URL COUNT PREFETCH

Prints one JSON line: kombu version, publish and consume msgs/s.
Only the public kombu API is used.
"""

from __future__ import annotations

import json
import sys
import time
import uuid


def main(url: str, count: int, prefetch: int) -> dict[str, object]:
    import kombu
    from kombu import Connection, Exchange, Queue

    name = f"bench-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, "direct", durable=False)
    queue = Queue(name, exchange, routing_key=name, durable=False)
    body = {"id": 0, "task": "bench.add", "args": [1, 2], "kwargs": {}}
    with Connection(url) as conn:
        channel = conn.channel()
        bound = queue(channel)
        bound.declare()
        bound.purge()
        producer = conn.Producer(channel, exchange=exchange)
        publish = producer.publish
        start = time.perf_counter()
        for i in range(count):
            body["id"] = i
            publish(body, routing_key=name)
        publish_secs = time.perf_counter() - start

        received = 0

        def on_message(payload: object, message: object) -> None:
            nonlocal received
            received += 1
            message.ack()  # type: ignore[attr-defined]

        consumer = conn.Consumer([queue], channel=channel, callbacks=[on_message],
                                 prefetch_count=prefetch)
        start = time.perf_counter()
        with consumer:
            while received < count:
                try:
                    conn.drain_events(timeout=10)
                except TimeoutError:
                    break
        consume_secs = time.perf_counter() - start
        bound.delete()
    if received != count:
        raise SystemExit(f"consumed {received} of {count} messages")
    return {
        "kombu": getattr(kombu, "__version__", "?"),
        "count": count,
        "publish_per_s": count / publish_secs,
        "consume_per_s": count / consume_secs,
    }


if __name__ == "__main__":
    url, count, prefetch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(main(url, count, prefetch)))
