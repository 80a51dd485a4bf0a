"""One kombu.aio benchmark run: publish then consume COUNT small JSON messages with acks.

    python benchmarks/aio_workload.py CLIENT URL COUNT PREFETCH

CLIENT is ``kombu-aio`` (this repository's kombu.aio), ``kombu`` (this
repository's blocking API, for comparison) or ``aio-pika`` (run under the
benchmark's own virtualenv, where kombu is not installed).  Async clients
keep up to PREFETCH publishes in flight and consume with a prefetch of
PREFETCH, acking each message.  Prints one JSON line: publish and consume msgs/s.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid

BODY = {"id": 0, "task": "bench.add", "args": [1, 2], "kwargs": {}}


async def kombu_aio(url: str, count: int, prefetch: int) -> tuple[float, float, str]:
    from kombu import Exchange, Queue
    from kombu.aio import Connection

    name = f"bench-aio-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, "direct", durable=False), routing_key=name,
                  durable=False)
    async with Connection(url) as conn:
        await conn.declare(queue)
        producer = conn.Producer(exchange=queue.exchange, routing_key=name, auto_declare=False)
        publish = producer.publish
        start = time.perf_counter()
        for offset in range(0, count, prefetch):
            await asyncio.gather(*(publish(BODY) for _ in range(min(prefetch, count - offset))))
        published = time.perf_counter() - start
        got = 0
        start = time.perf_counter()
        async with conn.Consumer([queue], prefetch_count=prefetch, auto_declare=False) as c:
            async for message in c:
                await message.ack()
                got += 1
                if got == count:
                    break
        consumed = time.perf_counter() - start
        await queue.bind(conn.default_channel).delete()
        return count / published, count / consumed, conn.path


def kombu_blocking(url: str, count: int, prefetch: int) -> tuple[float, float, str]:
    from kombu import Connection, Consumer, Exchange, Producer, Queue

    name = f"bench-blk-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, "direct", durable=False), routing_key=name,
                  durable=False)
    with Connection(url) as conn:
        channel = conn.channel()
        queue(channel).declare()
        publish = Producer(channel, exchange=queue.exchange, routing_key=name,
                           auto_declare=False).publish
        start = time.perf_counter()
        for _ in range(count):
            publish(BODY)
        published = time.perf_counter() - start
        got = [0]

        def on_message(message: object) -> None:
            message.ack()  # type: ignore[attr-defined]
            got[0] += 1

        start = time.perf_counter()
        with Consumer(channel, [queue], on_message=on_message, prefetch_count=prefetch,
                      auto_declare=False):
            while got[0] < count:
                conn.drain_events(timeout=10)
        consumed = time.perf_counter() - start
        queue(channel).delete()
        return count / published, count / consumed, "blocking"


async def aio_pika(url: str, count: int, prefetch: int) -> tuple[float, float, str]:
    import aio_pika

    name = f"bench-pika-{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=prefetch)
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT,
                                                  durable=False)
        queue = await channel.declare_queue(name, durable=False)
        await queue.bind(exchange, routing_key=name)
        start = time.perf_counter()
        for offset in range(0, count, prefetch):
            await asyncio.gather(*(
                exchange.publish(aio_pika.Message(json.dumps(BODY).encode(),
                                                  content_type="application/json",
                                                  delivery_mode=2), routing_key=name)
                for _ in range(min(prefetch, count - offset))))
        published = time.perf_counter() - start
        got = 0
        start = time.perf_counter()
        async with queue.iterator() as iterator:
            async for message in iterator:
                json.loads(message.body)
                await message.ack()
                got += 1
                if got == count:
                    break
        consumed = time.perf_counter() - start
        await queue.delete()
        await exchange.delete()
        return count / published, count / consumed, "aio-pika"


def main(client: str, url: str, count: int, prefetch: int) -> dict[str, object]:
    if client == "kombu-aio":
        pub, con, path = asyncio.run(kombu_aio(url, count, prefetch))
    elif client == "kombu":
        pub, con, path = kombu_blocking(url, count, prefetch)
    elif client == "aio-pika":
        pub, con, path = asyncio.run(aio_pika(url, count, prefetch))
    else:
        raise SystemExit(f"unknown client {client!r}: kombu-aio, kombu or aio-pika")
    return {"client": client, "path": path, "count": count, "publish_per_s": pub,
            "consume_per_s": con}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
