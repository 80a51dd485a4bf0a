"""Exchanges and queues bound to an async channel: kombu's entities, declared with ``await``.

:class:`Exchange` and :class:`Queue` are subclasses of :class:`kombu.Exchange`
and :class:`kombu.Queue` with the same attributes, equality, hashing and
declaration cache; the methods that talk to the broker are coroutines.  A
plain kombu entity bound to an async channel (``queue(channel)``,
``queue.bind(channel)``) becomes one of these, so code can build its
entities once and use them in both calling styles.
"""

from __future__ import annotations

from copy import copy
from typing import Any

from ..entity import Exchange as _Exchange
from ..entity import Queue as _Queue
from ..entity import binding
from ..exceptions import NotBoundError
from ..serialization import prepare_accept_content

__all__ = ("Exchange", "Queue", "async_entity", "binding")


def async_entity(entity: Any, channel: Any = None) -> Any:
    """``entity`` as its async form (a copy), bound to ``channel`` if given."""
    if isinstance(entity, (Exchange, Queue)):
        return entity.bind(channel) if channel is not None else entity
    if isinstance(entity, _Queue):
        out: Any = Queue(**entity.as_dict())
        out.on_declared = entity.on_declared
    elif isinstance(entity, _Exchange):
        out = Exchange(**entity.as_dict())
    else:
        raise TypeError(f"expected a kombu Exchange or Queue, not {type(entity).__name__}: "
                        f"{entity!r}")
    return out.maybe_bind(channel) if channel is not None else out


def _channel(entity: Any, channel: Any) -> Any:
    channel = channel or entity._channel
    if channel is None:
        raise NotBoundError(
            f"Cannot use {entity!r}: it is not bound to a channel. Bind it first with "
            f"entity.bind(await connection.channel()), or use it through a kombu.aio "
            f"Producer, Consumer or Connection.declare().")
    return channel


class Exchange(_Exchange):
    """An exchange whose broker operations are coroutines."""

    def bind(self, channel: Any) -> Exchange:
        return copy(self).maybe_bind(channel)

    async def declare(self, nowait: bool = False,  # type: ignore[override]
                      passive: bool | None = None, channel: Any = None) -> Any:
        """Declare the exchange (the default exchange '' is never declared)."""
        if not self._can_declare():
            return None
        passive = self.passive if passive is None else passive
        return await _channel(self, channel).exchange_declare(
            exchange=self.name, type=self.type, durable=self.durable,
            auto_delete=self.auto_delete, arguments=self.arguments, nowait=nowait,
            passive=passive)

    async def delete(self, if_unused: bool = False,  # type: ignore[override]
                     nowait: bool = False) -> Any:
        """Delete the exchange on the broker."""
        return await _channel(self, None).exchange_delete(
            exchange=self.name, if_unused=if_unused, nowait=nowait)

    async def publish(self, message: Any, routing_key: str | None = None,  # type: ignore[override]
                      mandatory: bool = False, immediate: bool = False,
                      exchange: str | None = None) -> Any:
        """Publish a message built by :meth:`Message` (or a str body)."""
        if isinstance(message, str):
            message = self.Message(message)
        return await _channel(self, None).basic_publish(
            message, exchange=exchange or self.name, routing_key=routing_key or "",
            mandatory=mandatory, immediate=immediate)


