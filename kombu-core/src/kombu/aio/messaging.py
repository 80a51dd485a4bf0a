"""Producer and Consumer for asyncio code: kombu's arguments, serializers and errors."""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import count
from typing import Any

from ..entity import DELIVERY_MODES
from ..entity import Exchange as _Exchange
from ..entity import Queue as _Queue
from ..exceptions import ConnectionError as KombuConnectionError
from ..messaging import Producer as _BlockingProducer
from ..serialization import prepare_accept_content
from ..utils.functional import maybe_list
from .entity import Exchange, Queue, async_entity

__all__ = ("Consumer", "Producer")


def _owner(channel: Any) -> Any:
    """The :class:`kombu.aio.Connection` a channel belongs to."""
    return getattr(getattr(channel, "transport", None), "owner", None)


def _is_connection(obj: Any) -> bool:
    # A class marker, not an import: kombu.aio.connection imports this module.
    return bool(getattr(type(obj), "is_aio_connection", False))


async def _maybe_await(result: Any) -> Any:
    if inspect.isawaitable(result):
        return await result
    return result


class Producer:
    """Publishes messages; ``await producer.publish(body, ...)`` takes kombu's arguments.

    ``channel`` is an async channel or a :class:`kombu.aio.Connection` (whose
    default channel is used, also after a reconnect).
    """

    exchange: Exchange
    routing_key = ""
    serializer: str | None = None
    compression: str | None = None
    auto_declare = True
    on_return: Callable[..., Any] | None = None

    def __init__(self, channel: Any, exchange: Any = None, routing_key: str | None = None,
                 serializer: str | None = None, auto_declare: bool | None = None,
                 compression: str | None = None,
                 on_return: Callable[..., Any] | None = None) -> None:
        self._connection: Any = None
        self._channel: Any = None
        if isinstance(exchange, str) or exchange is None:
            exchange = _Exchange(exchange or "")
        self.exchange = async_entity(exchange)
        self.routing_key = routing_key or self.routing_key
        self.serializer = serializer or self.serializer
        self.compression = compression or self.compression
        self.on_return = on_return or self.on_return
        if auto_declare is not None:
            self.auto_declare = auto_declare
        self.revive(channel)

    def __repr__(self) -> str:
        return f"<kombu.aio.Producer: {self._channel or self._connection!r}>"

    def revive(self, channel: Any) -> None:
        """Rebind to ``channel`` (a Connection: its default channel, whatever it is then)."""
        if _is_connection(channel):
            self._connection, self._channel = channel, None
        else:
            self._channel = channel
            self._connection = _owner(channel)

    @property
    def channel(self) -> Any:
        return self._channel if self._channel is not None else self._connection.default_channel

    @property
    def connection(self) -> Any:
        return self._connection

    async def declare(self) -> None:
        """Declare the exchange (the default exchange is never declared)."""
        if self.exchange.name:
            await self.exchange.declare(channel=self.channel)

    async def maybe_declare(self, entity: Any, retry: bool = False,
                            **retry_policy: Any) -> bool:
        """Declare ``entity`` unless this connection already declared it."""
        if not entity:
            return False
        conn = self._connection
        if conn is None:
            await self.channel.adopt_entity(entity).declare()
            return True
        declare = conn.maybe_declare
        if retry:
            declare = conn.ensure(None, declare, **retry_policy)
        return bool(await declare(entity))

    async def publish(self, body: Any, routing_key: str | None = None,
                      delivery_mode: Any = None, mandatory: bool = False,
                      immediate: bool = False, priority: int = 0,
                      content_type: str | None = None, content_encoding: str | None = None,
                      serializer: str | None = None, headers: dict[str, Any] | None = None,
                      compression: str | None = None, exchange: Any = None,
                      retry: bool = False, retry_policy: dict[str, Any] | None = None,
                      declare: Sequence[Any] | None = None, expiration: float | None = None,
                      timeout: float | None = None, confirm_timeout: float | None = None,
                      **properties: Any) -> Any:
        """Publish ``body``, serialized with ``serializer`` (json by default).

        The arguments are :meth:`kombu.Producer.publish`'s: ``declare`` lists
        entities to declare first (cached per connection); ``retry`` and
        ``retry_policy`` (``max_retries``, ``interval_start``, ...) reconnect
        and publish again on connection errors; ``expiration`` is in seconds.
        When it returns the message was handed to the broker connection.
        """
        headers = {} if headers is None else headers
        retry_policy = {} if retry_policy is None else retry_policy
        routing_key = self.routing_key if routing_key is None else routing_key
        compression = self.compression if compression is None else compression
        exchange = exchange or self.exchange
        if isinstance(exchange, _Exchange):
            exchange_name = exchange.name
            delivery_mode = delivery_mode or exchange.delivery_mode
        else:
            exchange_name = exchange or ""
            delivery_mode = delivery_mode or self.exchange.delivery_mode
        if delivery_mode is not None and not isinstance(delivery_mode, int):
            try:
                delivery_mode = DELIVERY_MODES[delivery_mode]
            except KeyError:
                raise ValueError(f"Unknown delivery_mode {delivery_mode!r}: use 'persistent', "
                                 f"'transient', 1 or 2") from None
        properties["delivery_mode"] = delivery_mode or 2
        if expiration is not None:
            properties["expiration"] = str(int(expiration * 1000))
        body, content_type, content_encoding = _BlockingProducer._prepare(
            self, body, serializer, content_type, content_encoding,  # type: ignore[arg-type]
            compression, headers)
        entities = list(declare) if declare else []
        if self.auto_declare and self.exchange.name and self.exchange not in entities:
            entities.append(self.exchange)

        async def publish() -> Any:
            for entity in entities:
                await self.maybe_declare(entity)
            channel = self.channel
            message = channel.prepare_message(body, priority, content_type, content_encoding,
                                              headers, dict(properties))
            extra: dict[str, Any] = {}
            if timeout is not None:
                extra["timeout"] = timeout
            if confirm_timeout is not None:
                extra["confirm_timeout"] = confirm_timeout
            return await channel.basic_publish(message, exchange=exchange_name,
                                               routing_key=routing_key, mandatory=mandatory,
                                               immediate=immediate, **extra)

        if retry and self._connection is not None:
            return await self._connection.ensure(self, publish, **retry_policy)()
        return await publish()

    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


