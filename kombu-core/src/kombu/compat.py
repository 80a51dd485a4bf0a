"""The carrot compatibility layer, for porting code written for carrot.

:class:`Publisher` is a :class:`kombu.Producer` and :class:`Consumer` /
:class:`ConsumerSet` are :class:`kombu.Consumer` s that take carrot's
arguments (``exchange``/``queue`` names with ``exchange_type``,
``durable``, ``auto_delete``, ...) and offer carrot's methods (``send``,
``fetch``, ``wait``, ``iterqueue``, ``discard_all``, ...).  New code should
use :class:`kombu.Producer` and :class:`kombu.Consumer` directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

from . import messaging
from .entity import Exchange, Queue

__all__ = ("Consumer", "ConsumerSet", "Publisher", "entry_to_queue")

#: Build a :class:`~kombu.Queue` from a name and carrot/Celery-style options.
entry_to_queue = Queue.from_dict


def _iterconsume(connection: Any, consumer: Any, no_ack: bool | None = False,
                 limit: int | None = None) -> Iterator[Any]:
    """Start ``consumer`` and yield the result of each event drained (``limit`` of them)."""
    consumer.consume(no_ack=no_ack)
    for iteration in count(0):
        if limit and iteration >= limit:
            return
        yield connection.drain_events()


class Publisher(messaging.Producer):
    """A carrot publisher: a Producer for an exchange named by its options.

    ``exchange`` is a name (or an :class:`~kombu.Exchange`); the exchange is
    built from ``exchange_type``, ``routing_key``, ``durable`` and
    ``auto_delete`` and declared on creation.  ``channel`` overrides
    ``connection``.  Other keyword arguments go to :class:`kombu.Producer`.
    """

    exchange: Any = ""
    exchange_type = "direct"
    routing_key = ""
    durable = True
    auto_delete = False
    _closed = False

    def __init__(self, connection: Any, exchange: Any = None, routing_key: str | None = None,
                 exchange_type: str | None = None, durable: bool | None = None,
                 auto_delete: bool | None = None, channel: Any = None,
                 **kwargs: Any) -> None:
        if channel:
            connection = channel
        self.exchange = exchange or self.exchange
        self.exchange_type = exchange_type or self.exchange_type
        self.routing_key = routing_key or self.routing_key
        if durable is not None:
            self.durable = durable
        if auto_delete is not None:
            self.auto_delete = auto_delete
        if not isinstance(self.exchange, Exchange):
            self.exchange = Exchange(self.exchange, type=self.exchange_type,
                                     routing_key=self.routing_key, durable=self.durable,
                                     auto_delete=self.auto_delete)
        super().__init__(connection, self.exchange, **kwargs)

    def send(self, *args: Any, **kwargs: Any) -> Any:
        """carrot's name for :meth:`publish`."""
        return self.publish(*args, **kwargs)

    def close(self) -> None:
        super().close()
        self._closed = True

    def __enter__(self) -> Publisher:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()

    @property
    def backend(self) -> Any:
        """carrot's name for the channel."""
        return self.channel


