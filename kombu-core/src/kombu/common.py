"""Common helpers built on the messaging API.

Declaration caching (kept in :mod:`kombu.declarations`), broadcast queues,
event loops over a connection, request/reply helpers, connection-error
tolerant calls and a thread-safe prefetch-count manager (:class:`QoS`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from itertools import count
from typing import Any
from uuid import NAMESPACE_OID, uuid3, uuid4

from .declarations import declaration_cached, maybe_declare
from .entity import Exchange, Queue
from .messaging import Consumer

__all__ = (
    "PREFETCH_COUNT_MAX",
    "Broadcast",
    "QoS",
    "collect_replies",
    "declaration_cached",
    "drain_consumer",
    "eventloop",
    "generate_oid",
    "get_node_id",
    "ignore_errors",
    "insured",
    "itermessages",
    "maybe_declare",
    "oid_from",
    "send_reply",
    "uuid",
)

logger = logging.getLogger(__name__)

#: AMQP's prefetch_count is a 16-bit field: larger values mean "no limit".
PREFETCH_COUNT_MAX = 0xFFFF

_node_id: int | None = None
_node_id_lock = threading.Lock()


def uuid(_uuid: Callable[[], Any] = uuid4) -> str:
    """A new unique id in UUID4 format, as a string."""
    return str(_uuid())


def get_node_id() -> int:
    """A random id for this process, made once (it stands in for the host's MAC)."""
    global _node_id
    if _node_id is None:
        with _node_id_lock:
            if _node_id is None:
                _node_id = uuid4().int
    return _node_id


def generate_oid(node_id: int, process_id: int, thread_id: int, instance: Any) -> str:
    """A stable object id (UUID3) for ``instance`` in this node/process/thread."""
    key = f"{node_id:x}-{process_id:x}-{thread_id:x}-{id(instance):x}"
    return str(uuid3(NAMESPACE_OID, key))


def oid_from(instance: Any, threads: bool = True) -> str:
    """The object id of ``instance``, distinct per thread unless ``threads`` is False."""
    return generate_oid(
        get_node_id(), os.getpid(), threading.get_ident() if threads else 0, instance
    )


class Broadcast(Queue):
    """A queue bound to a fanout exchange: every consumer gets every message.

    ``name`` names the exchange.  Each instance consumes from its own queue,
    named ``bcast.<uuid>`` unless ``queue`` is given (``unique`` adds a
    uuid to it anyway).  Queue and exchange are deleted when unused.
    """

    attrs = (*Queue.attrs, ("queue", None))  # type: ignore[assignment]
    queue: str | None = None

    def __init__(
        self,
        name: str | None = None,
        queue: str | None = None,
        unique: bool = False,
        auto_delete: bool = True,
        exchange: Any = None,
        alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        if unique:
            queue = f"{queue or 'bcast'}.{uuid()}"
        else:
            queue = queue or f"bcast.{uuid()}"
        if exchange is None:
            exchange = Exchange(name or "", type="fanout", auto_delete=auto_delete)
        super().__init__(
            name=queue,
            queue=queue,
            alias=alias or name,
            auto_delete=auto_delete,
            exchange=exchange,
            **kwargs,
        )


# -- event loops ------------------------------------------------------------


def eventloop(
    conn: Any, limit: int | None = None, timeout: float | None = None, ignore_timeouts: bool = False
) -> Iterator[Any]:
    """Drain events from ``conn``, yielding after each one.

    Runs forever, or ``limit`` times.  A drain that times out raises
    :class:`socket.timeout` unless ``ignore_timeouts`` (then nothing is
    yielded for it and the loop goes on).
    """
    for _ in range(limit) if limit else count():
        try:
            yield conn.drain_events(timeout=timeout)
        except TimeoutError:
            if timeout and not ignore_timeouts:
                raise


def drain_consumer(
    consumer: Any,
    limit: int = 1,
    timeout: float | None = None,
    callbacks: list[Callable[..., Any]] | None = None,
) -> Iterator[tuple[Any, Any]]:
    """Consume with ``consumer``, yielding ``(body, message)`` as they arrive.

    Drains at most ``limit`` events (None: forever), each waiting up to
    ``timeout`` seconds; ``callbacks`` are called for every message too.
    """
    received: deque[tuple[Any, Any]] = deque()

    def on_message(body: Any, message: Any) -> None:
        received.append((body, message))

    consumer.callbacks = [on_message, *(callbacks or [])]
    with consumer:
        client = consumer.channel.connection.client
        for _ in eventloop(client, limit=limit, timeout=timeout, ignore_timeouts=True):
            while received:
                yield received.popleft()


def itermessages(
    conn: Any,
    channel: Any,
    queue: Any,
    limit: int = 1,
    timeout: float | None = None,
    callbacks: list[Callable[..., Any]] | None = None,
    **kwargs: Any,
) -> Iterator[tuple[Any, Any]]:
    """Yield ``(body, message)`` from ``queue`` (see :func:`drain_consumer`)."""
    return drain_consumer(
        Consumer(channel, queues=[queue], **kwargs),
        limit=limit,
        timeout=timeout,
        callbacks=callbacks,
    )


# -- request/reply ----------------------------------------------------------


def _serializer_for(content_type: str | None) -> str | None:
    if not content_type:
        return None
    try:
        from .serialization import registry

        return registry.type_to_name.get(content_type)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return None


def send_reply(
    exchange: Any,
    req: Any,
    msg: Any,
    producer: Any = None,
    retry: bool = False,
    retry_policy: dict[str, Any] | None = None,
    **props: Any,
) -> Any:
    """Publish ``msg`` as the reply to the request message ``req``.

    It goes to ``exchange`` with ``req``'s ``reply_to`` as routing key,
    carrying its ``correlation_id``, in the serializer the request used.
    """
    properties = req.properties
    options: dict[str, Any] = {
        "routing_key": properties["reply_to"],
        "correlation_id": properties.get("correlation_id"),
        "serializer": _serializer_for(req.content_type),
        "content_encoding": req.content_encoding,
    }
    if options["serializer"] is None:
        options.pop("content_encoding")
    options.update(props)
    return producer.publish(
        msg, exchange=exchange, retry=retry, retry_policy=retry_policy, **options
    )


def collect_replies(
    conn: Any, channel: Any, queue: Any, *args: Any, **kwargs: Any
) -> Iterator[Any]:
    """Yield reply bodies from ``queue``, acking them (unless ``no_ack``, the default)."""
    no_ack = kwargs.setdefault("no_ack", True)
    received = False
    try:
        for body, message in itermessages(conn, channel, queue, *args, **kwargs):
            if not no_ack:
                message.ack()
            received = True
            yield body
    finally:
        if received:
            channel.after_reply_message_received(queue.name)


# -- error handling ---------------------------------------------------------


def _ensure_errback(exc: Exception, interval: float) -> None:
    logger.error("Connection error: %r. Retry in %ss", exc, interval, exc_info=True)


@contextmanager
def _ignore_errors(conn: Any) -> Iterator[None]:
    from .utils.compat import get_gevent_concurrent_error

    errors = (*getattr(conn, "connection_errors", ()), *getattr(conn, "channel_errors", ()))
    concurrent_use = get_gevent_concurrent_error()
    if concurrent_use is not None:
        errors = (*errors, concurrent_use)
    try:
        yield
    except errors:
        pass


def ignore_errors(
    conn: Any, fun: Callable[..., Any] | None = None, *args: Any, **kwargs: Any
) -> Any:
    """Call ``fun(*args, **kwargs)``, ignoring ``conn``'s connection and channel errors.

    Under gevent, ``ConcurrentObjectUseError`` (two greenlets on one socket)
    is ignored too.  Without ``fun`` it returns a context manager doing the
    same for a block.  Meant for cleaning up after a connection was lost, or
    at shutdown.
    """
    if fun is not None:
        with _ignore_errors(conn):
            return fun(*args, **kwargs)
        return None
    return _ignore_errors(conn)


def revive_connection(
    connection: Any, channel: Any, on_revive: Callable[[Any], Any] | None = None
) -> None:
    if on_revive:
        on_revive(channel)


def insured(
    pool: Any,
    fun: Callable[..., Any],
    args: Any,
    kwargs: dict[str, Any],
    errback: Callable[..., Any] | None = None,
    on_revive: Callable[[Any], Any] | None = None,
    **opts: Any,
) -> Any:
    """Call ``fun(*args, connection=conn, channel=chan, **kwargs)`` despite connection loss.

    ``conn`` is acquired from the connection ``pool``; on a connection error
    it reconnects and calls again (``opts`` as for
    :meth:`~kombu.Connection.ensure`).
    """
    errback = errback or _ensure_errback
    with pool.acquire(block=True) as conn:
        conn.ensure_connection(errback=errback)
        channel = conn.default_channel
        revive = partial(revive_connection, conn, on_revive=on_revive)
        call = conn.autoretry(fun, channel, errback=errback, on_revive=revive, **opts)
        retval, _ = call(*args, **dict(kwargs, connection=conn))
        return retval


# -- prefetch ---------------------------------------------------------------


class QoS:
    """Thread-safe management of a consumer's prefetch count.

    ``callback(prefetch_count=n)`` applies a new value (e.g.
    ``consumer.qos``).  Changes made with the ``*_eventually`` methods are
    applied by the next :meth:`update`; 0 means no limit and stays so.
    ``max_prefetch`` caps what increments can raise the count to.
    """

    prev: int | None = None

    def __init__(
        self, callback: Callable[..., Any], initial_value: int, max_prefetch: int | None = None
    ) -> None:
        self.callback = callback
        self._mutex: Any = threading.RLock()
        self.value = initial_value or 0
        self.max_prefetch = max_prefetch

    def increment_eventually(self, n: int = 1) -> int:
        """Raise the prefetch count by ``n``, up to ``max_prefetch`` (applied by :meth:`update`)."""
        with self._mutex:
            if self.value:
                value = self.value + max(n, 0)
                if self.max_prefetch:
                    value = min(value, max(self.max_prefetch, self.value))
                self.value = value
        return self.value

    def decrement_eventually(self, n: int = 1) -> int:
        """Lower the prefetch count by ``n``, never below 1 (applied by :meth:`update`)."""
        with self._mutex:
            if self.value:
                self.value = max(self.value - n, 1)
        return self.value

    def set(self, pcount: int) -> int:
        """Apply ``pcount`` now (values over 65535 mean no limit)."""
        if pcount != self.prev:
            new_value = pcount
            if pcount > PREFETCH_COUNT_MAX:
                logger.warning(
                    "QoS: disabled, prefetch_count %r exceeds %r", pcount, PREFETCH_COUNT_MAX
                )
                new_value = 0
            logger.debug("basic.qos: prefetch_count->%s", new_value)
            self.callback(prefetch_count=new_value)
            self.prev = pcount
        return pcount

    def update(self) -> int:
        """Apply the current value if it changed."""
        with self._mutex:
            return self.set(self.value)
