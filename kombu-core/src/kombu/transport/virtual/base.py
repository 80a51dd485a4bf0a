"""The emulated AMQP broker: virtual Channel and Transport.

A transport for a broker without AMQP subclasses :class:`Channel` and
implements the storage hooks (``_get``, ``_put``, ``_purge``, ``_size``,
``_delete``, ``_new_queue``, ``_has_queue`` and, for shared fanout,
``_put_fanout``/``_queue_bind``); this module does the rest: exchanges and
routing, consumers, acknowledgement emulation (:class:`~.qos.QoS`),
redelivery, dead-lettering and the polling loop of ``drain_events``.
"""

from __future__ import annotations

import base64
import itertools
import os
import time
import uuid
import warnings
from collections import namedtuple
from collections.abc import Callable
from queue import Empty
from typing import Any

from ...exceptions import ChannelError
from ...utils.scheduling import FairCycle
from .. import base
from .exchange import STANDARD_EXCHANGE_TYPES, ExchangeType
from .message import Message
from .message import Message as _Message
from .qos import QoS
from .qos import QoS as _QoS
from .state import BrokerState

__all__ = (
    "AbstractChannel",
    "Base64",
    "BrokerState",
    "Channel",
    "Empty",
    "Message",
    "NotEquivalentError",
    "NotFound",
    "PreconditionFailed",
    "QoS",
    "Transport",
    "UndeliverableWarning",
    "Unroutable",
    "queue_declare_ok_t",
)

queue_declare_ok_t = namedtuple("queue_declare_ok_t", ("queue", "message_count", "consumer_count"))


class NotFound(ChannelError):
    """An exchange or queue does not exist (AMQP 404 NOT_FOUND)."""

    code = reply_code = 404


class PreconditionFailed(ChannelError):
    """The request conflicts with the entity's state (AMQP 406 PRECONDITION_FAILED)."""

    code = reply_code = 406


class NotEquivalentError(PreconditionFailed):
    """An entity was redeclared with different settings than the first declaration."""


class Unroutable(ChannelError):
    """A mandatory message reached no queue (AMQP 312 NO_ROUTE)."""

    code = reply_code = 312


class UndeliverableWarning(UserWarning):
    """A message could not be delivered (e.g. a dead-letter exchange is missing)."""


class Base64:
    """Body codec: base64 text (bodies stored in text-only brokers)."""

    def encode(self, s: str | bytes) -> str:
        if isinstance(s, str):
            s = s.encode("utf-8")
        return base64.b64encode(s).decode("ascii")

    def decode(self, s: str | bytes) -> bytes:
        return base64.b64decode(s)


# -- delivery tags: uuid-shaped, unique, and cheap (no uuid4() per message) --

_tag_prefix = ""
_tag_counter = itertools.count(1)


def _reset_delivery_tags() -> None:
    global _tag_prefix, _tag_counter
    h = uuid.uuid4().hex
    _tag_prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
    _tag_counter = itertools.count(1)


_reset_delivery_tags()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_delivery_tags)


def next_delivery_tag() -> str:
    """A new delivery tag: a uuid-shaped string unique across processes."""
    return f"{_tag_prefix}{next(_tag_counter) & 0xFFFFFFFFFFFF:012x}"


def _ttl_ms(value: Any) -> float | None:
    """A TTL in milliseconds from an argument or ``expiration`` property, or None."""
    if value is None or value == "":
        return None
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return None
    return ms if ms >= 0 else None


class AbstractChannel:
    """The storage hooks a virtual transport implements.

    Subclass :class:`Channel`, not this class.
    """

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Remove and return the next message of ``queue``; raise ``queue.Empty`` if none."""
        raise NotImplementedError("Virtual channels must implement _get")

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        """Append ``message`` (the envelope dict) to ``queue``."""
        raise NotImplementedError("Virtual channels must implement _put")

    def _purge(self, queue: str) -> int:
        """Remove every ready message of ``queue``; return how many."""
        raise NotImplementedError("Virtual channels must implement _purge")

    def _size(self, queue: str) -> int:
        """How many messages are ready in ``queue``."""
        return 0

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        """Delete ``queue``.

        Called once per binding with ``(exchange, routing_key, pattern, queue)``
        as ``args``, or once without them when the queue had no bindings.
        """
        self._purge(queue)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Create ``queue`` if the storage needs it."""

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """Whether ``queue`` exists."""
        return True

    def _poll(
        self, cycle: FairCycle, callback: Callable[..., Any], timeout: float | None = None
    ) -> Any:
        """Deliver one message from the next queue in ``cycle`` that has one."""
        return cycle.get(callback)

    def _get_and_deliver(self, queue: str, callback: Callable[..., Any]) -> None:
        message = self._get(queue)
        callback(message, queue)


