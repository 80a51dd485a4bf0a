"""One run of the AMQP benchmark workload, in the interpreter that runs this file.

    python benchmarks/amqp_workload.py kombu  --n 20000 --prefetch 100 --url amqp://...
    python benchmarks/amqp_workload.py pyamqp --n 20000 --prefetch 100 --url amqp://...

``kombu`` uses only kombu's public API, so the same code measures kombu-core
(with kombu-amqp) or kombu 5.x, whichever ``import kombu`` finds; ``pyamqp``
does the same work on bare py-amqp.  The work: declare a durable queue,
publish ``n`` small persistent JSON messages to it, then consume them with
``prefetch`` unacked at most, decoding and acking each.  Prints one JSON
line: ``{"impl", "version", "publish", "consume"}`` (rates in msgs/s) plus
``publish_cpu``/``consume_cpu``: this process's CPU microseconds per message,
a steadier gauge of client overhead than wall time on a busy machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlparse


def _payload(i: int) -> dict[str, Any]:
    return {"id": i, "task": "bench.add", "args": [i, 2], "kwargs": {}}


def run_kombu(url: str, n: int, prefetch: int) -> dict[str, Any]:
    from kombu import Connection, Consumer, Exchange, Queue

    name = f"bench-amqp-{uuid.uuid4().hex[:12]}"
    with Connection(url) as conn:
        queue = Queue(name, Exchange(""), routing_key=name, durable=True)
        channel = conn.channel()
        queue(channel).declare()
        producer = conn.Producer(channel, serializer="json")
        publish = producer.publish
        payloads = [_payload(i) for i in range(n)]

        started, cpu = time.perf_counter(), time.process_time()
        for body in payloads:
            publish(body, routing_key=name)
        queue(channel).queue_declare(passive=True)  # one round trip: the broker has them
        publish_secs = time.perf_counter() - started
        publish_cpu = time.process_time() - cpu

        received = 0

        def on_message(body: Any, message: Any) -> None:
            nonlocal received
            message.ack()
            received += 1

        drain = conn.drain_events
        started, cpu = time.perf_counter(), time.process_time()
        with Consumer(channel, [queue], callbacks=[on_message], prefetch_count=prefetch,
                      accept=["json"]):
            while received < n:
                drain(timeout=30)
        consume_secs = time.perf_counter() - started
        consume_cpu = time.process_time() - cpu
        queue(channel).delete()
        channel.close()
    import kombu

    return _result("kombu", _kombu_version(kombu), n, publish_secs, consume_secs,
                   publish_cpu, consume_cpu)


def _result(impl: str, version: str, n: int, publish_secs: float, consume_secs: float,
            publish_cpu: float, consume_cpu: float) -> dict[str, Any]:
    return {"impl": impl, "version": version,
            "publish": n / publish_secs, "consume": n / consume_secs,
            "publish_cpu": publish_cpu / n * 1e6, "consume_cpu": consume_cpu / n * 1e6}


def _kombu_version(kombu: Any) -> str:
    from importlib import metadata

    for dist in ("kombu-core", "kombu"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return f"kombu {kombu.__version__}"


def run_pyamqp(url: str, n: int, prefetch: int) -> dict[str, Any]:
    import amqp

    parts = urlparse(url)
    vhost = parts.path[1:] if parts.path not in ("", "/") else "/"
    name = f"bench-pyamqp-{uuid.uuid4().hex[:12]}"
    conn = amqp.Connection(f"{parts.hostname or 'localhost'}:{parts.port or 5672}",
                           userid=parts.username or "guest",
                           password=parts.password or "guest", virtual_host=vhost)
    conn.connect()
    try:
        ch = conn.channel()
        ch.queue_declare(name, durable=True, auto_delete=False)
        publish = ch.basic_publish
        Message = amqp.Message
        dumps = json.dumps
        payloads = [_payload(i) for i in range(n)]

        started, cpu = time.perf_counter(), time.process_time()
        for body in payloads:
            msg = Message(dumps(body).encode("utf-8"), content_type="application/json",
                          content_encoding="utf-8", delivery_mode=2)
            publish(msg, exchange="", routing_key=name)
        ch.queue_declare(name, passive=True)
        publish_secs = time.perf_counter() - started
        publish_cpu = time.process_time() - cpu

        received = 0
        loads = json.loads
        ack = ch.basic_ack

        def on_message(msg: Any) -> None:
            nonlocal received
            loads(msg.body)
            ack(msg.delivery_tag)
            received += 1

        started, cpu = time.perf_counter(), time.process_time()
        ch.basic_qos(0, prefetch, False)
        tag = ch.basic_consume(name, callback=on_message)
        while received < n:
            conn.drain_events(timeout=30)
        ch.basic_cancel(tag)
        consume_secs = time.perf_counter() - started
        consume_cpu = time.process_time() - cpu
        ch.queue_delete(name)
        ch.close()
    finally:
        conn.close()
    return _result("pyamqp", f"amqp {amqp.__version__}", n, publish_secs, consume_secs,
                   publish_cpu, consume_cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("impl", choices=("kombu", "pyamqp"))
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672//")
    ns = parser.parse_args(argv)
    run = run_kombu if ns.impl == "kombu" else run_pyamqp
    print(json.dumps(run(ns.url, ns.n, ns.prefetch)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
