"""The async Connection: kombu's Connection settings, connected on the running event loop."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from itertools import count
from typing import Any

from ..connection import Connection as BlockingConnection
from ..exceptions import ConnectionError as KombuConnectionError
from ..exceptions import OperationalError
from ..utils.url import maybe_sanitize_url
from .adapter import AdapterTransport
from .contract import async_transport_cls, path_of

__all__ = ("Connection",)

logger = logging.getLogger(__name__)


def _intervals(start: float, step: float, maximum: float | None) -> Iterator[float]:
    value = float(start) if maximum is None else min(float(start), maximum)
    while True:
        yield value
        value = value + step if maximum is None else min(value + step, maximum)


class Connection:
    """A broker connection for asyncio code; the URL and options are kombu's.

    ``async with Connection(url) as conn:`` connects (one attempt per
    alternate URL) and closes on exit; :meth:`ensure_connection` retries with
    kombu's retry policy.  ``hostname`` may also be a blocking
    :class:`kombu.Connection`, whose settings are used.
    """

    #: Marks the class for kombu.aio.messaging (which this module imports).
    is_aio_connection = True

    def __init__(self, hostname: Any = "localhost", *args: Any, **kwargs: Any) -> None:
        if isinstance(hostname, BlockingConnection):
            self.client = hostname.clone(**kwargs) if kwargs else hostname.clone()
        else:
            self.client = BlockingConnection(hostname, *args, **kwargs)
        #: Entities declared on this connection (cleared on reconnect).
        self.declared_entities: set[Any] = set()
        self._transport: Any = None
        self._default_channel: Any = None
        self._consumers: weakref.WeakSet[Any] = weakref.WeakSet()
        self._closed = False
        self._lock: asyncio.Lock | None = None
        self._lost: BaseException | None = None
        self._news: asyncio.Event | None = None

    # -- settings -----------------------------------------------------------

    @property
    def transport_cls(self) -> type:
        """The (blocking) transport class the URL names."""
        return self.client.get_transport_cls()

    @property
    def path(self) -> str:
        """``'native'`` (the transport's own async side) or ``'adapter'`` (a worker thread)."""
        return path_of(self.transport_cls)

    @property
    def transport(self) -> Any:
        """The async transport of the current connection (None before connecting)."""
        return self._transport

    def _new_transport(self) -> Any:
        native = async_transport_cls(self.transport_cls)
        transport = native(self.client) if native is not None else AdapterTransport(self.client)
        transport.on_lost = self._on_lost
        transport.owner = self
        return transport

    @property
    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """Errors that mean the connection is lost or closed."""
        transport = self._transport
        errors = tuple(transport.connection_errors) if transport is not None \
            else tuple(self.client.connection_errors)
        return (*errors, KombuConnectionError)

    @property
    def channel_errors(self) -> tuple[type[BaseException], ...]:
        transport = self._transport
        return tuple(transport.channel_errors) if transport is not None \
            else tuple(self.client.channel_errors)

    @property
    def recoverable_connection_errors(self) -> tuple[type[BaseException], ...]:
        """Errors after which reconnecting may help."""
        transport = self._transport
        errors = tuple(transport.recoverable_connection_errors) if transport is not None \
            else tuple(self.client.recoverable_connection_errors)
        return (*errors, KombuConnectionError)

    @property
    def connected(self) -> bool:
        transport = self._transport
        return transport is not None and bool(transport.connected)

    def as_uri(self, include_password: bool = False, mask: str = "**") -> str:
        return str(self.client.as_uri(include_password=include_password, mask=mask))

    def __repr__(self) -> str:
        return f"<kombu.aio.Connection: {self.as_uri()} ({self.path}) at {id(self):#x}>"

    # -- life cycle ---------------------------------------------------------

    async def connect(self) -> Connection:
        """Connect now: one attempt per alternate URL; the transport's error if all fail."""
        await self._ensure(max_retries=max(len(self.client.alt) - 1, 0),
                           reraise_as_library_errors=False)
        return self

    async def ensure_connection(self, errback: Callable[..., Any] | None = None,
                                max_retries: int | None = None, interval_start: float = 2,
                                interval_step: float = 2, interval_max: float = 30,
                                callback: Callable[[], Any] | None = None,
                                reraise_as_library_errors: bool = True,
                                timeout: float | None = None) -> Connection:
        """Connect (or reconnect after a loss), retrying on recoverable errors; returns self.

        The arguments are :meth:`kombu.Connection.ensure_connection`'s:
        ``max_retries`` None retries forever (within ``timeout`` seconds if
        given), sleeping ``interval_start`` seconds and ``interval_step`` more
        each time up to ``interval_max``; ``errback(exc, interval)`` hears of
        each failure and ``callback()`` is called between attempts.  Giving up
        raises :exc:`kombu.exceptions.OperationalError` (the transport's own
        error with ``reraise_as_library_errors=False``).  Consumers of this
        connection are revived on the new connection.
        """
        await self._ensure(errback, max_retries, interval_start, interval_step, interval_max,
                           callback, reraise_as_library_errors, timeout)
        return self

    async def _ensure(self, errback: Callable[..., Any] | None = None,
                      max_retries: int | None = None, interval_start: float = 2,
                      interval_step: float = 2, interval_max: float = 30,
                      callback: Callable[[], Any] | None = None,
                      reraise_as_library_errors: bool = True,
                      timeout: float | None = None) -> None:
        if self._closed:
            raise KombuConnectionError(f"{self!r} was closed: make a new Connection.")
        if self.connected:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self.connected:
                return
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout if timeout else None
            intervals = _intervals(interval_start, interval_step, interval_max)
            for retries in count():
                try:
                    await self._establish()
                    return
                except self.recoverable_connection_errors as exc:
                    if (max_retries is not None and retries >= max_retries) or \
                            (deadline is not None and loop.time() >= deadline):
                        if reraise_as_library_errors:
                            raise OperationalError(
                                f"{exc} ({maybe_sanitize_url(self.as_uri())})") from exc
                        raise
                    interval = next(intervals) if self.client.completes_cycle(retries) else 0
                    if errback is not None:
                        errback(exc, interval)
                    self.client.maybe_switch_next()
                    if deadline is not None:
                        interval = min(interval, max(deadline - loop.time(), 0.0))
                    if callback is not None:
                        callback()
                    if interval:
                        await asyncio.sleep(interval)

    async def _establish(self) -> None:
        old, self._transport = self._transport, None
        self._default_channel = None
        if old is not None:
            try:
                await old.close()
            except Exception:  # the old connection is gone: nothing to tell the broker
                logger.debug("kombu.aio: error closing a lost connection", exc_info=True)
        transport = self._new_transport()
        await transport.connect()
        try:
            self._default_channel = await transport.channel()
        except BaseException:
            await transport.close()
            raise
        self._transport = transport
        self.declared_entities.clear()
        self._lost = None
        for consumer in list(self._consumers):
            await consumer._reconnected(self._default_channel)

    def _on_lost(self, exc: BaseException) -> None:
        """The transport lost its connection: every waiter hears of it."""
        self._lost = exc
        logger.debug("kombu.aio: connection to %s lost: %r", self.as_uri(), exc)
        for consumer in list(self._consumers):
            consumer._fail(exc)
        self._notify()

    async def close(self) -> None:
        """Close the connection; waiters get a connection error, unacked messages go back."""
        if self._closed:
            return
        self._closed = True
        error = KombuConnectionError(f"{self!r} was closed")
        for consumer in list(self._consumers):
            consumer._fail(error, final=True)
        self._notify()
        transport, self._transport = self._transport, None
        self._default_channel = None
        self.declared_entities.clear()
        if transport is not None:
            await transport.close()

    release = close

    async def __aenter__(self) -> Connection:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    # -- channels -----------------------------------------------------------

    def _checked(self) -> Any:
        transport = self._transport
        if transport is None or not transport.connected:
            if self._closed:
                raise KombuConnectionError(f"{self!r} was closed: make a new Connection.")
            if self._lost is not None:
                raise KombuConnectionError(
                    f"the connection to {self.as_uri()} was lost ({self._lost!r}): "
                    f"call ensure_connection() to reconnect.")
            raise KombuConnectionError(
                f"{self!r} is not connected: use 'async with Connection(...)' or "
                f"'await connection.connect()' first.")
        return transport

    async def channel(self) -> Any:
        """A new channel of this connection."""
        return await self._checked().channel()

    @property
    def default_channel(self) -> Any:
        """The channel opened with the connection (Producers and Consumers use it by default)."""
        self._checked()
        return self._default_channel

    # -- helpers ------------------------------------------------------------

    async def maybe_declare(self, entity: Any, channel: Any = None) -> bool:
        """Declare ``entity`` unless this connection already did; True if it declared."""
        if entity.can_cache_declaration and entity in self.declared_entities:
            return False
        bound = (channel or self.default_channel).adopt_entity(entity)
        await bound.declare()
        if entity.can_cache_declaration:
            self.declared_entities.add(entity)
        return True

    async def declare(self, *entities: Any, channel: Any = None) -> None:
        """Declare ``entities`` (exchanges, queues with their bindings) now."""
        for entity in entities:
            await (channel or self.default_channel).adopt_entity(entity).declare()

    def ensure(self, obj: Any, fun: Callable[..., Awaitable[Any]],
               errback: Callable[..., Any] | None = None, max_retries: int | None = None,
               interval_start: float = 1, interval_step: float = 1, interval_max: float = 1,
               on_revive: Callable[[Any], Any] | None = None) -> Callable[..., Awaitable[Any]]:
        """Wrap coroutine function ``fun`` so it is retried after reconnecting.

        As :meth:`kombu.Connection.ensure`: on a recoverable connection error
        the connection is re-established and ``obj.revive(channel)`` called
        before the next attempt; ``max_retries`` bounds the attempts.
        """
        async def ensured(*args: Any, **kwargs: Any) -> Any:
            for retries in count():
                try:
                    return await fun(*args, **kwargs)
                except self.recoverable_connection_errors as exc:
                    if self._closed or (max_retries is not None and retries >= max_retries):
                        raise
                    logger.debug("kombu.aio ensure: %r, reconnecting", exc)
                    if errback is not None:
                        errback(exc, 0)
                    if self.connected and self._lost is None:
                        self._on_lost(exc)
                        await self._transport.close()
                    remaining = None if max_retries is None else max(max_retries - retries, 1)
                    await self.ensure_connection(errback, remaining, interval_start,
                                                 interval_step, interval_max,
                                                 reraise_as_library_errors=False)
                    channel = self.default_channel
                    if obj is not None:
                        obj.revive(channel)
                    if on_revive is not None:
                        on_revive(channel)
            raise AssertionError("unreachable")

        return ensured

    # -- consumers and events -----------------------------------------------

    def _register(self, consumer: Any) -> None:
        self._consumers.add(consumer)

    def _unregister(self, consumer: Any) -> None:
        self._consumers.discard(consumer)

    def _notify(self) -> None:
        news = self._news
        if news is not None:
            news.set()

    async def drain_events(self, timeout: float | None = None) -> None:
        """Deliver buffered messages to the callbacks of this connection's consumers.

        Waits for at least one message; raises :exc:`TimeoutError`
        (``socket.timeout``) when none came within ``timeout`` seconds.
        """
        async def once() -> None:
            while True:
                ready = [c for c in list(self._consumers) if c._ready_for_callbacks()]
                if ready:
                    for consumer in ready:
                        await consumer._run_callbacks()
                    return
                self._checked()
                if self._news is None:
                    self._news = asyncio.Event()
                self._news.clear()
                await self._news.wait()

        if timeout is None:
            await once()
            return
        try:
            await asyncio.wait_for(once(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no message within {timeout}s") from None

    # -- factories ----------------------------------------------------------

    def Producer(self, channel: Any = None, *args: Any, **kwargs: Any) -> Any:
        """A :class:`kombu.aio.Producer` on ``channel`` (default: this connection)."""
        from .messaging import Producer

        return Producer(channel or self, *args, **kwargs)

    def Consumer(self, queues: Any = None, channel: Any = None, *args: Any,
                 **kwargs: Any) -> Any:
        """A :class:`kombu.aio.Consumer` on ``channel`` (default: the default channel)."""
        from .messaging import Consumer

        return Consumer(channel or self, queues, *args, **kwargs)

    def SimpleQueue(self, name: Any, no_ack: bool | None = None, **kwargs: Any) -> Any:
        """A :class:`kombu.aio.SimpleQueue` named ``name`` on this connection."""
        from .simple import SimpleQueue

        return SimpleQueue(self, name, no_ack, **kwargs)

    def SimpleBuffer(self, name: Any, no_ack: bool | None = None, **kwargs: Any) -> Any:
        """A :class:`kombu.aio.SimpleBuffer` (transient, no acks) named ``name``."""
        from .simple import SimpleBuffer

        return SimpleBuffer(self, name, no_ack, **kwargs)
