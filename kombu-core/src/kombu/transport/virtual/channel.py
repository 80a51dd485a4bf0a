"""The virtual channel: AMQP's publish, consume and acknowledge over a :class:`~.contract.Storage`.

Publishing routes through the connection's cached tables and stores one
copy per target queue in one storage call.  Consuming fetches leased entries
into the channel's own buffer, up to the prefetch limit, and hands each to a
consumer *of this channel*; its acknowledgement goes back to this channel's
QoS and storage, whatever other channels of the connection consume.
"""

from __future__ import annotations

import base64
import time
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from queue import Empty
from typing import Any

from ...exceptions import ChannelError
from ...utils.scheduling import FairCycle
from .. import base
from .consuming import ConsumingMixin
from .contract import Delivery, Target
from .deadletter import dead_letter_envelope, dead_letter_target
from .entities import EntityMixin
from .envelope import ENQUEUED_KEY
from .errors import NotFound, UndeliverableWarning, Unroutable
from .exchange import STANDARD_EXCHANGE_TYPES
from .hooks import AbstractChannel
from .message import Message
from .message import Message as _Message
from .qos import QoS
from .qos import QoS as _QoS
from .state import BrokerState
from .tags import next_delivery_tag

__all__ = ("Base64", "Channel")


class Base64:
    """Body codec: base64 text (bodies stored in text-only brokers)."""

    def encode(self, s: str | bytes) -> str:
        if isinstance(s, str):
            s = s.encode("utf-8")
        return base64.b64encode(s).decode("ascii")

    def decode(self, s: str | bytes) -> bytes:
        return base64.b64decode(s)


def _priority(value: Any) -> int:
    if value.__class__ is int:
        return int(value)
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