class Consumer:
    """Consumes from queues: ``async with`` it and ``async for message in consumer``.

    Messages are :class:`kombu.aio.Message` objects, decoded with ``accept``
    (json only unless it lists more); a body that cannot be decoded raises
    kombu's :exc:`~kombu.exceptions.ContentDisallowed` or
    :exc:`~kombu.exceptions.DecodeError` from the iteration (the message stays
    unacked) unless ``on_decode_error(message, exc)`` takes it.  With
    ``callbacks`` (or ``on_message``) the messages go to them instead, from
    :meth:`kombu.aio.Connection.drain_events`.  Messages buffered and not yet
    handed out when the consumer stops go back to their queues.
    """

    no_ack: bool | None = None
    auto_declare = True
    prefetch_count: int | None = None
    on_message: Callable[[Any], Any] | None = None
    on_decode_error: Callable[[Any, Exception], Any] | None = None

    def __init__(self, channel: Any, queues: Any = None, no_ack: bool | None = None,
                 auto_declare: bool | None = None,
                 callbacks: Iterable[Callable[[Any, Any], Any]] | None = None,
                 on_decode_error: Callable[[Any, Exception], Any] | None = None,
                 on_message: Callable[[Any], Any] | None = None,
                 accept: Iterable[str] | None = None, prefetch_count: int | None = None,
                 tag_prefix: str | None = None) -> None:
        self._connection: Any = None
        self._own_channel: Any = None
        self.queues: list[Queue] = [async_entity(_Queue(q) if isinstance(q, str) else q)
                                    for q in (maybe_list(queues) or [])]
        self.no_ack = self.no_ack if no_ack is None else no_ack
        self.callbacks = list(callbacks or [])
        self.on_message = on_message or self.on_message
        self.on_decode_error = on_decode_error or self.on_decode_error
        self.accept = prepare_accept_content(accept) if accept is not None else None
        self.prefetch_count = prefetch_count if prefetch_count is not None \
            else self.prefetch_count
        self.tag_prefix = tag_prefix or ""
        if auto_declare is not None:
            self.auto_declare = auto_declare
        self._tags = count(1)
        self._active_tags: dict[str, str] = {}
        self._buffer: deque[Any] = deque()
        #: Messages whose decode error went to the caller: unacked, given back on cancel.
        self._undecodable: list[Any] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._error: BaseException | None = None
        self._final = False
        self._consuming = False
        if _is_connection(channel):
            self._connection = channel
        else:
            self._own_channel = channel
            self._connection = _owner(channel)
        if self._connection is not None:
            self._connection._register(self)

    def __repr__(self) -> str:
        return f"<kombu.aio.Consumer: {[q.name for q in self.queues]}>"

    @property
    def channel(self) -> Any:
        if self._own_channel is not None:
            return self._own_channel
        return self._connection.default_channel

    @property
    def connection(self) -> Any:
        return self._connection

    # -- starting and stopping ----------------------------------------------

    async def declare(self) -> None:
        """Declare every queue (with its exchanges and bindings)."""
        channel = self.channel
        for i, queue in enumerate(self.queues):
            bound = queue.bind(channel)
            await bound.declare()
            self.queues[i] = bound

    async def qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        """Limit unacked messages to ``prefetch_count`` (0: no limit)."""
        self.prefetch_count = prefetch_count
        await self.channel.basic_qos(prefetch_size, prefetch_count, apply_global)

    async def consume(self, no_ack: bool | None = None) -> None:
        """Start consuming from every queue not consumed yet (declaring them first)."""
        if self._final:
            raise KombuConnectionError("the connection of this consumer was closed")
        self._error = None
        channel = self.channel
        if not self._active_tags:
            if self.auto_declare:
                await self.declare()
            if self.prefetch_count is not None:
                await channel.basic_qos(0, self.prefetch_count, False)
        no_ack = self.no_ack if no_ack is None else no_ack
        for queue in self.queues:
            if queue.name in self._active_tags:
                continue
            tag = f"{self.tag_prefix}{next(self._tags)}-{id(self):x}"
            self._active_tags[queue.name] = tag
            try:
                await channel.basic_consume(queue.name, bool(no_ack), self._deliver, tag,
                                            queue.consumer_arguments)
            except BaseException:
                self._active_tags.pop(queue.name, None)
                raise
        self._consuming = True

    async def cancel(self) -> None:
        """Stop consuming; buffered messages nobody took go back to their queues."""
        self._consuming = False
        tags, self._active_tags = list(self._active_tags.values()), {}
        try:
            channel = self.channel
        except KombuConnectionError:
            self._buffer.clear()
            return
        errors = self._errors()
        try:
            for tag in tags:
                await channel.basic_cancel(tag)
        except errors:
            pass
        await self._give_back()

    close = cancel

    async def _give_back(self) -> None:
        buffered, self._buffer = [*self._undecodable, *self._buffer], deque()
        self._undecodable = []
        if self.no_ack:
            return
        errors = self._errors()
        for message in buffered:
            if not message.acknowledged:
                try:
                    await message.requeue()
                except errors:
                    return  # the connection is gone: the broker gives them back itself

    def _errors(self) -> tuple[type[BaseException], ...]:
        conn = self._connection
        return tuple(conn.connection_errors) if conn is not None else (KombuConnectionError,)

    async def __aenter__(self) -> Consumer:
        await self.consume()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.cancel()
        if self._connection is not None:
            self._connection._unregister(self)

    async def _reconnected(self, channel: Any) -> None:
        """The connection was re-established: consume again on its new default channel."""
        if self._own_channel is not None:
            self._own_channel = channel
        self._buffer.clear()  # their deliveries belonged to the lost connection
        was_consuming, self._active_tags = self._consuming, {}
        self._error = None
        if was_consuming:
            await self.consume()

    def revive(self, channel: Any) -> None:
        """Use ``channel`` from now on (call :meth:`consume` to start on it)."""
        self._own_channel = channel
        self._active_tags = {}

    # -- queues ---------------------------------------------------------------

    async def add_queue(self, queue: Any) -> Queue:
        """Add a queue (declared if ``auto_declare``); call :meth:`consume` to start on it."""
        bound = async_entity(_Queue(queue) if isinstance(queue, str) else queue, self.channel)
        if self.auto_declare:
            await bound.declare()
        self.queues.append(bound)
        return bound  # type: ignore[no-any-return]

    async def cancel_by_queue(self, queue: Any) -> None:
        """Stop consuming from one queue (a name or a Queue)."""
        name = queue.name if isinstance(queue, _Queue) else queue
        tag = self._active_tags.pop(name, None)
        if tag is not None:
            await self.channel.basic_cancel(tag)
        self.queues = [q for q in self.queues if q.name != name]

    def consuming_from(self, queue: Any) -> bool:
        name = queue.name if isinstance(queue, _Queue) else queue
        return name in self._active_tags

    async def purge(self) -> int:
        """Remove the ready messages of every queue; returns how many."""
        channel = self.channel
        return sum([await q.bind(channel).purge() for q in self.queues])

    def register_callback(self, callback: Callable[[Any, Any], Any]) -> None:
        self.callbacks.append(callback)

    # -- delivery -------------------------------------------------------------

    def _deliver(self, message: Any) -> None:
        """Called by the transport, on the loop, for each message."""
        if self.accept is not None:
            message.accept = self.accept
        self._buffer.append(message)
        self._wake()
        conn = self._connection
        if conn is not None and (self.callbacks or self.on_message):
            conn._notify()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _fail(self, exc: BaseException, final: bool = False) -> None:
        """The connection was lost (or closed, ``final``): every waiter gets ``exc``."""
        self._error = exc
        self._final = self._final or final
        self._consuming = self._consuming and not final
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)
                waiter.exception()  # the waiter's task raises it; never "unretrieved"

    async def _next(self, timeout: float | None = None) -> Any:
        """The next buffered message, waiting for one (no message is ever half-taken)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            if self._buffer:
                return self._buffer.popleft()
            if self._error is not None:
                raise self._error
            if not self._consuming:
                await self.consume()
                continue
            waiter = loop.create_future()
            self._waiters.append(waiter)
            if deadline is None:
                await waiter
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError()
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                if not self._buffer:
                    raise TimeoutError() from None

    def __aiter__(self) -> Consumer:
        return self

    async def __anext__(self) -> Any:
        while True:
            message = await self._next()
            try:
                if message.errors:
                    message._reraise_error()
                message.decode()
            except Exception as exc:
                if self.on_decode_error is None:
                    self._undecodable.append(message)
                    raise
                await _maybe_await(self.on_decode_error(message, exc))
                continue
            return message

    def _ready_for_callbacks(self) -> bool:
        return bool(self._buffer) and bool(self.callbacks or self.on_message)

    async def _run_callbacks(self) -> None:
        """Hand every buffered message to ``on_message`` or the callbacks (as kombu does)."""
        while self._buffer:
            message = self._buffer.popleft()
            try:
                if message.errors:
                    message._reraise_error()
                decoded = None if self.on_message else message.decode()
            except Exception as exc:
                if self.on_decode_error is None:
                    self._undecodable.append(message)
                    raise
                await _maybe_await(self.on_decode_error(message, exc))
                continue
            if self.on_message is not None:
                await _maybe_await(self.on_message(message))
                continue
            for callback in self.callbacks:
                await _maybe_await(callback(decoded, message))
