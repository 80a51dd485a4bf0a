"""Pidbox: a mailbox for remote control of processes (Celery's ``control``).

A :class:`Mailbox` names an application (``namespace``).  Each process runs
a :class:`Node` consuming from its own queue ``<hostname>.<namespace>.pidbox``
bound to the exchange ``<namespace>.pidbox``; clients send commands there
(to every node with ``type='fanout'``, or to one) and, for calls, collect
replies from the direct exchange ``reply.<namespace>.pidbox``.
"""

from __future__ import annotations

import logging
import socket
import threading
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from copy import copy
from itertools import count
from time import monotonic, time
from typing import Any

from .common import maybe_declare, oid_from, uuid
from .entity import Exchange, Queue
from .exceptions import InconsistencyError
from .messaging import Consumer, Producer
from .messaging import Consumer as _Consumer
from .utils.objects import cached_property

__all__ = ("Mailbox", "Node")

logger = logging.getLogger(__name__)

W_PIDBOX_IN_USE = (
    "A node named {node.hostname} is already using this process mailbox!\n\n"
    "Maybe you forgot to shutdown the other node or did not do so properly?\n"
    "Or if you meant to start multiple nodes on the same host please make sure\n"
    "you give each node a unique node name!\n"
)


def _maybe_evaluate(obj: Any) -> Any:
    try:
        from .utils.functional import maybe_evaluate
    except ImportError:  # pragma: no cover - utils not installed yet
        return obj
    return maybe_evaluate(obj)


