"""SimpleQueue and SimpleBuffer for asyncio code: ``await q.put()``, ``await q.get()``."""

from __future__ import annotations

from queue import Empty
from typing import Any

from ..entity import Exchange as _Exchange
from ..entity import Queue as _Queue
from ..simple import SimpleBuffer as _BlockingBuffer
from ..simple import SimpleQueue as _BlockingQueue
from .messaging import Consumer, Producer

__all__ = ("SimpleBuffer", "SimpleQueue")


class SimpleQueue:
    """A persistent queue (durable, persistent messages that must be acked).

    ``name`` is a queue name (also used for the exchange and routing key) or
    a :class:`kombu.Queue`.  Cancelling a task that awaits :meth:`get` takes
    no message: it stays in the queue (or in this consumer's buffer) for the
    next ``get``, and goes back to the broker when the queue is closed.
    """

    Empty = Empty
    no_ack = _BlockingQueue.no_ack
    queue_opts: dict[str, Any] = _BlockingQueue.queue_opts
    queue_args: dict[str, Any] = _BlockingQueue.queue_args
    exchange_opts: dict[str, Any] = _BlockingQueue.exchange_opts

    def __init__(self, channel: Any, name: Any, no_ack: bool | None = None,
                 queue_opts: dict[str, Any] | None = None,
                 queue_args: dict[str, Any] | None = None,
                 exchange_opts: dict[str, Any] | None = None, serializer: str | None = None,
                 compression: str | None = None, accept: Any = None) -> None:
        queue_opts = {**self.queue_opts, **(queue_opts or {})}
        queue_args = {**self.queue_args, **(queue_args or {})}
        exchange_opts = {**self.exchange_opts, **(exchange_opts or {})}
        self.no_ack = self.no_ack if no_ack is None else no_ack
        if isinstance(name, _Queue):
            queue = name
            exchange: Any = queue.exchange
            routing_key = queue.routing_key
        else:
            exchange = _Exchange(name, **exchange_opts)
            queue = _Queue(name, exchange, name, queue_arguments=queue_args or None,
                           **queue_opts)
            routing_key = name
        self.consumer = Consumer(channel, queue, no_ack=self.no_ack, accept=accept)
        self.producer = Producer(channel, exchange, routing_key=routing_key,
                                 serializer=serializer, compression=compression)
        self.queue = self.consumer.queues[0]

    async def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next message, waiting up to ``timeout`` seconds (None: forever).

        Raises :attr:`Empty` when none came in time (at once without ``block``).
        Ack it with ``await message.ack()`` unless ``no_ack``.
        """
        if not block:
            return await self.get_nowait()
        try:
            return await self.consumer._next(timeout)
        except TimeoutError:
            raise self.Empty() from None

    async def get_nowait(self) -> Any:
        """The next message if one is ready, else raise :attr:`Empty`."""
        if self.consumer._buffer:
            return self.consumer._buffer.popleft()
        queue = self.queue.bind(self.consumer.channel)
        message = await queue.get(no_ack=self.no_ack, accept=self.consumer.accept)
        if message is None:
            raise self.Empty()
        return message

    async def put(self, message: Any, serializer: str | None = None,
                  headers: dict[str, Any] | None = None, compression: str | None = None,
                  routing_key: str | None = None, **kwargs: Any) -> None:
        """Send ``message`` (anything the serializer can encode) to the queue."""
        await self.producer.publish(message, serializer=serializer, routing_key=routing_key,
                                    headers=headers, compression=compression,
                                    declare=[self.queue], **kwargs)

    async def clear(self) -> int:
        """Remove every ready message; returns how many."""
        return await self.consumer.purge()

    async def qsize(self) -> int:
        """How many messages are ready in the queue."""
        _, size, _ = await self.queue.bind(self.consumer.channel).queue_declare(passive=True)
        return int(size)

    async def close(self) -> None:
        """Stop consuming; messages buffered and not taken go back to the queue."""
        await self.consumer.__aexit__(None, None, None)

    async def __aenter__(self) -> SimpleQueue:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()


class SimpleBuffer(SimpleQueue):
    """A transient queue: auto-deleted, transient messages, no acks."""

    no_ack = _BlockingBuffer.no_ack
    queue_opts = _BlockingBuffer.queue_opts
    exchange_opts = _BlockingBuffer.exchange_opts
