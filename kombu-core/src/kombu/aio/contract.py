"""The async side of the transport contract, and how :mod:`kombu.aio` picks a path.

A transport that speaks to its broker over non-blocking sockets on the
running event loop states ``implements.asyncio = True`` and names its
:class:`AsyncTransport` class in ``Transport.AsyncTransport`` (a class, or a
``"module:Class"`` string imported on first use, so the blocking side never
imports asyncio machinery)::

    class Transport(virtual.Transport):
        implements = virtual.Transport.implements.extend(asyncio=True)
        AsyncTransport = "my_transport.aio:AsyncTransport"

Every other transport, built in or a third party's, goes through the kernel's
adapter (:mod:`kombu.aio.adapter`): the blocking transport runs in a worker
thread of its own and the event loop never waits on it.  Either way the
Producer, Consumer, SimpleQueue, entities and messages above are the same.

An :class:`AsyncChannel` speaks the blocking channel's AMQP vocabulary as
coroutines.  Deliveries are pushed: ``basic_consume`` registers a plain
callback that the transport calls *on the event loop*, once per message
(a :class:`kombu.aio.Message` whose channel is the async channel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ..utils.imports import symbol_by_name

__all__ = ("NATIVE", "ADAPTER", "AsyncChannel", "AsyncTransport", "async_transport_cls", "path_of")

#: The two paths a connection can take (the kit reports which one a transport uses).
NATIVE = "native"
ADAPTER = "adapter"

#: ``callback(message)``: called on the event loop for each delivery.
DeliveryCallback = Callable[[Any], None]


@runtime_checkable
class AsyncChannel(Protocol):
    """One channel of an async connection."""

    channel_id: Any
    #: The :class:`AsyncTransport` this channel belongs to.
    transport: Any
    #: Consumer tags whose messages need no acknowledgement.
    no_ack_consumers: set[str]

    @property
    def is_open(self) -> bool: ...

    def adopt_entity(self, entity: Any) -> Any:
        """``entity`` bound to this channel in its async form:
        ``kombu.aio.entity.async_entity(entity, self)``."""

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None, content_encoding: str | None = None,
                        headers: dict[str, Any] | None = None,
                        properties: dict[str, Any] | None = None) -> Any:
        """What :meth:`basic_publish` sends (no I/O)."""

    async def basic_publish(self, message: Any, exchange: str = "", routing_key: str = "",
                            mandatory: bool = False, immediate: bool = False,
                            **kwargs: Any) -> Any:
        """Send ``message``; when it returns the message is handed to the broker connection."""

    async def exchange_declare(self, exchange: str, type: str = "direct", durable: bool = False,
                               auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                               nowait: bool = False, passive: bool = False) -> Any: ...

    async def exchange_delete(self, exchange: str, if_unused: bool = False,
                              nowait: bool = False) -> Any: ...

    async def queue_declare(self, queue: str = "", passive: bool = False,
                            durable: bool = False, exclusive: bool = False,
                            auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                            nowait: bool = False) -> tuple[str, int, int]:
        """``(name, message_count, consumer_count)``."""

    async def queue_bind(self, queue: str, exchange: str = "", routing_key: str = "",
                         arguments: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        ...

    async def queue_unbind(self, queue: str, exchange: str = "", routing_key: str = "",
                           arguments: dict[str, Any] | None = None,
                           nowait: bool = False) -> Any: ...

    async def queue_purge(self, queue: str, nowait: bool = False) -> int: ...

    async def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                           nowait: bool = False) -> int: ...

    async def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                        apply_global: bool = False) -> None: ...

    async def basic_consume(self, queue: str, no_ack: bool, callback: DeliveryCallback,
                            consumer_tag: str, arguments: dict[str, Any] | None = None) -> str:
        """Start delivering ``queue``'s messages to ``callback``; returns the consumer tag."""

    async def basic_cancel(self, consumer_tag: str) -> None:
        """Stop a consumer; what the transport prefetched for it goes back to its queue."""

    async def basic_get(self, queue: str, no_ack: bool = False) -> Any:
        """One message of ``queue`` (a :class:`kombu.aio.Message`), or None if it is empty."""

    async def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None: ...

    async def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None: ...

    async def close(self) -> None:
        """Close the channel: its unacknowledged messages go back to their queues."""


@runtime_checkable
class AsyncTransport(Protocol):
    """One async connection to a broker, built as ``AsyncTransport(client)``.

    ``client`` is the blocking :class:`kombu.Connection` that holds the
    settings (URL, credentials, ``transport_options``, TLS, timeouts).
    ``on_lost(exc)`` is set by :class:`kombu.aio.Connection` before
    :meth:`connect` and must be called (on the loop) when the connection
    fails on its own.
    """

    #: :data:`NATIVE` or :data:`ADAPTER`.
    path: str
    connection_errors: tuple[type[BaseException], ...]
    channel_errors: tuple[type[BaseException], ...]
    recoverable_connection_errors: tuple[type[BaseException], ...]
    on_lost: Callable[[BaseException], None] | None
    #: The :class:`kombu.aio.Connection` it serves (set with ``on_lost``).
    owner: Any

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None:
        """Connect (one attempt); raises one of :attr:`connection_errors` on failure."""

    async def channel(self) -> AsyncChannel: ...

    async def close(self) -> None:
        """Close every channel and the connection; idempotent."""


def async_transport_cls(transport_cls: type) -> type | None:
    """The native async transport class ``transport_cls`` states, or None (adapter)."""
    implements = getattr(transport_cls, "implements", None) or {}
    if not implements.get("asyncio"):
        return None
    target = getattr(transport_cls, "AsyncTransport", None)
    if target is None:
        raise TypeError(
            f"{transport_cls.__module__}.{transport_cls.__qualname__} states "
            f"implements.asyncio=True but has no AsyncTransport: set "
            f"Transport.AsyncTransport to its kombu.aio.contract.AsyncTransport class "
            f"(or 'module:Class'), or drop asyncio from implements to use the adapter.")
    cls = symbol_by_name(target) if isinstance(target, str) else target
    return cls  # type: ignore[no-any-return]


def path_of(transport_cls: type) -> str:
    """Which path :mod:`kombu.aio` takes for ``transport_cls``: native or adapter."""
    implements = getattr(transport_cls, "implements", None) or {}
    return NATIVE if implements.get("asyncio") else ADAPTER
