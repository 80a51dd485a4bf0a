"""One kombu-sql benchmark run with whatever ``kombu`` this interpreter imports.

    python benchmarks/sql_workload.py URL COUNT PREFETCH CONSUMERS OPTIONS_JSON

Publishes COUNT small JSON messages from this process, then starts CONSUMERS
consumer processes (the same interpreter) that consume them with acks under
``prefetch_count=PREFETCH``.  The consume time runs from the moment every
consumer is connected and told to go until the last message came.  Prints one
JSON line: kombu version, publish and consume msgs/s, and how many messages
were delivered more than once or never.  Only the public kombu API is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path


def consume(url: str, options: dict, name: str, prefetch: int, folder: str) -> None:
    from kombu import Connection, Exchange, Queue

    queue = Queue(name, Exchange(name, "direct", durable=False), routing_key=name,
                  durable=False)
    seen = 0
    with open(os.path.join(folder, f"got-{os.getpid()}"), "w", buffering=1 << 16) as out, \
            Connection(url, transport_options=options) as conn:
        def on_message(payload: dict, message: object) -> None:
            nonlocal seen
            out.write(f"{payload['id']}\n")
            seen += 1
            if seen % 100 == 0:
                out.flush()
            message.ack()  # type: ignore[attr-defined]

        with conn.Consumer([queue], callbacks=[on_message], prefetch_count=prefetch):
            Path(folder, f"ready-{os.getpid()}").touch()
            go, stop = Path(folder, "go"), Path(folder, "stop")
            while not go.exists():
                time.sleep(0.002)
            while not stop.exists():
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    out.flush()


def count_lines(folder: str) -> int:
    total = 0
    for path in Path(folder).glob("got-*"):
        with open(path, "rb") as f:
            total += f.read().count(b"\n")
    return total


def main(url: str, count: int, prefetch: int, consumers: int, options: dict) -> dict:
    import kombu
    from kombu import Connection, Exchange, Queue

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
        start = time.perf_counter()
        for i in range(count):
            body["id"] = i
            publish(body, routing_key=name)
        publish_secs = time.perf_counter() - start

        with tempfile.TemporaryDirectory() as folder:
            procs = [subprocess.Popen([sys.executable, __file__, "consume", url, name,
                                       str(prefetch), folder, json.dumps(options)])
                     for _ in range(consumers)]
            deadline = time.monotonic() + 60
            while len(list(Path(folder).glob("ready-*"))) < consumers:
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit("the consumers did not start")
                time.sleep(0.01)
            start = time.perf_counter()
            Path(folder, "go").touch()
            deadline = time.monotonic() + 600
            while count_lines(folder) < count and time.monotonic() < deadline:
                time.sleep(0.01)
            consume_secs = time.perf_counter() - start
            time.sleep(0.5)  # anything delivered twice shows up now
            Path(folder, "stop").touch()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            got: Counter[int] = Counter()
            for path in Path(folder).glob("got-*"):
                got.update(int(line) for line in path.read_text().split())
        bound.delete()
    return {
        "kombu": getattr(kombu, "__version__", "?"),
        "count": count,
        "publish_per_s": count / publish_secs,
        "consume_per_s": count / consume_secs,
        "twice": sum(1 for n in got.values() if n > 1),
        "lost": sum(1 for i in range(count) if i not in got),
    }


if __name__ == "__main__":
    if sys.argv[1] == "consume":
        consume(sys.argv[2], json.loads(sys.argv[6]), sys.argv[3], int(sys.argv[4]),
                sys.argv[5])
    else:
        print(json.dumps(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                              int(sys.argv[4]), json.loads(sys.argv[5]))))
