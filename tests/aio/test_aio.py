"""kombu.aio on every transport: many publishers, the adapter never blocks the loop,
``import kombu`` stays free of asyncio.  Every coroutine runs in asyncio debug mode
and fails on a leaked task, socket or unretrieved error (kombu.testing.aiorun)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from typing import Any

from kombu import Connection as BlockingConnection
from kombu import Queue
from kombu.aio import Connection
from kombu.testing.aiorun import run
from kombu.transport import memory, register_transport, unregister_transport


def _queue() -> Queue:
    name = f"aio-test-{uuid.uuid4().hex[:12]}"
    return Queue(name, routing_key=name, durable=False)


def test_a_thousand_concurrent_publishers_on_one_connection(blocking: Any) -> None:
    queue = _queue()

    async def main() -> list[int]:
        async with Connection(blocking) as conn:
            await conn.declare(queue)
            producer = conn.Producer(routing_key=queue.name)
            await asyncio.gather(*(producer.publish({"n": n}) for n in range(1000)))
            got: list[int] = []
            async with conn.Consumer([queue], prefetch_count=200) as consumer:
                async for message in consumer:
                    got.append(message.payload["n"])
                    await message.ack()
                    if len(got) == 1000:
                        break
            await queue.bind(conn.default_channel).delete()
            return got

    got = run(main)
    assert sorted(got) == list(range(1000)), "each of the 1,000 messages exactly once"


def test_import_kombu_imports_no_asyncio() -> None:
    code = ("import sys, kombu, kombu.connection, kombu.messaging, kombu.simple; "
            "from kombu import Connection; Connection('memory://').connect(); "
            "print('asyncio' in sys.modules, 'kombu.aio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


class SlowChannel(memory.Channel):
    """A memory channel whose publish takes 0.3s (a slow broker, for the adapter)."""

    def basic_publish(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.3)
        super().basic_publish(*args, **kwargs)


class SlowTransport(memory.Transport):
    Channel = SlowChannel


def test_the_adapter_never_blocks_the_event_loop() -> None:
    register_transport("aio-slow-memory", SlowTransport)
    queue = _queue()
    try:
        async def main() -> float:
            gaps: list[float] = []
            stop = asyncio.Event()

            async def ticker() -> None:
                loop = asyncio.get_running_loop()
                last = loop.time()
                while not stop.is_set():
                    await asyncio.sleep(0.01)
                    now = loop.time()
                    gaps.append(now - last)
                    last = now

            async with Connection("aio-slow-memory://") as conn:
                assert conn.path == "adapter"
                tick = asyncio.ensure_future(ticker())
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                await asyncio.gather(*(producer.publish({"n": n}) for n in range(4)))
                stop.set()
                await tick
            return max(gaps)

        worst = run(main)
    finally:
        unregister_transport("aio-slow-memory")
    assert worst < 0.2, f"the event loop stalled {worst:.2f}s while the broker was slow"


def test_messages_published_with_either_api_are_one_model(blocking: Any) -> None:
    queue = _queue()
    blocking.SimpleQueue(queue).put({"from": "blocking"}, headers={"h": 1})

    async def main() -> Any:
        async with Connection(blocking) as conn:
            simple = conn.SimpleQueue(queue)
            message = await simple.get(timeout=10)
            await message.ack()
            await simple.put({"from": "aio"})
            await simple.close()
            return message

    message = run(main)
    from kombu import Message as BlockingMessage

    assert isinstance(message, BlockingMessage)
    assert message.payload == {"from": "blocking"} and message.headers["h"] == 1
    with BlockingConnection(blocking.as_uri(include_password=True),
                            transport_options=blocking.transport_options) as conn:
        simple = conn.SimpleQueue(queue)
        again = simple.get(timeout=10)
        assert again.payload == {"from": "aio"}
        again.ack()
        simple.close()


def test_basic_consume_on_a_connection_closed_meanwhile_is_a_connection_error(
        blocking: Any) -> None:
    """A consumer starting while close() runs gets a connection error, not AssertionError."""
    import pytest

    from kombu.exceptions import ConnectionError as KombuConnectionError

    async def main() -> None:
        conn = Connection(blocking)
        await conn.connect()
        channel = conn.default_channel
        if not hasattr(channel.transport, "_worker"):
            await conn.close()
            pytest.skip("a native asyncio transport (no adapter worker)")
        worker, channel.transport._worker = channel.transport._worker, None
        try:
            with pytest.raises(KombuConnectionError):
                await channel.basic_consume("q", True, lambda *a: None, "tag")
        finally:
            channel.transport._worker = worker
            await conn.close()

    run(main)
