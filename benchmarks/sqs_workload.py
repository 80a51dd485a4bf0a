"""One SQS benchmark run with whatever ``kombu`` this interpreter imports.

    python benchmarks/sqs_workload.py URL COUNT PREFETCH [OPTIONS_JSON]

Publishes COUNT small JSON messages, then consumes and acks them (prefetch
PREFETCH), counting the HTTP requests botocore sends in each phase (every
request, retries included, through botocore's HTTP session).  Prints one JSON
line.  Only the public kombu API is used.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

REQUESTS = {"n": 0}


def _count_http_requests() -> None:
    from botocore.httpsession import URLLib3Session

    send = URLLib3Session.send

    def counting_send(self: Any, request: Any) -> Any:
        REQUESTS["n"] += 1
        return send(self, request)

    URLLib3Session.send = counting_send  # type: ignore[method-assign]


def main(url: str, count: int, prefetch: int, options: dict[str, Any]) -> dict[str, Any]:
    import kombu
    from kombu import Connection, Exchange, Queue

    _count_http_requests()
    name = f"bench-{uuid.uuid4().hex[:8]}"
    exchange = Exchange(name, "direct", durable=False)
    queue = Queue(name, exchange, routing_key=name, durable=False)
    body = {"id": 0, "task": "bench.add", "args": [1, 2], "kwargs": {}}
    with Connection(url, transport_options=options) as conn:
        channel = conn.channel()
        bound = queue(channel)
        bound.declare()
        producer = conn.Producer(channel, exchange=exchange)
        publish = producer.publish
        REQUESTS["n"] = 0
        start = time.perf_counter()
        for i in range(count):
            body["id"] = i
            publish(body, routing_key=name)
        publish_secs = time.perf_counter() - start
        publish_requests = REQUESTS["n"]

        received = 0

        def on_message(payload: object, message: Any) -> None:
            nonlocal received
            received += 1
            message.ack()

        consumer = conn.Consumer([queue], channel=channel, callbacks=[on_message],
                                 prefetch_count=prefetch)
        REQUESTS["n"] = 0
        start = time.perf_counter()
        with consumer:
            while received < count:
                try:
                    conn.drain_events(timeout=10)
                except TimeoutError:
                    break
            consume_secs = time.perf_counter() - start
            # acks still pending in a batch window are flushed on close: count them
            channel.close()
        consume_requests = REQUESTS["n"]
        bound = queue(conn.channel())
        bound.delete()
    if received != count:
        raise SystemExit(f"consumed {received} of {count} messages")
    return {
        "kombu": getattr(kombu, "__version__", "?"),
        "count": count,
        "publish_per_s": count / publish_secs,
        "consume_per_s": count / consume_secs,
        "publish_requests_per_msg": publish_requests / count,
        "consume_requests_per_msg": consume_requests / count,
    }


if __name__ == "__main__":
    url, count, prefetch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    options = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    print(json.dumps(main(url, count, prefetch, options)))
