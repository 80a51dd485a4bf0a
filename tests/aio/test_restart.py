"""A broker that goes away and comes back: ``ensure_connection`` reconnects, consumers are
revived, unacked messages come back.  Redis: a redis-server of this test's own, restarted.
RabbitMQ: a TCP proxy this test runs cuts the connections (the shared broker stays up)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import require_service, unavailable

from kombu import Queue
from kombu.aio import Connection
from kombu.testing.aiorun import run

POLICY = {"max_retries": 40, "interval_start": 0.1, "interval_step": 0.1, "interval_max": 0.5}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server on a port of its own (append-only file: messages survive a restart)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _queue() -> Queue:
    name = f"aio-restart-{uuid.uuid4().hex[:10]}"
    return Queue(name, routing_key=name)


def test_redis_restart_with_ensure_connection(redis_server: RedisServer) -> None:
    queue = _queue()
    url = f"redis://127.0.0.1:{redis_server.port}/0"

    async def main() -> list[Any]:
        async with Connection(url, transport_options={"visibility_timeout": 1}) as conn:
            await conn.declare(queue)
            producer = conn.Producer(routing_key=queue.name)
            await producer.publish({"n": "before"})
            consumer = conn.Consumer([queue])
            await consumer.consume()
            held = await consumer._next(10)  # delivered, never acked
            assert held.payload == {"n": "before"}
            await asyncio.get_running_loop().run_in_executor(None, redis_server.stop)
            with pytest.raises(conn.connection_errors):
                await consumer._next(30)
            await asyncio.get_running_loop().run_in_executor(None, redis_server.start)
            await conn.ensure_connection(**POLICY)
            await producer.publish({"n": "after"}, retry=True, retry_policy=POLICY)
            got = []
            while len(got) < 2:
                message = await consumer._next(30)
                got.append(message)
                await message.ack()
            await consumer.cancel()
            return got

    got = run(main)
    assert sorted(m.payload["n"] for m in got) == ["after", "before"]
    assert next(m for m in got if m.payload["n"] == "before").delivery_info["redelivered"]


class Proxy:
    """A TCP proxy to RabbitMQ, on the test's loop; :meth:`cut` drops every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers |= {writer, up_writer}
        pipes = [asyncio.ensure_future(self._pipe(reader, up_writer)),
                 asyncio.ensure_future(self._pipe(up_reader, writer))]
        self.tasks.update(pipes)
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for w in (writer, up_writer):
            w.close()
        for pipe in pipes:
            pipe.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        self.tasks.difference_update(pipes)
        self.writers -= {writer, up_writer}

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    def cut(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()

    async def close(self) -> None:
        self.cut()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def test_rabbitmq_connection_cut_with_ensure_connection() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    queue = _queue()

    async def main() -> list[Any]:
        proxy = Proxy(("127.0.0.1", 5672))
        await proxy.start()
        try:
            url = f"amqp://guest:guest@127.0.0.1:{proxy.port}//"
            async with Connection(url) as conn:
                assert conn.path == "native"
                await conn.declare(queue)
                producer = conn.Producer(routing_key=queue.name)
                await producer.publish({"n": "before"})
                consumer = conn.Consumer([queue])
                await consumer.consume()
                held = await consumer._next(10)
                assert held.payload == {"n": "before"}
                proxy.cut()
                with pytest.raises(conn.connection_errors):
                    await consumer._next(30)
                await conn.ensure_connection(**POLICY)
                await producer.publish({"n": "after"}, retry=True, retry_policy=POLICY)
                got = []
                while len(got) < 2:
                    message = await consumer._next(30)
                    got.append(message)
                    await message.ack()
                await consumer.cancel()
                await queue.bind(conn.default_channel).delete()
                return got
        finally:
            await proxy.close()

    got = run(main)
    assert sorted(m.payload["n"] for m in got) == ["after", "before"]
    assert next(m for m in got if m.payload["n"] == "before").delivery_info["redelivered"]
