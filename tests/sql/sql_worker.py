"""A producer or consumer process for the kombu-sql reliability tests.

    python sql_worker.py produce URL OPTIONS_JSON QUEUE START COUNT
    python sql_worker.py consume URL OPTIONS_JSON QUEUE OUTFILE PREFETCH [hold]

A consumer writes one line per delivery, ``<n> <redelivered 0|1>``, flushed
before it acks (with ``hold`` it never acks), and ``ready`` once consuming.
"""

from __future__ import annotations

import json
import sys

from kombu import Connection, Queue


def produce(url: str, options: dict, queue: str, start: int, count: int) -> None:
    with Connection(url, transport_options=options) as conn:
        producer = conn.Producer()
        for n in range(start, start + count):
            producer.publish({"n": n}, routing_key=queue, retry=True,
                             declare=[Queue(queue)] if n == start else None)


def consume(url: str, options: dict, queue: str, out: str, prefetch: int, hold: bool) -> None:
    with open(out, "a", buffering=1) as log, Connection(url, transport_options=options) as conn:
        def on_message(body: dict, message: object) -> None:
            log.write(f"{body['n']} {int(message.delivery_info.get('redelivered', False))}\n")
            if not hold:
                message.ack()  # type: ignore[attr-defined]

        with conn.Consumer([Queue(queue)], callbacks=[on_message], prefetch_count=prefetch):
            log.write("ready\n")
            while True:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass


if __name__ == "__main__":
    role, url, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    if role == "produce":
        produce(url, options, sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    else:
        consume(url, options, sys.argv[4], sys.argv[5], int(sys.argv[6]),
                len(sys.argv) > 7 and sys.argv[7] == "hold")
