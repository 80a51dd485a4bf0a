"""Consuming on a virtual channel: consumers, fetching into the channel's buffer, delivery.

A channel fetches leased entries for its own consumers only, up to its
prefetch room, and hands each to one of its consumers of that queue; so an
ack always reaches the QoS and storage that hold the message, however many
channels of the connection consume the same queue.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from queue import Empty
from typing import TYPE_CHECKING, Any

from .. import base
from .contract import Delivery
from .envelope import is_expired
from .message import Message as _Message

__all__ = ("ConsumingMixin",)

_UNKNOWN: Any = object()


class ConsumingMixin:
    """Consumers and delivery (mixed into the virtual Channel)."""

    #: Order the queues of several consumers are fetched from: ``"round_robin"``
    #: (each fetch starts one queue later), ``"sorted"`` (by name) or
    #: ``"priority"`` (in the order the consumers were added).
    queue_order_strategy = "round_robin"
    #: Most messages one fetch moves when no prefetch limit is set.
    fetch_batch = 100
    #: Whether the broker ever pushed an entry to this channel (broadcasts).
    _pushed = False

    connection: Any
    storage: Any
    closed: bool
    Message: Any
    no_ack_consumers: set[str]
    _consumers: set[str]
    _tag_to_queue: dict[str, str]
    _callbacks: dict[str, Callable[..., Any]]
    _active_queues: list[str]
    _queue_consumers: dict[str, list[str]]
    _noack_queues: frozenset[str]
    _rotation: int
    _flow_active: bool
    _buffer: deque[Delivery]
    #: queue -> its x-message-ttl (ms) or None, as this channel last read it.
    _queue_ttls: dict[str, float | None]
    _cycle: Any
    _qos: Any

    qos: Any
    state: Any

    if TYPE_CHECKING:  # provided by the Channel and EntityMixin
        def _give_back(self, select: Callable[[Delivery], bool] = ...) -> None: ...  # type: ignore[assignment]
        def _requeue_deliveries(self, deliveries: Any) -> None: ...
        def _dead_letter(self, message: Any, reason: str = "rejected") -> None: ...
        def _queue_ttl(self, queue: str) -> float | None: ...
        def _queue_arguments(self, queue: str | None) -> Any: ...

    # -- consuming ------------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, callback: Callable[..., Any],
                      consumer_tag: str, **kwargs: Any) -> str:
        """Start delivering messages of ``queue`` to ``callback`` (a Message each)."""
        consumer_tag = consumer_tag or f"ctag-{uuid.uuid4().hex}"
        self._consumers.add(consumer_tag)
        self._tag_to_queue[consumer_tag] = queue
        self._callbacks[consumer_tag] = callback
        self._active_queues.append(queue)
        self._queue_consumers.setdefault(queue, []).append(consumer_tag)
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
        self._consumers_changed()
        self.state.consumer_added(queue)
        return consumer_tag

    def basic_cancel(self, consumer_tag: str) -> None:
        """Stop the consumer ``consumer_tag``; what it had prefetched goes back."""
        if consumer_tag not in self._consumers:
            return
        self._consumers.discard(consumer_tag)
        self._callbacks.pop(consumer_tag, None)
        queue = self._tag_to_queue.pop(consumer_tag, None)
        self.no_ack_consumers.discard(consumer_tag)
        if queue is not None:
            try:
                self._active_queues.remove(queue)
            except ValueError:
                pass
            tags = self._queue_consumers.get(queue, [])
            if consumer_tag in tags:
                tags.remove(consumer_tag)
            if not tags:
                self._queue_consumers.pop(queue, None)
                self._give_back(lambda d: d.queue == queue)
            self.state.consumer_removed(queue)
        self._consumers_changed()

    def _consumers_changed(self) -> None:
        self._noack_queues = frozenset(
            q for q, tags in self._queue_consumers.items()
            if tags and all(t in self.no_ack_consumers for t in tags))
        if self._cycle is not None:
            self._cycle.resources = self._active_queues
        self.connection.consumers_changed()

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> _Message | None:
        """Fetch one message of ``queue`` synchronously (None if it is empty)."""
        self.connection._maybe_restore_lapsed(self.storage)
        noack = (queue,) if no_ack else ()
        while True:
            fetched = self.storage.fetch([queue], 1, noack)
            if not fetched:
                return None
            delivery = fetched[0]
            message = self._make_message(delivery)
            if self._expire_if_due(message):
                continue
            if delivery.leased:
                self.qos.append(message, message.delivery_tag)
                self.connection._leases_held(self)
            return message

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        """Set the prefetch limit (only ``prefetch_count`` is supported)."""
        self.qos.prefetch_count = prefetch_count or 0

    def flow(self, active: bool = True) -> None:
        """Pause (``active=False``) or resume delivery to this channel's consumers."""
        self._flow_active = bool(active)

    def _make_message(self, delivery: Delivery) -> _Message:
        return self.Message(delivery.payload, self, delivery.queue, delivery.tag,
                            delivery.leased)

    def _expire_if_due(self, message: _Message) -> bool:
        """Dead-letter (or drop) ``message`` if its TTL ran out while it waited."""
        raw = message._raw
        if not isinstance(raw, dict):
            return False
        qttl = self._queue_ttl(message._queue) if message._queue is not None else None
        if qttl is None and "expiration" not in message.properties:
            return False
        if not is_expired(raw, qttl):
            return False
        self._dead_letter(message, "expired")
        return True

    # -- the engine's side: fetch into the buffer, deliver from it ------------

    def capacity(self) -> int:
        """How many more entries this channel may fetch for its consumers now."""
        if not self._consumers or not self._flow_active or self.closed:
            return 0
        buffered = len(self._buffer)
        pcount = self.qos.prefetch_count
        if not pcount:
            return max(0, self.fetch_batch - buffered)
        return max(0, pcount - len(self.qos._delivered) - buffered)

    def _fetch_order(self) -> list[str]:
        """The queues to fetch from, in order of preference (``queue_order_strategy``)."""
        queues = list(dict.fromkeys(self._active_queues))
        if len(queues) > 1:
            strategy = self.queue_order_strategy
            if strategy == "sorted":
                queues.sort()
            elif strategy == "round_robin":
                n = self._rotation % len(queues)
                self._rotation += 1
                queues = queues[n:] + queues[:n]
        return queues

    @property
    def consuming_queues(self) -> list[str]:
        """The queues this channel's consumers consume from (each once)."""
        return list(dict.fromkeys(self._active_queues))

    def fetch(self, n: int, timeout: float = 0.0) -> int:
        """Fetch up to ``n`` entries for this channel's consumers into its buffer."""
        fetched = self.storage.fetch(self._fetch_order(), n, self._noack_queues, timeout)
        if fetched:
            self._buffer.extend(fetched)
            self.connection._leases_held(self)
        return len(fetched)

    def push(self, delivery: Delivery) -> None:
        """An entry the broker pushed to this channel (e.g. a fanout broadcast)."""
        self._pushed = True
        self._buffer.append(delivery)

    def deliver_buffered(self, limit: int) -> int:
        """Hand up to ``limit`` buffered entries to this channel's consumers."""
        buffer = self._buffer
        delivered = 0
        consumers = self._queue_consumers
        callbacks = self._callbacks
        no_ack = self.no_ack_consumers
        qos = self.qos
        delivered_map = qos._delivered
        make = self.Message
        ttls = self._queue_ttls
        popleft = buffer.popleft
        while buffer and delivered < limit and self._flow_active and not self.closed:
            if self._pushed and not buffer[0][3] and not qos.can_consume():
                break  # pushed entries count against the prefetch limit here
            queue, dtag, payload, leased, _ = popleft()
            tags = consumers.get(queue)
            if not tags:
                self._requeue_deliveries((Delivery(queue, dtag, payload, leased),))
                continue
            if len(tags) == 1:
                tag = tags[0]
            else:
                tag = tags[self._rotation % len(tags)]
                self._rotation += 1
            message = make(payload, self, queue, dtag, leased)
            qttl = ttls.get(queue, _UNKNOWN)
            if qttl is _UNKNOWN:
                qttl = self._queue_ttl(queue)
                if self._queue_arguments(queue) is not None:  # known: keep it
                    ttls[queue] = qttl
            if (qttl is not None or "expiration" in message.properties) \
                    and self._expire_if_due(message):
                continue
            message.delivery_info["consumer_tag"] = tag
            if tag in no_ack:
                if leased:
                    self.storage.ack((dtag,))
                    message._leased = False
            else:
                delivered_map[dtag] = message
            delivered += 1
            callbacks[tag](message)
        return delivered

    def held_tags(self) -> list[str]:
        """Leased delivery tags this channel holds (buffered or unacked): read by the keeper."""
        for _ in range(5):
            try:
                tags = [d.tag for d in tuple(self._buffer) if d.leased]
                break
            except RuntimeError:
                continue
        else:
            tags = []
        qos = self._qos
        if qos is not None:
            tags.extend(qos.held_tags())
        return tags

    def drain_events(self, timeout: float | None = None,
                     callback: Callable[..., Any] | None = None) -> Any:
        """Deliver one batch from this channel's queues (``queue.Empty`` if none is ready)."""
        if not self._buffer:
            n = self.capacity()
            if n:
                self.fetch(n)
        if not self._buffer:
            raise Empty()
        if callback is not None:
            delivery = self._buffer.popleft()
            return callback(self._make_message(delivery), delivery.queue)
        return self.deliver_buffered(self.connection.drain_batch_size)

    def message_to_python(self, raw_message: Any) -> _Message:
        """Turn a stored envelope into a :class:`Message` (a Message is returned as is)."""
        if isinstance(raw_message, base.Message):
            return raw_message  # type: ignore[return-value]
        return self.Message(raw_message, channel=self)