class Channel(ConsumingMixin, EntityMixin, AbstractChannel, base.StdChannel):
    """A virtual channel.  ``connection`` is the :class:`~.transport.Transport` it belongs to."""

    #: _Message class built from a stored envelope.
    Message = Message
    #: _QoS class (acknowledgement emulation).
    QoS = QoS
    #: Restore unacked messages when the channel closes.
    do_restore = True
    #: Exchange type name -> class; instances per channel are built in __init__.
    exchange_types: dict[str, Any] = dict(STANDARD_EXCHANGE_TYPES)
    #: kombu's classic-hook transports set this when they share bindings themselves
    #: (``_queue_bind``, ``get_table``, ``_put_fanout``).
    supports_fanout = False
    #: Body codecs by name.
    codecs: dict[str, Any] = {"base64": Base64()}
    #: How bodies are encoded in the store (None: stored as given).
    body_encoding: str | None = "base64"
    #: Queue receiving messages that no binding routes (None: they are dropped).
    deadletter_queue: str | None = None
    #: Priority used when a message sets none.
    default_priority = 0
    #: How message priorities order a queue: ``"amqp"`` (higher first, only in
    #: queues declared with ``x-max-priority``), ``"kombu"`` (lower first, 0..9,
    #: every queue: kombu's Redis order) or ``"auto"`` (amqp where the queue
    #: has ``x-max-priority``, kombu elsewhere).
    priority_order = "amqp"
    #: The range of AMQP priorities (``x-max-priority`` is clamped to it).
    min_priority = 0
    max_priority = 255
    #: The priority range (0..N) of a queue declared without ``x-max-priority``
    #: (0: such a queue ignores priorities, as in AMQP).
    default_max_priority = 0
    #: Stamp ``properties['delivery_tag']`` at publish (for kombu clients
    #: sharing the storage, which read it back as their delivery tag).
    stamp_delivery_tag = False
    #: Options read from ``Connection.transport_options``.
    from_transport_options: tuple[str, ...] = (
        "body_encoding", "deadletter_queue", "priority_order", "fetch_batch",
        "queue_order_strategy")

    _qos: _QoS | None = None
    #: Whether the QoS class keeps the engine's ack (so basic_ack may inline it).
    _plain_qos = False
    _cycle: FairCycle | None = None

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self.connection = connection
        self._consumers: set[str] = set()
        self._tag_to_queue: dict[str, str] = {}
        self._callbacks: dict[str, Callable[..., Any]] = {}
        self._active_queues: list[str] = []
        self._queue_consumers: dict[str, list[str]] = {}
        self._noack_queues: frozenset[str] = frozenset()
        self._rotation = 0
        self.no_ack_consumers: set[str] = set()
        self.closed = False
        self._flow_active = True
        self._buffer: deque[Delivery] = deque()
        self._queue_ttls: dict[str, float | None] = {}
        self._qargs: dict[str, Any] = {}
        self._direct_targets: dict[Any, tuple[Target, ...]] = {}
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
        if self.queue_order_strategy not in ("round_robin", "sorted", "priority"):
            raise ValueError(
                f"queue_order_strategy must be 'round_robin', 'sorted' or 'priority', "
                f"not {self.queue_order_strategy!r}")
        if self.priority_order not in ("amqp", "kombu", "auto"):
            raise ValueError(f"priority_order must be 'amqp', 'kombu' or 'auto', "
                             f"not {self.priority_order!r}")
        self.storage = connection.create_storage(self)

    # -- properties -----------------------------------------------------------

    @property
    def state(self) -> BrokerState:
        """The in-process broker state of the transport (exchanges, bindings, consumers)."""
        return self.connection.state  # type: ignore[no-any-return]

    @property
    def qos(self) -> _QoS:
        """The acknowledgement state of this channel."""
        qos = self._qos
        if qos is None:
            qos = self._qos = self.QoS(self)
            self._plain_qos = type(qos).ack is QoS.ack
        return qos

    @property
    def cycle(self) -> FairCycle:
        """Fair cycle over the queues this channel consumes from (kombu's interface)."""
        if self._cycle is None:
            self._cycle = FairCycle(self._get_and_deliver, self._active_queues, Empty)
        return self._cycle

    @property
    def is_open(self) -> bool:
        return not self.closed

    def _next_delivery_tag(self) -> str:
        return next_delivery_tag()

    # -- priority levels ------------------------------------------------------

    def _level(self, queue: str, priority: int) -> int:
        """The storage level (higher served first) of ``priority`` in ``queue``."""
        order = self.priority_order
        if order != "kombu":
            top = self._max_priority(queue)
            if top or order == "amqp":
                top = top or self.default_max_priority
                return 0 if priority <= 0 else (priority if priority < top else top)
        return 9 - (0 if priority <= 0 else (priority if priority < 9 else 9))

    # -- publishing -----------------------------------------------------------

    def encode_body(self, body: Any, encoding: str | None = None) -> tuple[Any, str | None]:
        if encoding:
            return self.codecs[encoding].encode(body), encoding
        return body, encoding

    def decode_body(self, body: Any, encoding: str | None = None) -> Any:
        if encoding:
            return self.codecs[encoding].decode(body)
        return body

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None, content_encoding: str | None = None,
                        headers: dict[str, Any] | None = None,
                        properties: dict[str, Any] | None = None) -> dict[str, Any]:
        """Build the envelope ``basic_publish`` sends."""
        if properties is None:
            properties = {}
        properties["priority"] = priority if priority is not None else self.default_priority
        return {"body": body, "content-encoding": content_encoding,
                "content-type": content_type,
                "headers": headers if headers is not None else {},
                "properties": properties}

    def basic_publish(self, message: dict[str, Any], exchange: str, routing_key: str,
                      mandatory: bool = False, immediate: bool = False, **kwargs: Any) -> None:
        """Route ``message`` through ``exchange`` (``''``: straight to queue ``routing_key``)."""
        props = message["properties"]
        props["delivery_info"] = {"exchange": exchange, "routing_key": routing_key}
        encoding = self.body_encoding
        if encoding:
            message["body"] = self.codecs[encoding].encode(message["body"])
        props["body_encoding"] = encoding
        if self.stamp_delivery_tag:
            props["delivery_tag"] = next_delivery_tag()
        message[ENQUEUED_KEY] = time.time()
        self._route_and_put(message, exchange, routing_key, mandatory)

    def _route_and_put(self, message: dict[str, Any], exchange: str, routing_key: str,
                       mandatory: bool = False) -> int:
        """Store an encoded envelope in the queues ``exchange`` routes it to; return how many."""
        storage = self.storage
        priority = _priority(message["properties"].get("priority"))
        if not exchange:
            if mandatory and not storage.queue_exists(routing_key):
                self._unroutable(message, exchange, routing_key)
                return 0
            key = (routing_key, priority)
            targets = self._direct_targets.get(key)
            if targets is None:
                if len(self._direct_targets) > 4096:
                    self._direct_targets.clear()
                targets = self._direct_targets[key] = (
                    Target(routing_key, self._level(routing_key, priority)),)
            storage.put(message, targets, None)
            return 1
        router = self.connection.router
        # The hot path: the cached route of this exchange and routing key.
        route = router.routes.get(exchange)
        if route is not None and (storage.checks_route_version
                                  or storage.route_version(exchange) == route.version):
            entry = route.cache.get(routing_key)
            if entry is not None:
                targets = entry.targets.get(priority)
                if targets is not None and storage.put(message, targets, route.version):
                    return len(targets)
        for _ in range(10):
            route = router.route(exchange, storage, self.exchange_types)
            if route.meta is None:
                if self._auto_declare(exchange):
                    continue
                raise NotFound(
                    f"Cannot publish to exchange {exchange!r}: it does not exist "
                    f"(404 NOT_FOUND). Declare the exchange before publishing "
                    f"(e.g. Producer(..., exchange=Exchange({exchange!r}), auto_declare=True) "
                    f"or publish(..., declare=[exchange])).")
            entry = route.entry(routing_key, message.get("headers"))
            if entry.queues:
                targets = entry.targets_for(priority, self._level)
            elif self.deadletter_queue:
                targets = (Target(self.deadletter_queue,
                                  self._level(self.deadletter_queue, priority)),)
            else:
                if mandatory:
                    self._unroutable(message, exchange, routing_key)
                return 0
            if storage.put(message, targets, route.version):
                return len(targets)
            router.forget(exchange)  # the table changed under us: read it again
        raise ChannelError(f"Bindings of exchange {exchange!r} keep changing: publish retried "
                           f"10 times without a stable routing table.")

    def _lookup(self, exchange: str, routing_key: str, default: str | None = None,
                message: Any = None) -> list[str]:
        """The queues a message published to ``exchange``/``routing_key`` goes to."""
        if default is None:
            default = self.deadletter_queue
        if not exchange:
            return [routing_key] if routing_key else ([default] if default else [])
        route = self._route(exchange)
        headers = message.get("headers") if isinstance(message, dict) else None
        queues = list(route.entry(routing_key, headers).queues)
        return queues or ([default] if default else [])

    def _unroutable(self, message: dict[str, Any], exchange: str, routing_key: str) -> None:
        """A mandatory message reached no queue: hand it to ``basic_return`` or raise."""
        exc = Unroutable(
            f"Message published with mandatory=True to exchange {exchange!r} with routing "
            f"key {routing_key!r} was not routed to any queue (312 NO_ROUTE): bind a queue "
            f"that matches it.")
        handlers = self.events.get("basic_return")
        if not handlers:
            raise exc
        returned = self.Message(message, channel=self)
        for handler in list(handlers):
            handler(exc, exchange, routing_key, returned)

    def _copy_envelope(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """A copy of an envelope for another queue (its own properties)."""
        props = dict(envelope["properties"])
        props["delivery_info"] = dict(props.get("delivery_info") or {})
        copy = dict(envelope)
        copy["properties"] = props
        return copy

    _copy_message = _copy_envelope

    # -- acknowledgements -----------------------------------------------------

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        """Acknowledge a message: it leaves the broker for good before this returns."""
        qos = self._qos or self.qos
        if multiple:
            qos.ack_multiple(delivery_tag)
        elif not self._plain_qos:
            qos.ack(delivery_tag)
        else:  # QoS.ack, inlined: the consume hot path
            message = qos._delivered.pop(delivery_tag, None)
            if message is not None:
                if getattr(message, "_leased", False):
                    self.storage.ack((delivery_tag,))
                if self.connection._loop is not None:
                    self.connection._capacity_freed(self)

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Reject a message: requeue it, or dead-letter (or drop) it."""
        self.qos.reject(delivery_tag, requeue=requeue)

    def basic_recover(self, requeue: bool = False) -> Any:
        """Requeue every unacked message of this channel."""
        if requeue:
            return self.qos.restore_unacked()
        raise NotImplementedError("basic_recover(requeue=False) is not supported: use requeue=True")

    def _ack_messages(self, messages: Iterable[_Message]) -> None:
        tags = [m.delivery_tag for m in messages if getattr(m, "_leased", False)]
        if tags:
            self.storage.ack(tags)
        self.connection._capacity_freed(self)

    def _requeue_messages(self, messages: Sequence[_Message]) -> None:
        """Give messages back to the head of their queues, flagged redelivered."""
        deliveries = []
        for message in messages:
            raw = message._raw
            queue = message._queue or message.delivery_info.get("routing_key", "")
            if isinstance(raw, dict):
                props = dict(raw.get("properties") or {})
                info = dict(props.get("delivery_info") or {})
                info.pop("consumer_tag", None)
                info["redelivered"] = True
                props["delivery_info"] = info
                raw = {**raw, "properties": props}
                level = self._level(queue, _priority(props.get("priority")))
            else:
                level = 0
            deliveries.append(Delivery(queue, message.delivery_tag, raw, message._leased, level))
        if deliveries:
            self.storage.requeue(deliveries)
            self.connection._capacity_freed(self)

    def _requeue_deliveries(self, deliveries: Iterable[Delivery]) -> None:
        """Give fetched, undelivered entries back to the head of their queues."""
        self._requeue_messages([self._make_message(d) for d in deliveries])

    def _give_back(self, select: Callable[[Delivery], bool] = lambda d: True) -> None:
        """Return buffered, undelivered entries chosen by ``select`` to their queues."""
        keep: list[Delivery] = []
        back: list[Delivery] = []
        for delivery in self._buffer:
            (back if select(delivery) else keep).append(delivery)
        if not back:
            return
        self._buffer = deque(keep)
        try:
            self._requeue_deliveries(back)
        except self.connection.connection_errors:
            # Leased ones come back when their leases lapse.
            pass

    # -- dead letters ---------------------------------------------------------

    def _dead_letter(self, message: _Message, reason: str = "rejected") -> None:
        """Send a rejected or expired message to its queue's dead-letter exchange, then ack it."""
        self._dead_letter_envelope(message._queue, message._raw, reason)
        self._ack_messages((message,))

    def _dead_letter_envelope(self, queue: str | None, raw: Any, reason: str) -> bool:
        """Republish ``raw`` through ``queue``'s dead-letter exchange; False if it was dropped."""
        if not isinstance(raw, dict):
            raw = {"body": raw if isinstance(raw, str) else Base64().encode(raw),
                   "content-type": "application/octet-stream", "content-encoding": "binary",
                   "headers": {}, "properties": {
                       "body_encoding": None if isinstance(raw, str) else "base64",
                       "delivery_info": {"exchange": "", "routing_key": queue or ""}}}
        props = raw.get("properties")
        info = props.get("delivery_info") if isinstance(props, dict) else None
        if not isinstance(info, dict):
            info = {"routing_key": queue or ""}
        target = dead_letter_target(self._queue_arguments(queue), info.get("routing_key", ""))
        if target is None:
            return False
        exchange, routing_key = target
        envelope = dead_letter_envelope(raw, queue, reason, exchange, routing_key)
        try:
            self._route_and_put(envelope, exchange, routing_key)
        except NotFound:
            warnings.warn(f"Dead-letter exchange {exchange!r} of queue {queue!r} does not "
                          f"exist: a {reason} message was dropped.", UndeliverableWarning,
                          stacklevel=2)
            return False
        return True

    # -- kombu's classic hooks, answered by the storage ----------------------

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        fetched = self.storage.fetch([queue], 1, (queue,))
        if not fetched:
            raise Empty()
        return fetched[0].payload

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        priority = _priority(message["properties"].get("priority"))
        self.storage.put(message, (Target(queue, self._level(queue, priority)),), None)

    def _size(self, queue: str) -> int:
        return int(self.storage.queue_size(queue))

    def _purge(self, queue: str) -> int:
        return int(self.storage.purge_queue(queue))

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.storage.delete_queue(queue)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self.storage.declare_queue(queue, kwargs.get("arguments"))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return bool(self.storage.queue_exists(queue))

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Cancel consumers and give unacked and prefetched messages back to their queues."""
        if self.closed:
            return
        try:
            for consumer in list(self._consumers):
                self.basic_cancel(consumer)
            self._give_back()
            if self._qos is not None:
                self._qos.restore_unacked_once()
        finally:
            self.closed = True
            self._buffer.clear()
            try:
                self.storage.close()
            finally:
                connection = self.connection
                if connection is not None:
                    connection.close_channel(self)

    def _collect(self) -> None:
        """The connection is lost: forget what this channel holds.

        Leased entries come back when their leases lapse.  A storage without
        leases keeps held entries in this process: they are given back now,
        as a close would.
        """
        if self.storage.lease_seconds is None:
            try:
                self.close()
                return
            except Exception:
                pass
        self.closed = True
        self._buffer.clear()
        if self._qos is not None:
            self._qos._delivered.clear()
        try:
            self.storage.close()
        except Exception:
            pass

    def after_reply_message_received(self, queue: str) -> None:
        """Reply queues are left in place."""

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

