"""Simple messaging: a ``queue.Queue``-like API over a broker queue.

:class:`SimpleQueue` is persistent (durable queue, persistent messages);
:class:`SimpleBuffer` is transient (auto-deleted queue, no acks needed).
The name given is used for the queue, the exchange and the routing key.
"""

from __future__ import annotations

from collections import deque
from queue import Empty
from time import monotonic
from typing import Any

from .entity import Exchange, Queue
from .messaging import Consumer, Producer

__all__ = ("SimpleBase", "SimpleBuffer", "SimpleQueue")


class SimpleBase:
    """Queue-like API over one ``consumer`` and one ``producer``."""

    Empty = Empty
    _consuming = False

    def __init__(
        self, channel: Any, producer: Producer, consumer: Consumer, no_ack: bool = False
    ) -> None:
        self.producer = producer
        self.consumer = consumer
        self.channel = consumer.channel if consumer.channel is not None else channel
        self.no_ack = no_ack
        self.queue = self.consumer.queues[0]
        self.buffer: deque[Any] = deque()
        self.consumer.register_callback(self._receive)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """The next message, waiting up to ``timeout`` seconds (None: forever).

        Raises :attr:`Empty` when none arrived in time (at once when not
        ``block``).  Ack it with ``message.ack()`` unless ``no_ack``.
        """
        if not block:
            return self.get_nowait()
        self._consume()
        deadline = None if timeout is None else monotonic() + timeout
        client = self.channel.connection.client
        while True:
            if self.buffer:
                return self.buffer.popleft()
            remaining = None if deadline is None else deadline - monotonic()
            if remaining is not None and remaining <= 0:
                raise self.Empty()
            try:
                client.drain_events(timeout=remaining)
            except TimeoutError:
                if not self.buffer:
                    raise self.Empty() from None

    def get_nowait(self) -> Any:
        """The next message if one is ready, else raise :attr:`Empty`."""
        if self.buffer:
            return self.buffer.popleft()
        message = self.queue.get(no_ack=self.no_ack, accept=self.consumer.accept)
        if not message:
            raise self.Empty()
        return message

    def put(
        self,
        message: Any,
        serializer: str | None = None,
        headers: dict[str, Any] | None = None,
        compression: str | None = None,
        routing_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Send ``message`` (any serializable object) to the queue."""
        self.producer.publish(
            message,
            serializer=serializer,
            routing_key=routing_key,
            headers=headers,
            compression=compression,
            **kwargs,
        )

    def clear(self) -> int:
        """Remove every ready message; returns how many were removed."""
        return self.consumer.purge()

    def qsize(self) -> int:
        """How many messages are ready in the queue."""
        _, size, _ = self.queue.queue_declare(passive=True)
        return int(size)

    def close(self) -> None:
        """Stop consuming (the channel is left open)."""
        self.consumer.cancel()
        self._consuming = False

    def _receive(self, message_data: Any, message: Any) -> None:
        self.buffer.append(message)

    def _consume(self) -> None:
        if not self._consuming:
            self.consumer.consume(no_ack=self.no_ack)
            self._consuming = True

    def __len__(self) -> int:
        """``len(q)`` is ``q.qsize()``."""
        return self.qsize()

    def __bool__(self) -> bool:
        return True

    def __enter__(self) -> SimpleBase:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class SimpleQueue(SimpleBase):
    """A persistent queue: durable, messages persist and must be acked.

    ``channel`` is a channel or a :class:`~kombu.Connection`; ``name`` a
    queue name or a :class:`~kombu.Queue`.
    """

    no_ack = False
    queue_opts: dict[str, Any] = {}
    queue_args: dict[str, Any] = {}
    exchange_opts: dict[str, Any] = {"type": "direct"}

    def __init__(
        self,
        channel: Any,
        name: Any,
        no_ack: bool | None = None,
        queue_opts: dict[str, Any] | None = None,
        queue_args: dict[str, Any] | None = None,
        exchange_opts: dict[str, Any] | None = None,
        serializer: str | None = None,
        compression: str | None = None,
        accept: Any = None,
        **kwargs: Any,
    ) -> None:
        queue_opts = {**self.queue_opts, **(queue_opts or {})}
        queue_args = {**self.queue_args, **(queue_args or {})}
        exchange_opts = {**self.exchange_opts, **(exchange_opts or {})}
        if no_ack is None:
            no_ack = self.no_ack
        if isinstance(name, Queue):
            queue = name
            exchange = queue.exchange
            routing_key = queue.routing_key
        else:
            exchange = Exchange(name, **exchange_opts)
            queue = Queue(name, exchange, name, queue_arguments=queue_args or None, **queue_opts)
            routing_key = name
        consumer = Consumer(channel, queue, accept=accept)
        producer = Producer(
            channel,
            exchange,
            serializer=serializer,
            routing_key=routing_key,
            compression=compression,
        )
        super().__init__(channel, producer, consumer, no_ack, **kwargs)


class SimpleBuffer(SimpleQueue):
    """A transient queue: auto-deleted, transient messages, no acks."""

    no_ack = True
    queue_opts = {"durable": False, "auto_delete": True}
    exchange_opts = {"durable": False, "delivery_mode": "transient", "auto_delete": True}
