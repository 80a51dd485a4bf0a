"""kombu.aio on this transport: the same round trips as coroutines, on the native async
side or through the kernel's adapter; cancellation and shutdown take no message away."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from ...entity import Exchange, Queue
from ...exceptions import ContentDisallowed
from ..aiorun import run
from ..features import requires
from ..helpers import Kit

__all__ = ("AsyncChecks",)


def _aio() -> Any:
    import kombu.aio

    return kombu.aio


class AsyncChecks:
    kit_group = "asyncio"

    def test_aio_path_is_what_the_transport_states(self, kit: Kit) -> None:
        aio = _aio()
        conn = aio.Connection(kit.conn)
        native = bool(kit.conn.transport.implements.get("asyncio"))
        assert conn.path == (aio.NATIVE if native else aio.ADAPTER)

    @requires("asyncio")
    def test_aio_native_side_starts_no_thread(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()

        async def main() -> None:
            before = threading.active_count()
            async with aio.Connection(kit.conn) as conn:
                async with conn.SimpleQueue(queue) as simple:
                    await simple.put({"n": 1})
                    message = await simple.get(timeout=kit.timeout)
                    await message.ack()
                assert threading.active_count() == before, \
                    "a native async connection started a thread"

        run(main)

    def test_aio_publish_consume_round_trip(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, "rk")
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                bound: Any = queue(conn.default_channel)
                await bound.declare()
                producer = conn.Producer(exchange=exchange, routing_key="rk")
                await producer.publish({"n": 1}, headers={"h": "v"}, priority=3,
                                       expiration=60, compression="zlib")
                await producer.publish(b"raw", content_type="application/data",
                                       content_encoding="binary")
                await producer.publish("text", serializer="json", retry=True,
                                       retry_policy={"max_retries": 2})
                got = []
                async with conn.Consumer([queue]) as consumer:
                    async for message in consumer:
                        got.append(message)
                        await message.ack()
                        if len(got) == 3:
                            break
                # Priority orders differ between brokers: match by content, not order.
                first = next(m for m in got if m.content_type == "application/json"
                             and isinstance(m.payload, dict))
                second = next(m for m in got if m.content_type == "application/data")
                third = next(m for m in got if m.content_type == "application/json"
                             and isinstance(m.payload, str))
                assert isinstance(first, aio.Message)
                assert first.payload == {"n": 1} and first.headers.get("h") == "v"
                assert first.delivery_info.get("routing_key") == "rk"
                assert second.body == b"raw" and second.content_type == "application/data"
                assert third.payload == "text"
                assert first.acknowledged

        run(main)
        assert kit.consume(queue, 1, timeout=kit.quiet) == [], "acked messages came back"

    def test_aio_interoperates_with_the_blocking_api(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"from": "blocking"}, routing_key=queue.name)
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                simple = conn.SimpleQueue(queue)
                message = await simple.get(timeout=kit.timeout)
                assert message.payload == {"from": "blocking"}
                await message.ack()
                await conn.Producer().publish({"from": "aio"}, routing_key=queue.name)
                await simple.close()

        run(main)
        assert kit.bodies(queue, 1) == [{"from": "aio"}]

    def test_aio_declare_and_passive_declare(self, kit: Kit) -> None:
        exchange = kit.exchange("topic")
        queue = kit.queue(exchange, "a.#")
        missing = Queue(f"{queue.name}-missing")
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                channel = await conn.channel()
                bound = queue(channel)
                assert isinstance(bound, Queue) and isinstance(bound, aio.Queue)
                assert await bound.declare() == queue.name
                await Exchange(exchange.name, "topic")(channel).declare(passive=True)
                name, count, _ = await bound.queue_declare(passive=True)
                assert (name, count) == (queue.name, 0)
                with pytest.raises(conn.channel_errors):
                    await missing(channel).queue_declare(passive=True)

        run(main)

    def test_aio_reject_requeue_and_decode_errors(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                await producer.publish({"n": "again"})
                async with conn.Consumer([queue]) as consumer:
                    first = await consumer.__anext__()
                    await first.requeue()
                    again = await consumer.__anext__()
                    assert again.payload == {"n": "again"}
                    assert again.delivery_info.get("redelivered") is True
                    await again.reject()
                    with pytest.raises(aio.Message.MessageStateError):
                        await again.ack()
                await producer.publish({"n": "pickled"}, serializer="pickle")
                async with conn.Consumer([queue]) as consumer:
                    with pytest.raises(ContentDisallowed):
                        await consumer.__anext__()
                async with conn.Consumer([queue], accept=["json", "pickle"]) as consumer:
                    message = await consumer.__anext__()
                    assert message.payload == {"n": "pickled"}
                    await message.ack()

        run(main)
        assert kit.consume(queue, 1, timeout=kit.quiet) == []

    def test_aio_prefetch_is_honoured(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                for n in range(5):
                    await producer.publish({"n": n})
                async with conn.Consumer([queue], prefetch_count=2) as consumer:
                    held = [await consumer._next(kit.timeout) for _ in range(2)]
                    with pytest.raises(TimeoutError):
                        await consumer._next(kit.quiet)
                    await held[0].ack()
                    third = await consumer._next(kit.timeout)
                    for message in (held[1], third):
                        await message.ack()
                    rest = [await consumer._next(kit.timeout) for _ in range(2)]
                    for message in rest:
                        await message.ack()
                    got = [m.payload["n"] for m in (*held, third, *rest)]
                    assert sorted(got) == list(range(5))

        run(main)

    def test_aio_simple_queue(self, kit: Kit) -> None:
        name = f"{kit.queue().name}-simple"
        kit.track(Queue(name), Exchange(name))
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn, conn.SimpleQueue(name) as queue:
                for n in range(3):
                    await queue.put({"n": n})
                got = []
                for _ in range(3):
                    message = await queue.get(timeout=kit.timeout)
                    got.append(message.payload["n"])
                    await message.ack()
                assert got == [0, 1, 2]
                with pytest.raises(queue.Empty):
                    await queue.get(timeout=kit.quiet)
                with pytest.raises(queue.Empty):
                    await queue.get_nowait()

        run(main)

    def test_aio_cancelled_get_takes_no_message(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                await conn.declare(queue)
                simple = conn.SimpleQueue(queue)
                waiting = asyncio.ensure_future(simple.get(timeout=kit.timeout))
                await asyncio.sleep(0.05)
                waiting.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiting
                await conn.Producer().publish({"n": "kept"}, routing_key=queue.name)
                message = await simple.get(timeout=kit.timeout)
                assert message.payload == {"n": "kept"}
                await simple.close()  # not acked: it goes back

        run(main)
        assert kit.bodies(queue, 1) == [{"n": "kept"}], "the unacked message did not come back"

    def test_aio_consumer_cancelled_mid_stream(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()
        acked: list[int] = []

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                for n in range(10):
                    await producer.publish({"n": n})

                async def work() -> None:
                    async with conn.Consumer([queue], prefetch_count=4) as consumer:
                        async for message in consumer:
                            if len(acked) == 3:
                                await asyncio.sleep(3600)  # holding one, unacked
                            await message.ack()
                            acked.append(message.payload["n"])

                task = asyncio.ensure_future(work())
                while len(acked) < 3:
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.05)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        run(main)
        rest = sorted(m.decode()["n"] for m in kit.consume(queue, 7, linger=kit.quiet))
        assert rest == sorted(set(range(10)) - set(acked)), \
            f"after a cancel mid-stream, acked {acked}, then got back {rest}"

    def test_aio_close_wakes_every_waiter(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()

        async def main() -> None:
            conn = aio.Connection(kit.conn)
            await conn.connect()
            await conn.declare(queue)
            simple = conn.SimpleQueue(queue)
            consumer = conn.Consumer([queue])
            await consumer.consume()

            async def iterate() -> Any:
                async for message in consumer:
                    return message

            waiters = [asyncio.ensure_future(simple.get()),
                       asyncio.ensure_future(simple.get(timeout=60)),
                       asyncio.ensure_future(iterate())]
            await asyncio.sleep(0.05)
            await conn.close()
            results = await asyncio.wait_for(
                asyncio.gather(*waiters, return_exceptions=True), 10)
            for result in results:
                assert isinstance(result, conn.connection_errors), \
                    f"a waiter got {result!r} instead of a connection error"

        run(main)

    def test_aio_concurrent_publishers(self, kit: Kit) -> None:
        queue = kit.queue()
        aio = _aio()
        count = 200

        async def main() -> None:
            async with aio.Connection(kit.conn) as conn:
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                await asyncio.gather(*(producer.publish({"n": n}) for n in range(count)))

        run(main)
        got = sorted(b["n"] for b in kit.bodies(queue, count, timeout=kit.timeout * 4))
        assert got == list(range(count))