class Node:
    """A process answering a mailbox's commands.

    ``handlers`` maps command names to ``handler(state, **arguments)``;
    ``state`` is passed to every handler.
    """

    hostname: str | None = None
    state: Any = None
    channel: Any = None
    handlers: dict[str, Callable[..., Any]]
    mailbox: Mailbox

    def __init__(
        self,
        hostname: str,
        state: Any = None,
        channel: Any = None,
        handlers: dict[str, Callable[..., Any]] | None = None,
        mailbox: Mailbox | None = None,
    ) -> None:
        if mailbox is None:
            raise TypeError("Node needs its mailbox: create it with mailbox.Node(hostname)")
        self.channel = channel
        self.mailbox = mailbox
        self.hostname = hostname
        self.state = state
        self.adjust_clock = mailbox.clock.adjust
        self.handlers = {} if handlers is None else handlers

    def Consumer(
        self, channel: Any = None, no_ack: bool = True, accept: Any = None, **options: Any
    ) -> _Consumer:
        """A consumer of this node's queue (not yet consuming)."""
        channel = channel or self.channel
        self.mailbox._check_exchange_type(channel)
        queue = self.mailbox.get_queue(self.hostname or "")

        def verify_exclusive(name: str, messages: int, consumers: int) -> None:
            if consumers:
                warnings.warn(W_PIDBOX_IN_USE.format(node=self), stacklevel=2)

        queue.on_declared = verify_exclusive
        return Consumer(
            channel,
            [queue],
            no_ack=no_ack,
            accept=self.mailbox.accept if accept is None else accept,
            **options,
        )

    def handler(self, fun: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``fun`` as the handler of the command named after it (a decorator)."""
        self.handlers[fun.__name__] = fun
        return fun

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        logger.error("Cannot decode message: %r", exc, exc_info=True)

    def listen(self, channel: Any = None, callback: Callable[..., Any] | None = None) -> _Consumer:
        """Start consuming commands; returns the consumer (cancel it to stop)."""
        consumer = self.Consumer(
            channel=channel,
            callbacks=[callback or self.handle_message],
            on_decode_error=self.on_decode_error,
        )
        consumer.consume()
        return consumer

    def dispatch(
        self,
        method: str,
        arguments: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
        ticket: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run the handler for ``method``; reply to ``reply_to`` if given.

        A failing handler replies ``{'error': repr(exc)}``.
        """
        arguments = arguments or {}
        logger.debug(
            "pidbox received method %s(%s) [reply_to:%s ticket:%s]",
            method,
            arguments,
            reply_to,
            ticket,
        )
        handle = self.handle_call if reply_to else self.handle_cast
        try:
            reply = handle(method, arguments)
        except SystemExit:
            raise
        except Exception as exc:
            logger.error("pidbox command error: %r", exc, exc_info=True)
            reply = {"error": repr(exc)}
        if reply_to:
            self.reply(
                {self.hostname: reply},
                exchange=reply_to["exchange"],
                routing_key=reply_to["routing_key"],
                ticket=ticket,
            )
        return reply

    def handle(self, method: str, arguments: dict[str, Any] | None = None) -> Any:
        """Call the handler for ``method`` (KeyError if there is none)."""
        return self.handlers[method](self.state, **(arguments or {}))

    def handle_call(self, method: str, arguments: dict[str, Any]) -> Any:
        return self.handle(method, arguments)

    def handle_cast(self, method: str, arguments: dict[str, Any]) -> Any:
        return self.handle(method, arguments)

    def handle_message(self, body: dict[str, Any], message: Any = None) -> Any:
        """Dispatch a command message if it is meant for this node.

        It is when it names no ``destination`` (and no ``pattern``), when
        this node is in ``destination``, or when the hostname matches
        ``pattern`` with ``matcher`` (see :mod:`kombu.matcher`).
        """
        destination = body.get("destination")
        pattern = body.get("pattern")
        matcher = body.get("matcher")
        if message is not None:
            self.adjust_clock(message.headers.get("clock") or 0)
        if destination:
            wanted = self.hostname in destination
        elif pattern and matcher:
            from .matcher import match

            wanted = bool(match(self.hostname or "", pattern, matcher))
        else:
            wanted = True
        return self.dispatch(**body) if wanted else None

    dispatch_from_message = handle_message

    def reply(
        self, data: Any, exchange: str, routing_key: str, ticket: str | None, **kwargs: Any
    ) -> None:
        """Send a reply to a call."""
        self.mailbox._publish_reply(
            data,
            exchange,
            routing_key,
            ticket,
            channel=self.channel,
            serializer=self.mailbox.serializer,
        )

    def __repr__(self) -> str:
        return f"<Node {self.hostname!r} of {self.mailbox.namespace!r}>"


class Mailbox:
    """An application's process mailbox.

    ``type`` is the exchange type: ``'direct'`` (commands reach a node only
    when addressed) or ``'fanout'`` (every node sees every command and
    filters on ``destination``).  Call it with a connection to get a bound
    copy: ``mailbox(connection).call([...], 'ping')``.
    """

    node_cls = Node
    exchange_fmt = "%s.pidbox"
    reply_exchange_fmt = "reply.%s.pidbox"

    namespace: str
    connection: Any = None
    type = "direct"
    exchange: Exchange
    reply_exchange: Exchange
    accept: Any = ["json"]
    serializer: str | None = None
    queue_ttl: float | None = None
    queue_expires: float | None = None
    reply_queue_ttl: float | None = None
    reply_queue_expires: float | None = 10.0

    def __init__(
        self,
        namespace: str,
        type: str = "direct",
        connection: Any = None,
        clock: Any = None,
        accept: Any = None,
        serializer: str | None = None,
        producer_pool: Any = None,
        queue_ttl: float | None = None,
        queue_expires: float | None = None,
        reply_queue_ttl: float | None = None,
        reply_queue_expires: float | None = 10.0,
        queue_exclusive: bool = False,
        queue_durable: bool = False,
    ) -> None:
        self.namespace = namespace
        self.connection = connection
        self.type = type
        if clock is None:
            from .clocks import LamportClock

            clock = LamportClock()
        self.clock = clock
        self.exchange = self._get_exchange(namespace, type)
        self.reply_exchange = self._get_reply_exchange(namespace)
        self.unclaimed: defaultdict[str, deque[Any]] = defaultdict(deque)
        self.accept = self.accept if accept is None else accept
        self.serializer = serializer
        self._producer_pool = producer_pool
        self.queue_ttl = queue_ttl
        self.queue_expires = queue_expires
        self.reply_queue_ttl = reply_queue_ttl
        self.reply_queue_expires = reply_queue_expires
        self.queue_exclusive = queue_exclusive
        self.queue_durable = queue_durable
        self._tls = threading.local()

    def __call__(self, connection: Any) -> Mailbox:
        """A copy of this mailbox bound to ``connection``."""
        bound = copy(self)
        bound.connection = connection
        return bound

    def Node(
        self,
        hostname: str | None = None,
        state: Any = None,
        channel: Any = None,
        handlers: dict[str, Callable[..., Any]] | None = None,
    ) -> Node:
        """A node (default hostname: this host's name) for this mailbox."""
        hostname = hostname or socket.gethostname()
        return self.node_cls(hostname, state, channel, handlers, mailbox=self)

    def call(
        self,
        destination: list[str],
        command: str,
        kwargs: dict[str, Any] | None = None,
        timeout: float | None = None,
        callback: Callable[[Any], Any] | None = None,
        channel: Any = None,
    ) -> list[Any]:
        """Send ``command`` to the nodes in ``destination``; return their replies."""
        return (
            self._broadcast(
                command,
                kwargs,
                destination,
                reply=True,
                timeout=timeout,
                callback=callback,
                channel=channel,
            )
            or []
        )

    def cast(
        self, destination: list[str], command: str, kwargs: dict[str, Any] | None = None
    ) -> None:
        """Send ``command`` to the nodes in ``destination``, without waiting."""
        self._broadcast(command, kwargs, destination, reply=False)

    def abcast(self, command: str, kwargs: dict[str, Any] | None = None) -> None:
        """Send ``command`` to every node, without waiting."""
        self._broadcast(command, kwargs, reply=False)

    def multi_call(
        self,
        command: str,
        kwargs: dict[str, Any] | None = None,
        timeout: float | None = 1,
        limit: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        channel: Any = None,
    ) -> list[Any]:
        """Send ``command`` to every node; return the replies received within ``timeout``."""
        return (
            self._broadcast(
                command,
                kwargs,
                reply=True,
                timeout=timeout,
                limit=limit,
                callback=callback,
                channel=channel,
            )
            or []
        )

    def get_reply_queue(self) -> Queue:
        """The queue this client's replies arrive on (transient, auto-deleted)."""
        oid = self.oid
        return Queue(
            f"{oid}.{self.reply_exchange.name}",
            exchange=self.reply_exchange,
            routing_key=oid,
            durable=False,
            auto_delete=True,
            expires=self.reply_queue_expires,
            message_ttl=self.reply_queue_ttl,
        )

    @cached_property
    def reply_queue(self) -> Queue:
        return self.get_reply_queue()

    def get_queue(self, hostname: str) -> Queue:
        """The command queue of the node ``hostname``."""
        return Queue(
            f"{hostname}.{self.namespace}.pidbox",
            exchange=self.exchange,
            durable=self.queue_durable,
            exclusive=self.queue_exclusive,
            auto_delete=not self.queue_durable,
            expires=self.queue_expires,
            message_ttl=self.queue_ttl,
        )

    @contextmanager
    def producer_or_acquire(self, producer: Any = None, channel: Any = None) -> Iterator[Any]:
        """``producer``, or one from :attr:`producer_pool`, or a new one on ``channel``."""
        if producer:
            yield producer
        elif self.producer_pool:
            with self.producer_pool.acquire(block=True) as acquired:
                yield acquired
        else:
            yield Producer(channel, auto_declare=False)

    def _check_exchange_type(self, channel: Any = None) -> None:
        conn = self.connection
        if conn is None and channel is not None:
            conn = getattr(getattr(channel, "connection", None), "client", None)
        transport = getattr(conn, "transport", None)
        implements = getattr(transport, "implements", None)
        supported = getattr(implements, "exchange_type", None) if implements else None
        if supported is not None and self.type not in supported:
            name = getattr(transport, "driver_name", None) or type(transport).__name__
            raise NotImplementedError(
                f"Mailbox {self.namespace!r} needs a {self.type!r} exchange, which the "
                f"{type(transport).__module__}.{type(transport).__name__} transport "
                f"({name}) does not support (it supports: {', '.join(sorted(supported))}). "
                f"Use a transport with {self.type} exchanges for remote control."
            )

    def _publish_reply(
        self,
        reply: Any,
        exchange: str,
        routing_key: str,
        ticket: str | None,
        channel: Any = None,
        producer: Any = None,
        **opts: Any,
    ) -> None:
        chan = channel or self.connection.default_channel
        reply_exchange = Exchange(exchange, type="direct", delivery_mode="transient", durable=False)
        with self.producer_or_acquire(producer, chan) as producer:
            try:
                producer.publish(
                    reply,
                    exchange=reply_exchange,
                    routing_key=routing_key,
                    declare=[reply_exchange],
                    headers={"ticket": ticket, "clock": self.clock.forward()},
                    retry=True,
                    **opts,
                )
            except InconsistencyError:
                pass  # the reply queue is gone: nobody waits for this reply

    def _publish(
        self,
        type: str,
        arguments: dict[str, Any],
        destination: list[str] | None = None,
        reply_ticket: str | None = None,
        channel: Any = None,
        timeout: float | None = None,
        serializer: str | None = None,
        producer: Any = None,
        pattern: str | None = None,
        matcher: str | None = None,
    ) -> None:
        message: dict[str, Any] = {
            "method": type,
            "arguments": arguments,
            "destination": destination,
            "pattern": pattern,
            "matcher": matcher,
        }
        chan = channel or self.connection.default_channel
        self._check_exchange_type(chan)
        exchange = self.exchange
        if reply_ticket:
            maybe_declare(self.reply_queue(chan))
            message.update(
                ticket=reply_ticket,
                reply_to={"exchange": self.reply_exchange.name, "routing_key": self.oid},
            )
        serializer = serializer or self.serializer
        with self.producer_or_acquire(producer, chan) as producer:
            producer.publish(
                message,
                exchange=exchange.name,
                declare=[exchange],
                headers={
                    "clock": self.clock.forward(),
                    "expires": time() + timeout if timeout else 0,
                },
                serializer=serializer,
                retry=True,
            )

    def _broadcast(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        destination: list[str] | None = None,
        reply: bool = False,
        timeout: float | None = 1,
        limit: int | None = None,
        callback: Callable[[Any], Any] | None = None,
        channel: Any = None,
        serializer: str | None = None,
        pattern: str | None = None,
        matcher: str | None = None,
    ) -> list[Any] | None:
        if destination is not None and not isinstance(destination, (list, tuple)):
            raise ValueError(f"destination must be a list/tuple of node names, not {destination!r}")
        if (pattern is not None and not isinstance(pattern, str)) or (
            matcher is not None and not isinstance(matcher, str)
        ):
            raise ValueError(
                f"pattern and matcher must be strings, not {pattern!r} and {matcher!r}"
            )
        arguments = arguments or {}
        reply_ticket = uuid() if reply else None
        chan = channel or self.connection.default_channel
        if limit is None and destination:
            limit = len(destination)
        self._publish(
            command,
            arguments,
            destination=destination,
            reply_ticket=reply_ticket,
            channel=chan,
            timeout=timeout,
            serializer=serializer or self.serializer,
            pattern=pattern,
            matcher=matcher,
        )
        if reply_ticket:
            return self._collect(
                reply_ticket, limit=limit, timeout=timeout, callback=callback, channel=chan
            )
        return None

    def _collect(
        self,
        ticket: str,
        limit: int | None = None,
        timeout: float | None = 1,
        callback: Callable[[Any], Any] | None = None,
        channel: Any = None,
        accept: Any = None,
    ) -> list[Any]:
        """Collect replies to ``ticket`` until ``limit`` arrived or ``timeout`` passed.

        ``timeout`` bounds the whole collection; replies to other tickets
        are kept for their own collection.
        """
        if accept is None:
            accept = self.accept
        chan = channel or self.connection.default_channel
        queue = self.reply_queue
        consumer = Consumer(chan, [queue], accept=accept, no_ack=True)
        responses: list[Any] = []
        unclaimed = self.unclaimed
        adjust_clock = self.clock.adjust

        try:
            responses.extend(body for body, _ in unclaimed.pop(ticket))
        except KeyError:
            pass
        if limit and len(responses) >= limit:
            return responses[:limit]

        def on_message(body: Any, message: Any) -> None:
            header = message.headers.get
            adjust_clock(header("clock") or 0)
            expected = header("ticket")
            if expected and expected != ticket:
                unclaimed[expected].append((body, message))
                return
            if callback:
                callback(body)
            responses.append(body)

        consumer.register_callback(on_message)
        client = chan.connection.client
        deadline = None if timeout is None else monotonic() + timeout
        try:
            with consumer:
                for _ in count():
                    if limit and len(responses) >= limit:
                        break
                    remaining = None if deadline is None else deadline - monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    try:
                        client.drain_events(timeout=remaining)
                    except TimeoutError:
                        break
            return responses
        finally:
            after = getattr(chan, "after_reply_message_received", None)
            if after is not None:
                after(queue.name)

    def _get_exchange(self, namespace: str, type: str) -> Exchange:
        return Exchange(
            self.exchange_fmt % namespace, type=type, durable=False, delivery_mode="transient"
        )

    def _get_reply_exchange(self, namespace: str) -> Exchange:
        return Exchange(
            self.reply_exchange_fmt % namespace,
            type="direct",
            durable=False,
            delivery_mode="transient",
        )

    @property
    def oid(self) -> str:
        """This client's id (per thread): the routing key its replies are sent with."""
        try:
            return self._tls.OID  # type: ignore[no-any-return]
        except AttributeError:
            oid = self._tls.OID = oid_from(self)
            return oid

    @cached_property
    def producer_pool(self) -> Any:
        return _maybe_evaluate(self._producer_pool)

    def __repr__(self) -> str:
        return f"<Mailbox {self.namespace!r} type={self.type!r}>"