class Consumer(messaging.Consumer):
    """A carrot consumer: one queue, bound to an exchange, on a channel of its own.

    The queue and its exchange are built from ``queue``, ``exchange``,
    ``routing_key``, ``exchange_type``, ``durable``, ``exclusive`` and
    ``auto_delete`` and declared on creation.  Other keyword arguments go to
    :class:`kombu.Consumer`.  Closing it closes its channel.
    """

    queue = ""
    exchange = ""
    routing_key = ""
    exchange_type = "direct"
    durable = True
    exclusive = False
    auto_delete = False
    _closed = False

    def __init__(self, connection: Any, queue: str | None = None, exchange: str | None = None,
                 routing_key: str | None = None, exchange_type: str | None = None,
                 durable: bool | None = None, exclusive: bool | None = None,
                 auto_delete: bool | None = None, **kwargs: Any) -> None:
        self.backend = connection.channel()
        if durable is not None:
            self.durable = durable
        if exclusive is not None:
            self.exclusive = exclusive
        if auto_delete is not None:
            self.auto_delete = auto_delete
        self.queue = queue or self.queue
        self.exchange = exchange or self.exchange
        self.exchange_type = exchange_type or self.exchange_type
        self.routing_key = routing_key or self.routing_key
        bound_to = Exchange(self.exchange, type=self.exchange_type,
                            routing_key=self.routing_key, durable=self.durable,
                            auto_delete=self.auto_delete)
        entity = Queue(self.queue, exchange=bound_to, routing_key=self.routing_key,
                       durable=self.durable, exclusive=self.exclusive,
                       auto_delete=self.auto_delete)
        super().__init__(self.backend, entity, **kwargs)

    def revive(self, channel: Any) -> None:
        self.backend = channel
        super().revive(channel)

    def close(self) -> None:  # type: ignore[override]
        """Stop consuming and close this consumer's channel."""
        self.cancel()
        self.backend.close()
        self._closed = True

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        return self.iterqueue(infinite=True)

    def fetch(self, no_ack: bool | None = None, enable_callbacks: bool = False) -> Any:
        """Poll the queue for one message (None if it is empty).

        With ``enable_callbacks`` the message is also passed to the callbacks.
        """
        if no_ack is None:
            no_ack = self.no_ack
        message = self.queues[0].get(no_ack, accept=self.accept)
        if message is not None and enable_callbacks:
            self.receive(message.payload, message)
        return message

    def process_next(self) -> Any:
        """Fetch one message and hand it to the callbacks; returns it (None if none)."""
        return self.fetch(enable_callbacks=True)

    def discard_all(self, filterfunc: Callable[[Any], bool] | None = None) -> int:
        """Delete the queue's ready messages; returns how many.

        With ``filterfunc`` only messages for which ``filterfunc(message)`` is
        true are deleted; the others are put back in the queue.
        """
        if filterfunc is None:
            return self.purge()
        discarded = 0
        kept = []
        try:
            while (message := self.fetch(no_ack=False)) is not None:
                if filterfunc(message):
                    message.ack()
                    discarded += 1
                else:
                    kept.append(message)
        finally:
            for message in kept:
                message.requeue()
        return discarded

    def iterconsume(self, limit: int | None = None, no_ack: bool | None = None) -> Iterator[Any]:
        """Consume, yielding once per event drained (forever, or ``limit`` times)."""
        return _iterconsume(self.connection, self, no_ack, limit)

    def wait(self, limit: int | None = None) -> list[Any]:
        """Consume ``limit`` events (forever if None), the callbacks handling each message."""
        return list(self.iterconsume(limit))

    def iterqueue(self, limit: int | None = None, infinite: bool = False) -> Iterator[Any]:
        """Yield fetched messages until the queue is empty (``infinite``: yield None and go on).

        ``limit`` stops after that many.
        """
        for fetched in count():
            if limit and fetched >= limit:
                return
            message = self.fetch()
            if message is None and not infinite:
                return
            yield message


class ConsumerSet(messaging.Consumer):
    """Consume from several carrot consumers' queues (or queue options) at once.

    ``from_dict`` maps queue names to carrot/Celery-style options;
    ``consumers`` are :class:`Consumer` s whose queues are added.  Without
    ``channel`` the set opens (and on close, closes) a channel of its own.
    """

    def __init__(self, connection: Any, from_dict: dict[str, dict[str, Any]] | None = None,
                 consumers: list[Any] | None = None, channel: Any = None,
                 **kwargs: Any) -> None:
        self._provided_channel = channel is not None
        self.backend = channel if channel is not None else connection.channel()
        queues: list[Queue] = []
        for consumer in consumers or ():
            queues.extend(consumer.queues)
        for name, options in (from_dict or {}).items():
            queues.append(Queue.from_dict(name, **options))
        super().__init__(self.backend, queues, **kwargs)

    def iterconsume(self, limit: int | None = None, no_ack: bool = False) -> Iterator[Any]:
        """Consume from every queue, yielding once per event drained."""
        return _iterconsume(self.connection, self, no_ack, limit)

    def discard_all(self) -> int:
        """Delete the ready messages of every queue; returns how many."""
        return self.purge()

    def add_consumer_from_dict(self, queue: str, **options: Any) -> Queue:
        """Add the queue ``queue`` built from carrot/Celery-style options."""
        return self.add_queue(Queue.from_dict(queue, **options))

    def add_consumer(self, consumer: Any) -> None:
        """Add every queue of a carrot ``consumer``."""
        for queue in consumer.queues:
            self.add_queue(queue)

    def revive(self, channel: Any) -> None:
        self.backend = channel
        super().revive(channel)

    def close(self) -> None:  # type: ignore[override]
        """Stop consuming; close the channel if the set opened it."""
        self.cancel()
        if not self._provided_channel:
            self.channel.close()
