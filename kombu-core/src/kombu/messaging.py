"""Producer and Consumer: sending and receiving messages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import count
from typing import Any

from .abstract import _ChannelPromise
from .batching import DEFAULT_BATCH_SIZE, PublishBatch, batch_for, supports_batch_publish
from .compression import compress
from .declarations import declared_entities, maybe_declare
from .entity import DELIVERY_MODES, Exchange, Queue
from .exceptions import ContentDisallowed
from .serialization import dumps, prepare_accept_content
from .utils.functional import dictfilter, maybe_list

__all__ = ("Consumer", "Producer")


def _is_connection(obj: Any) -> bool:
    # Look on the type: the instance's default_channel property would connect.
    return hasattr(type(obj), "default_channel") and hasattr(type(obj), "transport")


class Producer:
    """Publishes messages to an exchange.

    ``channel`` may be a channel or a :class:`~kombu.Connection` (whose
    default channel is then used).  ``exchange`` defaults to the default
    exchange (``''``), where the routing key names the queue.
    """

    exchange: Exchange | None = None
    routing_key = ""
    serializer: str | None = None
    compression: str | None = None
    auto_declare = True
    on_return: Callable[..., Any] | None = None
    __connection__: Any = None
    #: Open publish batches, per thread (see :meth:`batch`); None until one is opened.
    _batches: Any = None

    def __init__(self, channel: Any, exchange: Any = None, routing_key: str | None = None,
                 serializer: str | None = None, auto_declare: bool | None = None,
                 compression: str | None = None,
                 on_return: Callable[..., Any] | None = None) -> None:
        self._channel: Any = channel
        self.exchange = exchange
        self.routing_key = routing_key or self.routing_key
        self.serializer = serializer or self.serializer
        self.compression = compression or self.compression
        self.on_return = on_return or self.on_return
        self._channel_promise: Any = None
        if self.exchange is None:
            self.exchange = Exchange("")
        elif isinstance(self.exchange, str):
            self.exchange = Exchange(self.exchange)
        if auto_declare is not None:
            self.auto_declare = auto_declare
        if self._channel:
            self.revive(self._channel)

    def __repr__(self) -> str:
        return f"<Producer: {self._channel!r}>"

    def __reduce__(self) -> Any:
        return self.__class__, self.__reduce_args__()

    def __reduce_args__(self) -> tuple[Any, ...]:
        return (None, self.exchange, self.routing_key, self.serializer, self.auto_declare,
                self.compression)

    def declare(self) -> None:
        """Declare the exchange (the default exchange is never declared)."""
        if self.exchange is not None and self.exchange.name:
            self.exchange.declare()

    def maybe_declare(self, entity: Any, retry: bool = False, **retry_policy: Any) -> bool:
        """Declare ``entity`` unless this connection already declared it."""
        if entity:
            return maybe_declare(entity, self.channel, retry, **retry_policy)
        return False

    def publish(self, body: Any, routing_key: str | None = None, delivery_mode: Any = None,
                mandatory: bool = False, immediate: bool = False, priority: int = 0,
                content_type: str | None = None, content_encoding: str | None = None,
                serializer: str | None = None, headers: dict[str, Any] | None = None,
                compression: str | None = None, exchange: Any = None, retry: bool = False,
                retry_policy: dict[str, Any] | None = None,
                declare: Sequence[Any] | None = None, expiration: float | None = None,
                timeout: float | None = None, confirm_timeout: float | None = None,
                **properties: Any) -> Any:
        """Publish ``body`` (serialized with ``serializer``, json by default).

        ``declare`` lists entities to declare first (cached per connection);
        ``retry``/``retry_policy`` retry the publish (and declarations) on
        connection errors, reconnecting as needed.  ``expiration`` is in
        seconds.  Raw bytes/str bodies are sent as they are when
        ``content_type`` is given.
        """
        headers = {} if headers is None else headers
        retry_policy = {} if retry_policy is None else retry_policy
        routing_key = self.routing_key if routing_key is None else routing_key
        compression = self.compression if compression is None else compression
        exchange = exchange or self.exchange
        if isinstance(exchange, Exchange):
            exchange_name = exchange.name
            delivery_mode = delivery_mode or exchange.delivery_mode
        else:
            exchange_name = exchange or ""
            delivery_mode = delivery_mode or self.exchange.delivery_mode  # type: ignore[union-attr]
        if delivery_mode is not None and not isinstance(delivery_mode, int):
            try:
                delivery_mode = DELIVERY_MODES[delivery_mode]
            except KeyError:
                raise ValueError(
                    f"Unknown delivery_mode {delivery_mode!r}: use 'persistent', "
                    f"'transient', 1 or 2") from None
        properties["delivery_mode"] = delivery_mode or 2
        if expiration is not None:
            properties["expiration"] = str(int(expiration * 1000))

        body, content_type, content_encoding = self._prepare(
            body, serializer, content_type, content_encoding, compression, headers)

        declare = list(declare) if declare else []
        if self.auto_declare and self.exchange is not None and self.exchange.name \
                and self.exchange not in declare:
            declare.append(self.exchange)

        publish = self._publish
        if retry:
            publish = self.connection.ensure(self, publish, **retry_policy)
        return publish(body, priority, content_type, content_encoding, headers, properties,
                       routing_key, mandatory, immediate, exchange_name, declare, timeout,
                       confirm_timeout, retry, retry_policy)

    def _publish(self, body: Any, priority: int, content_type: str | None,
                 content_encoding: str | None, headers: dict[str, Any],
                 properties: dict[str, Any], routing_key: str, mandatory: bool,
                 immediate: bool, exchange: str, declare: list[Any],
                 timeout: float | None = None, confirm_timeout: float | None = None,
                 retry: bool = False, retry_policy: dict[str, Any] | None = None) -> Any:
        channel = self.channel
        message = channel.prepare_message(body, priority, content_type, content_encoding,
                                          headers, properties)
        if declare:
            declared = declared_entities(channel)
            for entity in declare:
                # Fast path: already declared on this connection (the cache is
                # cleared when the connection is re-established).
                if declared is not None and entity.can_cache_declaration \
                        and entity in declared:
                    continue
                self.maybe_declare(entity, retry=retry, **(retry_policy or {}))
        if self._batches is not None:
            batch = batch_for(self)
            if batch is not None:
                extra = dictfilter({"timeout": timeout, "confirm_timeout": confirm_timeout})
                return batch.publish(channel, message, exchange=exchange,
                                     routing_key=routing_key, mandatory=mandatory,
                                     immediate=immediate, **extra)
        if timeout is None and confirm_timeout is None:
            return channel.basic_publish(message, exchange=exchange, routing_key=routing_key,
                                         mandatory=mandatory, immediate=immediate)
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = timeout
        if confirm_timeout is not None:
            kwargs["confirm_timeout"] = confirm_timeout
        return channel.basic_publish(message, exchange=exchange, routing_key=routing_key,
                                     mandatory=mandatory, immediate=immediate, **kwargs)

    def batch(self, max_size: int = DEFAULT_BATCH_SIZE) -> PublishBatch:
        """Group this thread's :meth:`publish` calls into transport-owned batches.

        ``with producer.batch(): ...`` flushes on a normal exit and discards
        what was not yet flushed on an exception; ``max_size`` operations
        are buffered before an automatic flush.  Transports that cannot
        batch publish each message at once (see :mod:`kombu.batching`).
        """
        return PublishBatch(self, max_size)

    @property
    def supports_batch_publish(self) -> bool:
        """Whether the transport (and channel) can defer batched publishes."""
        return supports_batch_publish(self)

    @property
    def channel(self) -> Any:
        channel = self._channel
        if isinstance(channel, _ChannelPromise):
            channel = self._channel = channel()
            assert self.exchange is not None
            self.exchange.revive(channel)
            if self.on_return:
                events = getattr(channel, "events", None)
                if events is not None:
                    events["basic_return"].add(self.on_return)
        return channel

    @channel.setter
    def channel(self, channel: Any) -> None:
        self._channel = channel

    def revive(self, channel: Any) -> None:
        """Rebind to ``channel`` (after a reconnect)."""
        if _is_connection(channel):
            self.__connection__ = channel
            channel = _ChannelPromise(lambda: self.__connection__.default_channel)
        if isinstance(channel, _ChannelPromise):
            self._channel = channel
            assert self.exchange is not None
            self.exchange = self.exchange(channel)
        else:
            self._channel = channel
            if self.on_return:
                events = getattr(channel, "events", None)
                if events is not None:
                    events["basic_return"].add(self.on_return)
            assert self.exchange is not None
            self.exchange = self.exchange(channel)

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        conn = self.__connection__
        if exc_type is not None and getattr(conn, "_pool", None) is not None:
            conn.close()  # a pooled connection that raised goes back closed
        self.release()

    def release(self) -> None:
        """Nothing to free for a plain producer; pooled producers override this."""

    close = release

    def _prepare(self, body: Any, serializer: str | None = None,
                 content_type: str | None = None, content_encoding: str | None = None,
                 compression: str | None = None,
                 headers: dict[str, Any] | None = None) -> tuple[Any, str | None, str | None]:
        if not content_type:
            content_type, content_encoding, body = dumps(body, serializer or self.serializer)
        elif isinstance(body, str):
            if not content_encoding:
                content_encoding = "utf-8"
            body = body.encode(content_encoding)
        elif not content_encoding:
            content_encoding = "binary"
        if compression:
            body, ctype = compress(body, compression)
            if headers is not None:
                headers["compression"] = ctype
        return body, content_type, content_encoding

    @property
    def connection(self) -> Any:
        try:
            return self.__connection__ or self.channel.connection.client
        except AttributeError:
            return None


class Consumer:
    """Consumes messages from one or more queues.

    Each message is decoded (json only unless ``accept`` lists more) and
    passed to every callback as ``callback(body, message)``; with
    ``on_message`` the raw message is passed instead and nothing is decoded.
    A message that fails to decode is never dropped: ``on_decode_error``
    decides, and without one the error propagates and the message stays
    unacked, to be redelivered.
    """

    ContentDisallowed = ContentDisallowed

    channel: Any = None
    queues: list[Queue]
    no_ack: bool | None = None
    auto_declare = True
    callbacks: list[Callable[[Any, Any], Any]]
    on_message: Callable[[Any], Any] | None = None
    on_decode_error: Callable[[Any, Exception], Any] | None = None
    accept: set[str] | None = None
    prefetch_count: int | None = None
    tag_prefix: str | None = None
    __connection__: Any = None

    def __init__(self, channel: Any, queues: Any = None, no_ack: bool | None = None,
                 auto_declare: bool | None = None,
                 callbacks: Iterable[Callable[[Any, Any], Any]] | None = None,
                 on_decode_error: Callable[[Any, Exception], Any] | None = None,
                 on_message: Callable[[Any], Any] | None = None,
                 accept: Iterable[str] | None = None, prefetch_count: int | None = None,
                 tag_prefix: str | None = None) -> None:
        self.channel = channel
        self.queues = [Queue(q) if isinstance(q, str) else q
                       for q in (maybe_list(queues) or [])]
        self.no_ack = self.no_ack if no_ack is None else no_ack
        self.callbacks = list(callbacks or [])
        self.on_message = on_message or self.on_message
        self.on_decode_error = on_decode_error or self.on_decode_error
        self.prefetch_count = prefetch_count if prefetch_count is not None \
            else self.prefetch_count
        self.tag_prefix = tag_prefix or self.tag_prefix or ""
        self._tags = count(1)
        self._active_tags: dict[str, str] = {}
        if auto_declare is not None:
            self.auto_declare = auto_declare
        self.accept = prepare_accept_content(accept) if accept is not None else None
        self._queues: dict[str, Queue] = {}
        if self.channel:
            self.revive(self.channel)

    def revive(self, channel: Any) -> None:
        """Rebind to ``channel`` (after a reconnect): redeclare and reapply qos."""
        self._active_tags.clear()
        if _is_connection(channel):
            self.__connection__ = channel
            channel = channel.default_channel
        self.channel = channel
        queues = list(self._queues.values()) or self.queues
        self._queues = {}
        self.queues = []
        for queue in queues:
            bound = queue.bind(channel) if not queue.is_bound or queue.channel is not channel \
                else queue
            self._queues[bound.name] = bound
            self.queues.append(bound)
        if self.auto_declare:
            self.declare()
        if self.prefetch_count is not None:
            self.qos(prefetch_count=self.prefetch_count)

    def declare(self) -> None:
        """Declare every queue (with its exchanges and bindings)."""
        for queue in self._queues.values():
            queue.declare()
        # Declaration may name a server-generated queue: re-key.
        self._queues = {q.name: q for q in self._queues.values()}

    def register_callback(self, callback: Callable[[Any, Any], Any]) -> None:
        """Add ``callback(body, message)`` to the callbacks."""
        self.callbacks.append(callback)

    def __enter__(self) -> Consumer:
        self.consume()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if self.channel and self.channel.connection:
            errors = self._connection_errors()
            try:
                self.cancel()
            except errors:
                pass

    def _connection_errors(self) -> tuple[type[BaseException], ...]:
        try:
            return tuple(self.channel.connection.client.connection_errors)
        except AttributeError:
            return ()

    def add_queue(self, queue: Any) -> Queue:
        """Add a queue (declaring it if ``auto_declare``); call :meth:`consume` to start."""
        if isinstance(queue, str):
            queue = Queue(queue)
        queue = queue(self.channel)
        if self.auto_declare:
            queue.declare()
        self._queues[queue.name] = queue
        self.queues.append(queue)
        return queue

    def consume(self, no_ack: bool | None = None) -> None:
        """Start consuming from every queue not already being consumed."""
        queues = list(self._queues.values())
        if queues:
            no_ack = self.no_ack if no_ack is None else no_ack
            head, tail = queues[:-1], queues[-1]
            for queue in head:
                self._basic_consume(queue, no_ack=no_ack, nowait=True)
            self._basic_consume(tail, no_ack=no_ack, nowait=False)

    def cancel(self) -> None:
        """Stop consuming from every queue (unacked messages stay unacked)."""
        cancel = self.channel.basic_cancel
        for tag in self._active_tags.values():
            cancel(tag)
        self._active_tags.clear()

    close = cancel

    def cancel_by_queue(self, queue: Any) -> None:
        """Stop consuming from one queue (name or Queue)."""
        qname = queue.name if isinstance(queue, Queue) else queue
        try:
            tag = self._active_tags.pop(qname)
        except KeyError:
            pass
        else:
            self.channel.basic_cancel(tag)
        finally:
            removed = self._queues.pop(qname, None)
            if removed is not None:
                self.queues = [q for q in self.queues if q.name != qname]

    def consuming_from(self, queue: Any) -> bool:
        """True if consuming from ``queue`` (name or Queue)."""
        name = queue.name if isinstance(queue, Queue) else queue
        return name in self._active_tags

    def purge(self) -> int:
        """Remove all ready messages from every queue; returns how many."""
        return sum(queue.purge() for queue in self._queues.values())

    def flow(self, active: bool) -> Any:
        """Pause (``False``) or resume (``True``) delivery from the broker."""
        return self.channel.flow(active)

    def qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
            apply_global: bool = False) -> Any:
        """Limit unacked messages: at most ``prefetch_count`` (0 = no limit)."""
        return self.channel.basic_qos(prefetch_size, prefetch_count, apply_global)

    def recover(self, requeue: bool = False) -> Any:
        """Redeliver unacked messages (``requeue=True`` lets others have them)."""
        return self.channel.basic_recover(requeue=requeue)

    def receive(self, body: Any, message: Any) -> None:
        """Call every callback with ``(body, message)``."""
        callbacks = self.callbacks
        if not callbacks:
            raise NotImplementedError(
                "Consumer does not have any callbacks: pass callbacks=[...] or on_message, "
                "or call register_callback()")
        for callback in callbacks:
            callback(body, message)

    def _basic_consume(self, queue: Queue, consumer_tag: str | None = None,
                       no_ack: bool | None = None, nowait: bool = True) -> str:
        tag = self._active_tags.get(queue.name)
        if tag is None:
            tag = self._add_tag(queue, consumer_tag)
            queue.consume(tag, self._receive_callback, no_ack=no_ack, nowait=nowait)
        return tag

    def _add_tag(self, queue: Queue, consumer_tag: str | None = None) -> str:
        tag = consumer_tag or f"{self.tag_prefix}{next(self._tags)}"
        self._active_tags[queue.name] = tag
        return tag

    def _receive_callback(self, message: Any) -> Any:
        on_m = self.on_message
        accept = self.accept
        try:
            m2p = getattr(self.channel, "message_to_python", None)
            if m2p is not None:
                message = m2p(message)
            if accept is not None:
                message.accept = accept
            if message.errors:
                return message._reraise_error(self.on_decode_error)
            decoded = None if on_m else message.decode()
        except Exception as exc:
            if not self.on_decode_error:
                raise
            self.on_decode_error(message, exc)
            return None
        if on_m:
            return on_m(message)
        return self.receive(decoded, message)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.queues}>"

    @property
    def connection(self) -> Any:
        try:
            return self.__connection__ or self.channel.connection.client
        except AttributeError:
            return None