class Channel(AbstractChannel, base.StdChannel):
    """A virtual channel: AMQP methods on top of the storage hooks.

    ``connection`` is the :class:`Transport` the channel belongs to.
    """

    #: Message class built from a stored envelope.
    Message = Message
    #: QoS class (acknowledgement emulation).
    QoS = QoS
    #: Restore unacked messages when the channel closes.
    do_restore = True
    #: Exchange type name -> class; instances per channel are built in __init__.
    exchange_types: dict[str, Any] = dict(STANDARD_EXCHANGE_TYPES)
    #: Set when the transport stores bindings itself and implements
    #: ``_put_fanout`` (fanout is then delivered through it).
    supports_fanout = False
    #: Body codecs by name.
    codecs: dict[str, Any] = {"base64": Base64()}
    #: How bodies are encoded in the store (None: stored as given).
    body_encoding: str | None = "base64"
    #: Queue receiving messages that no binding routes (None: they are dropped).
    deadletter_queue: str | None = None
    #: Priority used when a message sets none.
    default_priority = 0
    #: Options read from ``Connection.transport_options``.
    from_transport_options: tuple[str, ...] = ("body_encoding", "deadletter_queue")

    _qos: _QoS | None = None
    _cycle: FairCycle | None = None

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self.connection = connection
        self._consumers: set[str] = set()
        self._tag_to_queue: dict[str, str] = {}
        self._active_queues: list[str] = []
        self._queue_callbacks: dict[str, Callable[..., Any]] = {}
        self.no_ack_consumers: set[str] = set()
        self.closed = False
        self._flow_active = True
        self.events: dict[str, set[Callable[..., Any]]] = {"basic_return": set()}
        self.exchange_types = {name: cls(self) for name, cls in type(self).exchange_types.items()}
        try:
            self.channel_id = connection._avail_channel_ids.pop()
        except (AttributeError, IndexError):
            self.channel_id = id(self)
        client = getattr(connection, "client", None)
        options = getattr(client, "transport_options", None) or {}
        for name in self.from_transport_options:
            if name in options:
                setattr(self, name, options[name])

    # -- properties ---------------------------------------------------------

    @property
    def state(self) -> BrokerState:
        """The broker state (exchanges, bindings) shared by the transport."""
        return self.connection.state

    @property
    def qos(self) -> _QoS:
        """The acknowledgement state of this channel."""
        qos = self._qos
        if qos is None:
            qos = self._qos = self.QoS(self)
        return qos

    @property
    def cycle(self) -> FairCycle:
        """Fair cycle over the queues this channel consumes from."""
        cycle = self._cycle
        if cycle is None:
            cycle = self._cycle = FairCycle(self._get_and_deliver, self._active_queues, Empty)
        return cycle

    @property
    def is_open(self) -> bool:
        return not self.closed

    # -- exchanges ----------------------------------------------------------

    def _exchange_meta(self, exchange: str) -> dict[str, Any] | None:
        """The declaration of ``exchange``, or None if it is not declared."""
        return self.state.exchanges.get(exchange)

    def _declare_exchange(
        self,
        exchange: str,
        type: str,
        durable: bool,
        auto_delete: bool,
        arguments: dict[str, Any] | None,
    ) -> None:
        self.state.declare_exchange(exchange, type, durable, auto_delete, arguments)

    def exchange_declare(
        self,
        exchange: str | None = None,
        type: str = "direct",
        durable: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        nowait: bool = False,
        passive: bool = False,
    ) -> None:
        """Declare an exchange (``passive``: only check that it exists)."""
        type = type or "direct"
        exchange = exchange or f"amq.{type}"
        if passive:
            if self._exchange_meta(exchange) is None:
                raise NotFound(
                    f"Exchange {exchange!r} does not exist (passive declare, 404 NOT_FOUND): "
                    f"declare it with passive=False first."
                )
            return
        if type not in self.exchange_types:
            supported = ", ".join(sorted(self.exchange_types))
            raise ChannelError(
                f"Exchange {exchange!r}: type {type!r} is not supported by the "
                f"{self.connection.driver_name} transport (supported: {supported})."
            )
        prev = self._exchange_meta(exchange)
        if prev is not None:
            if not self.typeof(exchange).equivalent(
                prev, exchange, type, durable, auto_delete, arguments
            ):
                raise NotEquivalentError(
                    f"Cannot redeclare exchange {exchange!r} as type={type!r} "
                    f"durable={durable!r} auto_delete={auto_delete!r} arguments={arguments!r}: "
                    f"it exists with type={prev['type']!r} durable={prev['durable']!r} "
                    f"auto_delete={prev['auto_delete']!r} arguments={prev['arguments']!r} "
                    f"(406 PRECONDITION_FAILED). Delete it first or declare it the same way."
                )
            return
        self._declare_exchange(exchange, type, durable, auto_delete, arguments)

    def exchange_delete(self, exchange: str, if_unused: bool = False, nowait: bool = False) -> None:
        """Delete an exchange and every binding to it."""
        try:
            table = self.get_table(exchange)
        except KeyError:
            table = []
        if if_unused and table:
            raise PreconditionFailed(
                f"Exchange {exchange!r} is in use ({len(table)} bindings): "
                f"unbind its queues or delete with if_unused=False."
            )
        for rkey, _, queue in list(table):
            self._queue_unbind(exchange, rkey, queue)
        self.state.delete_exchange(exchange)

    def exchange_bind(
        self,
        destination: str,
        source: str = "",
        routing_key: str = "",
        nowait: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """Exchange-to-exchange bindings are not emulated."""
        raise NotImplementedError(
            f"The {self.connection.driver_name} transport does not support exchange-to-"
            f"exchange bindings (binding {destination!r} to {source!r}): bind the queues "
            f"to {source!r} directly."
        )

    def exchange_unbind(
        self,
        destination: str,
        source: str = "",
        routing_key: str = "",
        nowait: bool = False,
        arguments: dict[str, Any] | None = None,
    ) -> None:
        """Exchange-to-exchange bindings are not emulated."""
        raise NotImplementedError(
            f"The {self.connection.driver_name} transport does not support exchange-to-"
            f"exchange bindings."
        )

    def get_exchanges(self) -> list[str]:
        """Names of the declared exchanges."""
        return list(self.state.exchanges)

    def get_table(self, exchange: str) -> Any:
        """The bindings of ``exchange``: ``(routing_key, pattern, queue)`` tuples.

        Raises KeyError if the exchange is not declared.
        """
        return self.state.table(exchange)

    def typeof(self, exchange: str, default: str = "direct") -> ExchangeType:
        """The exchange type instance for ``exchange`` (``default`` if not declared)."""
        meta = self._exchange_meta(exchange)
        return self.exchange_types[meta["type"] if meta is not None else default]

    def _lookup(
        self, exchange: str, routing_key: str, default: str | None = None, message: Any = None
    ) -> list[str]:
        """The queues a message published to ``exchange``/``routing_key`` goes to."""
        if default is None:
            default = self.deadletter_queue
        if not exchange:
            return [routing_key] if routing_key else ([default] if default else [])
        try:
            table = self.get_table(exchange)
            etype = self.typeof(exchange)
        except KeyError:
            return [default] if default else []
        if etype.cacheable:
            return etype.lookup(table, exchange, routing_key, default)
        headers = message.get("headers") if isinstance(message, dict) else None
        return etype.lookup(table, exchange, routing_key, default, headers=headers)

    # -- queues -------------------------------------------------------------

    def _queue_arguments(self, queue: str | None) -> dict[str, Any] | None:
        """The arguments ``queue`` was declared with (None if unknown)."""
        if queue is None:
            return None
        return self.state.queue_arguments.get(queue)

    def _set_queue_arguments(self, queue: str, arguments: dict[str, Any] | None) -> None:
        if arguments:
            self.state.queue_arguments[queue] = dict(arguments)
        else:
            self.state.queue_arguments.setdefault(queue, {})

    def _consumer_count(self, queue: str) -> int:
        return self.state.consumers.get(queue, 0)

    def queue_declare(
        self,
        queue: str | None = None,
        passive: bool = False,
        durable: bool = False,
        exclusive: bool = False,
        auto_delete: bool = False,
        arguments: dict[str, Any] | None = None,
        nowait: bool = False,
        **kwargs: Any,
    ) -> queue_declare_ok_t:
        """Declare a queue (an empty name gets a generated ``amq.gen-`` name)."""
        queue = queue or "amq.gen-" + uuid.uuid4().hex
        if passive:
            if not self._has_queue(queue, **kwargs):
                raise NotFound(
                    f"Queue {queue!r} does not exist (passive declare, 404 NOT_FOUND): "
                    f"declare it with passive=False first."
                )
        else:
            self._set_queue_arguments(queue, arguments)
            self._new_queue(
                queue,
                durable=durable,
                exclusive=exclusive,
                auto_delete=auto_delete,
                arguments=arguments,
                **kwargs,
            )
        return queue_declare_ok_t(queue, self._size(queue), self._consumer_count(queue))

    def queue_bind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Bind ``queue`` to ``exchange`` with ``routing_key``."""
        exchange = exchange or "amq.direct"
        if self._exchange_meta(exchange) is None:
            if exchange.startswith("amq."):
                self._declare_exchange(
                    exchange,
                    exchange[4:] if exchange[4:] in self.exchange_types else "direct",
                    True,
                    False,
                    None,
                )
            else:
                raise NotFound(
                    f"Cannot bind queue {queue!r} to exchange {exchange!r}: the exchange "
                    f"does not exist (404 NOT_FOUND). Declare the exchange first."
                )
        if self.state.has_binding(queue, exchange, routing_key):
            return
        self.state.binding_declare(queue, exchange, routing_key, arguments)
        meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
        table = self.get_table(exchange)
        if meta not in table:
            table.append(meta)
        if self.supports_fanout:
            self._queue_bind(exchange, *meta)

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        """Store a binding in the broker (transports with ``supports_fanout``)."""

    def _queue_unbind(self, exchange: str, routing_key: str, queue: str) -> None:
        """Remove one binding from the local table (and the broker, if it stores them)."""
        self.state.binding_delete(queue, exchange, routing_key)
        try:
            table = self.get_table(exchange)
        except KeyError:
            return
        for entry in [e for e in table if e[0] == routing_key and e[2] == queue]:
            table.remove(entry)

    def queue_unbind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Remove the binding of ``queue`` to ``exchange`` with ``routing_key``."""
        self._queue_unbind(exchange or "amq.direct", routing_key, queue)

    def queue_purge(self, queue: str, **kwargs: Any) -> int:
        """Remove every ready message of ``queue``; return how many."""
        return self._purge(queue)

    def queue_delete(
        self, queue: str, if_unused: bool = False, if_empty: bool = False, **kwargs: Any
    ) -> int:
        """Delete ``queue`` and its bindings; return how many messages it held."""
        if if_empty and self._size(queue):
            return 0
        if if_unused and self._consumer_count(queue):
            return 0
        size = self._size(queue) if self._has_queue(queue) else 0
        bindings = self.state.queue_bindings(queue)
        for exchange, routing_key, arguments in bindings:
            try:
                meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
            except KeyError:
                meta = (routing_key, None, queue)
            self._queue_unbind(exchange, routing_key, queue)
            self._delete(queue, exchange, *meta, **kwargs)
        if not bindings:
            self._delete(queue, **kwargs)
        self.state.queue_bindings_delete(queue)
        self.state.queue_arguments.pop(queue, None)
        return size

    # -- publishing ---------------------------------------------------------

    def _next_delivery_tag(self) -> str:
        return next_delivery_tag()

    def encode_body(self, body: Any, encoding: str | None = None) -> tuple[Any, str | None]:
        if encoding:
            return self.codecs[encoding].encode(body), encoding
        return body, encoding

    def decode_body(self, body: Any, encoding: str | None = None) -> Any:
        if encoding:
            return self.codecs[encoding].decode(body)
        return body

    def prepare_message(
        self,
        body: Any,
        priority: int | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        headers: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build the envelope ``basic_publish`` sends."""
        if properties is None:
            properties = {}
        properties["priority"] = priority if priority is not None else self.default_priority
        return {
            "body": body,
            "content-encoding": content_encoding,
            "content-type": content_type,
            "headers": headers if headers is not None else {},
            "properties": properties,
        }

    def basic_publish(
        self,
        message: dict[str, Any],
        exchange: str,
        routing_key: str,
        mandatory: bool = False,
        immediate: bool = False,
        **kwargs: Any,
    ) -> None:
        """Route ``message`` through ``exchange`` (``''``: straight to queue ``routing_key``)."""
        props = message["properties"]
        props["delivery_info"] = {"exchange": exchange, "routing_key": routing_key}
        props["delivery_tag"] = self._next_delivery_tag()
        encoding = self.body_encoding
        if encoding:
            message["body"] = self.codecs[encoding].encode(message["body"])
        props["body_encoding"] = encoding
        self._publish_envelope(message, exchange, routing_key, mandatory, **kwargs)

    def _publish_envelope(
        self,
        message: dict[str, Any],
        exchange: str,
        routing_key: str,
        mandatory: bool = False,
        **kwargs: Any,
    ) -> None:
        """Route an encoded envelope (used for publish and dead-lettering)."""
        if not exchange:
            if mandatory and not self._has_queue(routing_key):
                self._unroutable(message, exchange, routing_key)
                return
            self._put(routing_key, message, **kwargs)
            return
        meta = self._exchange_meta(exchange)
        if meta is None:
            raise NotFound(
                f"Cannot publish to exchange {exchange!r}: it does not exist "
                f"(404 NOT_FOUND). Declare the exchange before publishing "
                f"(e.g. Producer(..., exchange=Exchange({exchange!r}), auto_declare=True) "
                f"or publish(..., declare=[exchange]))."
            )
        routed = self.exchange_types[meta["type"]].deliver(message, exchange, routing_key, **kwargs)
        if routed == 0 and mandatory:
            self._unroutable(message, exchange, routing_key)

    def _unroutable(self, message: dict[str, Any], exchange: str, routing_key: str) -> None:
        """A mandatory message reached no queue: hand it to ``basic_return`` or raise."""
        exc = Unroutable(
            f"Message published with mandatory=True to exchange {exchange!r} with routing "
            f"key {routing_key!r} was not routed to any queue (312 NO_ROUTE): bind a queue "
            f"that matches it."
        )
        handlers = self.events.get("basic_return")
        if not handlers:
            raise exc
        returned = self.Message(message, channel=self)
        for handler in list(handlers):
            handler(exc, exchange, routing_key, returned)

    def _copy_message(self, message: dict[str, Any]) -> dict[str, Any]:
        """A copy of an envelope for another queue, with its own delivery tag."""
        props = dict(message["properties"])
        props["delivery_info"] = dict(props.get("delivery_info") or {})
        props["delivery_tag"] = self._next_delivery_tag()
        copy = dict(message)
        copy["properties"] = props
        return copy

    def _put_fanout(
        self, exchange: str, message: Any, routing_key: str, **kwargs: Any
    ) -> int | None:
        """Deliver to every queue bound to a fanout ``exchange``; return how many."""
        queues = self._lookup(exchange, routing_key)
        put = self._put
        for i, queue in enumerate(queues):
            put(queue, message if not i else self._copy_message(message), **kwargs)
        return len(queues)

    # -- consuming ----------------------------------------------------------

    def basic_consume(
        self,
        queue: str,
        no_ack: bool,
        callback: Callable[..., Any],
        consumer_tag: str,
        **kwargs: Any,
    ) -> str:
        """Start delivering messages of ``queue`` to ``callback``."""
        consumer_tag = consumer_tag or f"ctag-{uuid.uuid4().hex}"
        self._tag_to_queue[consumer_tag] = queue
        self._active_queues.append(queue)
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
        make_message = self.Message
        qos_append = self.qos.append

        def _callback(raw_message: Any) -> Any:
            message = make_message(raw_message, channel=self, queue=queue)
            message.delivery_info["consumer_tag"] = consumer_tag
            if no_ack:
                self._auto_ack(message)
            else:
                qos_append(message, message.delivery_tag)
            return callback(message)

        self._queue_callbacks[queue] = _callback
        self.connection._callbacks[queue] = _callback
        self._consumers.add(consumer_tag)
        self.state.consumer_added(queue)
        self._reset_cycle()
        return consumer_tag

    def basic_cancel(self, consumer_tag: str) -> None:
        """Stop the consumer ``consumer_tag``."""
        if consumer_tag not in self._consumers:
            return
        self._consumers.discard(consumer_tag)
        queue = self._tag_to_queue.pop(consumer_tag, None)
        if queue is not None:
            try:
                self._active_queues.remove(queue)
            except ValueError:
                pass
            if queue not in self._active_queues:
                self._forget_queue_callback(queue)
            self.state.consumer_removed(queue)
        self.no_ack_consumers.discard(consumer_tag)
        self._reset_cycle()

    def _forget_queue_callback(self, queue: str) -> None:
        """This channel no longer consumes ``queue``: hand the connection's
        callback for it to another channel that still does, if any."""
        mine = self._queue_callbacks.pop(queue, None)
        callbacks = self.connection._callbacks
        if callbacks.get(queue) is not mine:
            return
        callbacks.pop(queue, None)
        for other in self.connection.channels:
            theirs = (
                getattr(other, "_queue_callbacks", {}).get(queue) if other is not self else None
            )
            if theirs is not None:
                callbacks[queue] = theirs
                return

    def _reset_cycle(self) -> None:
        cycle = self._cycle
        if cycle is not None:
            cycle.resources = self._active_queues

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> _Message | None:
        """Fetch one message of ``queue`` synchronously (None if it is empty)."""
        try:
            raw = self._get(queue)
        except Empty:
            return None
        message = self.Message(raw, channel=self, queue=queue)
        if no_ack:
            self._auto_ack(message)
        else:
            self.qos.append(message, message.delivery_tag)
        return message

    def _auto_ack(self, message: _Message) -> None:
        """A message was delivered with ``no_ack``: the storage may forget it now."""

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge a message: it leaves the broker for good."""
        if multiple:
            self.qos.ack_multiple(delivery_tag)
        else:
            self.qos.ack(delivery_tag)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject a message: requeue it, or dead-letter (or drop) it."""
        self.qos.reject(delivery_tag, requeue=requeue)

    def basic_recover(self, requeue: bool = False) -> Any:
        """Requeue every unacked message of this channel."""
        if requeue:
            return self.qos.restore_unacked()
        raise NotImplementedError("basic_recover(requeue=False) is not supported: use requeue=True")

    def basic_qos(
        self, prefetch_size: int = 0, prefetch_count: int = 0, apply_global: bool = False
    ) -> None:
        """Set the prefetch limit (only ``prefetch_count`` is supported)."""
        self.qos.prefetch_count = prefetch_count or 0

    def flow(self, active: bool = True) -> None:
        """Pause (``active=False``) or resume delivery to this channel's consumers."""
        self._flow_active = bool(active)

    def drain_events(
        self, timeout: float | None = None, callback: Callable[..., Any] | None = None
    ) -> Any:
        """Deliver one message from this channel's queues (``queue.Empty`` if none)."""
        if self._consumers and self._flow_active and self.qos.can_consume():
            callback = callback or self.connection._deliver
            get_many = getattr(self, "_get_many", None)
            if get_many is not None:
                return callback(*get_many(self._active_queues, timeout=timeout))
            return self._poll(self.cycle, callback, timeout=timeout)
        raise Empty()

    def message_to_python(self, raw_message: Any) -> _Message:
        """Turn a stored envelope into a :class:`Message` (a Message is returned as is)."""
        if isinstance(raw_message, base.Message):
            return raw_message  # type: ignore[return-value]
        return self.Message(raw_message, channel=self)

    # -- redelivery and dead-lettering --------------------------------------

    def _can_restore_at_beginning(self) -> bool:
        return type(self)._restore_at_beginning is not Channel._restore_at_beginning

    def _restore(self, message: _Message) -> None:
        """Put an unacked message back in its queue, flagged redelivered."""
        raw = message._raw
        delivery_info = message.delivery_info
        delivery_info["redelivered"] = True
        queue = message._queue
        if queue is not None:
            self._put(queue, raw)
            return
        for q in self._lookup(
            delivery_info.get("exchange", ""), delivery_info.get("routing_key", ""), message=raw
        ):
            self._put(q, raw)

    def _restore_at_beginning(self, message: _Message) -> None:
        """Like :meth:`_restore`, but at the head of the queue where supported."""
        self._restore(message)

    def _dead_letter(self, message: _Message, reason: str = "rejected") -> None:
        """Send a rejected message to its queue's dead-letter exchange (or drop it)."""
        self._dead_letter_raw(message._queue, message._raw, reason)

    def _dead_letter_raw(self, queue: str | None, raw: Any, reason: str) -> bool:
        """Dead-letter the envelope ``raw`` from ``queue``; False if it was dropped."""
        args = self._queue_arguments(queue)
        if not args or not isinstance(raw, dict):
            return False
        dlx = args.get("x-dead-letter-exchange")
        if dlx is None:
            return False
        props = dict(raw.get("properties") or {})
        delivery_info = props.get("delivery_info") or {}
        original_key = delivery_info.get("routing_key", "")
        routing_key = args.get("x-dead-letter-routing-key") or original_key
        headers = dict(raw.get("headers") or {})
        deaths = [dict(d) for d in headers.get("x-death") or ()]
        for i, death in enumerate(deaths):
            if death.get("queue") == queue and death.get("reason") == reason:
                death["count"] = int(death.get("count", 1)) + 1
                deaths.insert(0, deaths.pop(i))
                break
        else:
            deaths.insert(
                0,
                {
                    "count": 1,
                    "reason": reason,
                    "queue": queue,
                    "time": int(time.time()),
                    "exchange": delivery_info.get("exchange", ""),
                    "routing-keys": [original_key],
                },
            )
        headers["x-death"] = deaths
        headers.setdefault("x-first-death-reason", reason)
        headers.setdefault("x-first-death-queue", queue)
        headers.setdefault("x-first-death-exchange", delivery_info.get("exchange", ""))
        props.pop("expiration", None)  # would expire again at once
        props["delivery_info"] = {"exchange": dlx, "routing_key": routing_key}
        props["delivery_tag"] = self._next_delivery_tag()
        envelope = dict(raw)
        envelope["properties"] = props
        envelope["headers"] = headers
        try:
            self._publish_envelope(envelope, dlx, routing_key)
        except NotFound:
            warnings.warn(
                f"Dead-letter exchange {dlx!r} of queue {queue!r} does not exist: "
                f"a {reason} message was dropped.",
                UndeliverableWarning,
                stacklevel=2,
            )
            return False
        return True

    def _message_deadline(self, queue: str, message: Any, now: float | None = None) -> float | None:
        """When ``message`` put in ``queue`` now expires (epoch seconds), or None.

        The sooner of the queue's ``x-message-ttl`` and the message's
        ``expiration`` property (both milliseconds).
        """
        ttl = None
        args = self._queue_arguments(queue)
        if args:
            ttl = _ttl_ms(args.get("x-message-ttl"))
        try:
            expiration = _ttl_ms(message["properties"].get("expiration"))
        except (KeyError, TypeError, AttributeError):
            expiration = None
        if expiration is not None and (ttl is None or expiration < ttl):
            ttl = expiration
        if ttl is None:
            return None
        return (now if now is not None else time.time()) + ttl / 1000.0

    def _expired(self, queue: str, message: Any) -> None:
        """An expired message was found in ``queue``: dead-letter or drop it."""
        self._dead_letter_raw(queue, message, "expired")

    def _restore_raw(self, queue: str, raw: Any) -> None:
        """Put a fetched but undelivered envelope back (at the head if supported)."""
        self._restore_at_beginning(self.Message(raw, channel=self, queue=queue))

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Cancel consumers and give unacked messages back to their queues."""
        if self.closed:
            return
        self.closed = True
        for consumer in list(self._consumers):
            self.basic_cancel(consumer)
        if self._qos is not None:
            self._qos.restore_unacked_once()
        if self._cycle is not None:
            self._cycle.close()
            self._cycle = None
        connection = self.connection
        if connection is not None:
            connection.close_channel(self)

    def get_bindings(self) -> list[dict[str, Any]]:
        return [
            {"queue": q, "exchange": e, "routing_key": r, "arguments": a}
            for (q, e, r), a in list(self.state.bindings.items())
        ]

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


class Transport(base.Transport):
    """A virtual transport: channels over a storage without AMQP.

    ``state`` (exchanges and bindings) is shared by every connection of one
    transport class.  ``drain_events`` polls the channels fairly, sleeping
    ``polling_interval`` seconds between empty polls.
    """

    Channel: Any = Channel
    Cycle = FairCycle
    #: Seconds to sleep between unsuccessful polls.
    polling_interval: float | None = 1.0
    default_port: int | None = None
    channel_max = 65535
    driver_type = "virtual"
    driver_name = "virtual"
    #: Most messages delivered by one ``drain_events`` call.
    drain_batch_size = 100
    state: BrokerState = BrokerState()
    cycle: FairCycle | None = None
    implements = base.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "state" not in cls.__dict__:
            # Each transport class gets its own broker, of its parent's state type.
            cls.state = type(cls.state)()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.client = client
        self.channels: list[Channel] = []
        self._avail_channels: list[Channel] = []
        self._callbacks: dict[str, Callable[..., Any]] = {}
        self.cycle = self.Cycle(self._drain_channel, self.channels, Empty)
        options = getattr(client, "transport_options", None) or {}
        polling_interval = options.get("polling_interval")
        if polling_interval is not None:
            self.polling_interval = polling_interval
        self._avail_channel_ids = list(range(self.channel_max, 0, -1))
        self._pass_counts: dict[Any, int] = {}

    # -- connection and channels --------------------------------------------

    def establish_connection(self) -> Transport:
        # One channel is created up front (checks the storage works) and
        # handed out by the next create_channel().
        self._avail_channels.append(self.create_channel(self))
        return self

    def close_connection(self, connection: Any) -> None:
        if self.cycle is not None:
            self.cycle.close()
        for channels in (self._avail_channels, self.channels):
            while channels:
                try:
                    channel = channels.pop()
                except LookupError:  # another thread emptied it
                    break
                channel.close()

    def create_channel(self, connection: Any) -> Channel:
        try:
            return self._avail_channels.pop()
        except IndexError:
            channel = self.Channel(connection)
            self.channels.append(channel)
            return channel

    def close_channel(self, channel: Any) -> None:
        try:
            self._avail_channel_ids.append(channel.channel_id)
        except AttributeError:
            pass
        try:
            self.channels.remove(channel)
        except ValueError:
            pass
        if not getattr(channel, "closed", True):
            channel.close()

    def verify_connection(self, connection: Any) -> bool:
        return True

    def driver_version(self) -> str:
        return "N/A"

    # -- draining -----------------------------------------------------------

    def _drain_channel(
        self, channel: Channel, callback: Callable[..., Any], timeout: float | None = None
    ) -> Any:
        # One drain_events call delivers at most the prefetch count per channel.
        counts = self._pass_counts
        qos = channel._qos
        limit = qos.prefetch_count if qos is not None else 0
        if limit and counts.get(channel, 0) >= limit:
            raise Empty()
        result = channel.drain_events(callback=callback, timeout=timeout)
        counts[channel] = counts.get(channel, 0) + 1
        return result

    def _deliver(self, message: Any, queue: str) -> None:
        try:
            callback = self._callbacks[queue]
        except KeyError:
            self._reject_inbound_message(message, queue)
            return
        callback(message)

    def on_message_ready(self, channel: Channel, message: Any, queue: str) -> None:
        """A message for ``queue`` arrived (event-loop driven transports)."""
        self._deliver(message, queue)

    def _reject_inbound_message(self, raw: Any, queue: str) -> None:
        """No consumer wants ``raw`` any more: put it back in ``queue``."""
        for channel in self.channels:
            if not channel.closed:
                channel._restore_raw(queue, raw)
                return
        warnings.warn(
            f"No open channel to give back a message of queue {queue!r}",
            UndeliverableWarning,
            stacklevel=2,
        )

    def _poll_token(self) -> Any:
        """Snapshot taken before a poll; :meth:`_wait` may use it to wake early."""
        return None

    def _wait(self, token: Any, timeout: float | None) -> None:
        """Nothing was ready: wait before polling again (at most ``timeout`` s)."""
        interval = self.polling_interval
        if interval is None:
            return
        if timeout is not None:
            interval = min(interval, timeout)
        if interval > 0:
            time.sleep(interval)

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Deliver ready messages to consumers; ``socket.timeout`` if none came in time.

        Delivers at least one message and up to :attr:`drain_batch_size` when
        more are ready (never beyond a channel's prefetch limit).
        ``timeout=0`` polls once; ``None`` waits for as long as it takes.
        """
        cycle = self.cycle
        assert cycle is not None
        self._pass_counts = {}
        get = cycle.get
        deliver = self._deliver
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            token = self._poll_token()
            try:
                get(deliver, timeout=timeout)
            except Empty:
                remaining = None
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError()
                self._wait(token, remaining)
                continue
            break
        for _ in range(self.drain_batch_size - 1):
            try:
                get(deliver, timeout=0)
            except Empty:
                break