class Queue(_Queue):
    """A queue whose broker operations are coroutines."""

    def bind(self, channel: Any) -> Queue:
        bound = copy(self).maybe_bind(channel)
        bound.on_declared = self.on_declared
        return bound

    def when_bound(self) -> None:
        if self.exchange is not None:
            self.exchange = async_entity(self.exchange, self.channel)

    async def declare(self, nowait: bool = False,  # type: ignore[override]
                      channel: Any = None) -> str:
        """Declare the exchange, the queue and its bindings; returns the queue's name."""
        if self.no_declare:
            return self.name
        channel = _channel(self, channel)
        if self.exchange:
            await async_entity(self.exchange).declare(nowait=nowait, channel=channel)
        await self.queue_declare(nowait=nowait, channel=channel)
        if self.exchange and self.exchange.name:
            await self.queue_bind(nowait=nowait, channel=channel)
        for b in self.bindings:
            if b.exchange is not None and b.exchange.name:
                await async_entity(b.exchange).declare(nowait=nowait, channel=channel)
            exchange = b.exchange.name if b.exchange is not None else ""
            await channel.queue_bind(queue=self.name, exchange=exchange,
                                     routing_key=b.routing_key, arguments=b.arguments)
        return self.name

    async def queue_declare(self, nowait: bool = False,  # type: ignore[override]
                            passive: bool = False, channel: Any = None) -> tuple[str, int, int]:
        """Declare only the queue: ``(name, message_count, consumer_count)``."""
        ret = await _channel(self, channel).queue_declare(
            queue=self.name, passive=passive, durable=self.durable, exclusive=self.exclusive,
            auto_delete=self.auto_delete, arguments=self._queue_arguments(), nowait=nowait)
        if not self.name:
            self.name = ret[0]
        if self.on_declared:
            self.on_declared(*ret)
        return ret  # type: ignore[no-any-return]

    async def queue_bind(self, nowait: bool = False,  # type: ignore[override]
                         channel: Any = None) -> Any:
        """Bind the queue to its exchange with its routing key."""
        exchange = self.exchange.name if self.exchange is not None else ""
        return await _channel(self, channel).queue_bind(
            queue=self.name, exchange=exchange, routing_key=self.routing_key,
            arguments=self.binding_arguments, nowait=nowait)

    async def bind_to(self, exchange: Any = "", routing_key: str = "",  # type: ignore[override]
                      arguments: dict[str, Any] | None = None, nowait: bool = False,
                      channel: Any = None) -> Any:
        if isinstance(exchange, _Exchange):
            exchange = exchange.name
        return await _channel(self, channel).queue_bind(
            queue=self.name, exchange=exchange, routing_key=routing_key, arguments=arguments,
            nowait=nowait)

    async def unbind_from(self, exchange: Any = "",  # type: ignore[override]
                          routing_key: str = "", arguments: dict[str, Any] | None = None,
                          nowait: bool = False, channel: Any = None) -> Any:
        if isinstance(exchange, _Exchange):
            exchange = exchange.name
        return await _channel(self, channel).queue_unbind(
            queue=self.name, exchange=exchange, routing_key=routing_key, arguments=arguments,
            nowait=nowait)

    async def queue_unbind(self, arguments: dict[str, Any] | None = None,  # type: ignore[override]
                           nowait: bool = False, channel: Any = None) -> Any:
        return await self.unbind_from(self.exchange, self.routing_key, arguments, nowait,
                                      channel)

    async def get(self, no_ack: bool | None = None,  # type: ignore[override]
                  accept: Any = None) -> Any:
        """One message (``basic_get``), or None when the queue is empty."""
        no_ack = self.no_ack if no_ack is None else no_ack
        message = await _channel(self, None).basic_get(queue=self.name, no_ack=bool(no_ack))
        if message is not None:
            if message.errors:
                message._reraise_error()
            message.accept = prepare_accept_content(accept)
        return message

    async def purge(self, nowait: bool = False) -> int:  # type: ignore[override]
        """Remove every ready message; returns how many."""
        return int(await _channel(self, None).queue_purge(queue=self.name, nowait=nowait) or 0)

    async def delete(self, if_unused: bool = False,  # type: ignore[override]
                     if_empty: bool = False, nowait: bool = False) -> Any:
        """Delete the queue on the broker."""
        return await _channel(self, None).queue_delete(
            queue=self.name, if_unused=if_unused, if_empty=if_empty, nowait=nowait)
