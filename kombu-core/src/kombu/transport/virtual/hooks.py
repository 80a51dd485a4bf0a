"""kombu's classic storage hooks, and the storage that runs a transport written on them.

A transport written for kombu's virtual base implements, on its channel,
``_get``, ``_put``, ``_purge``, ``_size``, ``_delete``, ``_new_queue`` and
``_has_queue`` (and, to share bindings between processes, ``supports_fanout``
with ``_queue_bind``, ``get_table`` and ``_put_fanout``).  Such a transport
keeps working: the engine drives it through :class:`HookStorage`.  It gets
kombu's guarantees, not more: ``_get`` removes a message, so what a consumer
holds lives in its process and comes back when its channel closes (no
leases).  A new transport should implement :class:`~.contract.Storage`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from queue import Empty
from typing import Any

from ...utils.scheduling import FairCycle
from .contract import Binding, Delivery, RouteTable, Target
from .entities import EntityMixin
from .envelope import deadline as _deadline
from .envelope import ttl_ms

__all__ = ("AbstractChannel", "HookStorage")


class AbstractChannel:
    """kombu's classic storage hooks a virtual channel may implement.

    Subclass :class:`~kombu.transport.virtual.Channel`, not this class.
    """

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """Remove and return the next envelope of ``queue``; raise ``queue.Empty`` if none."""
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
        """Delete ``queue`` (kombu passes each binding's fields as ``args``)."""
        self._purge(queue)

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Create ``queue`` if the storage needs it."""

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """Whether ``queue`` exists."""
        return True

    def _poll(self, cycle: FairCycle, callback: Callable[..., Any],
              timeout: float | None = None) -> Any:
        """Deliver one message from the next queue in ``cycle`` that has one."""
        return cycle.get(callback)

    def _get_and_deliver(self, queue: str, callback: Callable[..., Any]) -> None:
        message = self._get(queue)
        callback(message, queue)

    # Helpers kombu's hooks call: TTLs and dead letters of the engine.

    def _message_deadline(self, queue: str, message: Any, now: float | None = None
                          ) -> float | None:
        """When ``message`` in ``queue`` expires (epoch seconds), or None."""
        args = self._queue_arguments(queue)  # type: ignore[attr-defined]
        return _deadline(message, ttl_ms(args.get("x-message-ttl")) if args else None)

    def _expired(self, queue: str, message: Any) -> None:
        """An expired envelope was found in ``queue``: dead-letter or drop it."""
        self._dead_letter_envelope(queue, message, "expired")  # type: ignore[attr-defined]


_tags = itertools.count(1)


class HookStorage:
    """A :class:`~.contract.Storage` over a channel's classic hooks (no leases)."""

    lease_seconds: float | None = None
    blocking_fetch = False
    checks_route_version = False

    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.state = channel.connection.state
        self._pos = 0
        #: The transport shares bindings itself (kombu's ``supports_fanout`` contract).
        self._own_table = type(channel).get_table is not EntityMixin.get_table

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        if arguments:
            self.state.queue_arguments[queue] = dict(arguments)
        else:
            self.state.queue_arguments.setdefault(queue, {})
        self.channel._new_queue(queue, arguments=dict(arguments) if arguments else None)

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        return self.state.queue_arguments.get(queue)

    def queue_exists(self, queue: str) -> bool:
        return bool(self.channel._has_queue(queue))

    def queue_size(self, queue: str) -> int:
        return int(self.channel._size(queue))

    def purge_queue(self, queue: str) -> int:
        return int(self.channel._purge(queue) or 0)

    def delete_queue(self, queue: str) -> int:
        channel = self.channel
        size = self.queue_size(queue) if self.queue_exists(queue) else 0
        bindings = self.state.queue_bindings(queue)
        for exchange, routing_key, arguments in bindings:
            try:
                row = channel.typeof(exchange).prepare_bind(queue, exchange, routing_key,
                                                            arguments)
            except KeyError:
                row = (routing_key, None, queue)
            channel._delete(queue, exchange, *row)
        if not bindings:
            channel._delete(queue)
        self.state.queue_bindings_delete(queue)
        self.state.queue_arguments.pop(queue, None)
        return size

    # -- exchanges and bindings ----------------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.state.declare_exchange(exchange, meta["type"], meta["durable"],
                                    meta["auto_delete"], dict(meta.get("arguments") or {}))

    def delete_exchange(self, exchange: str) -> None:
        self.state.delete_exchange(exchange)

    def bind(self, binding: Binding) -> None:
        args = dict(binding.arguments) if binding.arguments else None
        self.state.binding_declare(binding.queue, binding.exchange, binding.routing_key, args)
        channel = self.channel
        if channel.supports_fanout:
            row = channel.typeof(binding.exchange).prepare_bind(
                binding.queue, binding.exchange, binding.routing_key, args)
            channel._queue_bind(binding.exchange, *row)

    def unbind(self, binding: Binding) -> None:
        self.state.binding_delete(binding.queue, binding.exchange, binding.routing_key)

    def route_table(self, exchange: str) -> RouteTable:
        if not self._own_table:
            return self.state.route_table(exchange)
        meta = self.state.exchanges.get(exchange)
        try:
            rows = self.channel.get_table(exchange)
        except KeyError:
            rows = []
        bindings = tuple(Binding(queue, exchange, rkey, pattern if isinstance(pattern, dict)
                                 else None) for rkey, pattern, queue in rows)
        return RouteTable(object(), meta, bindings)

    def route_version(self, exchange: str) -> Hashable | None:
        if self._own_table:
            return None
        return self.state.versions.get(exchange)

    def exchanges(self) -> list[str]:
        return list(self.state.exchanges)

    # -- messages ------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        channel = self.channel
        info = envelope["properties"]["delivery_info"]
        exchange = info.get("exchange", "")
        if exchange and channel.supports_fanout:
            meta = self.state.exchanges.get(exchange)
            if meta is not None and meta["type"] == "fanout":
                channel._put_fanout(exchange, envelope, info.get("routing_key", ""))
                return True
        for i, target in enumerate(targets):
            channel._put(target.queue, envelope if not i else channel._copy_envelope(envelope))
        return True

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        count = len(queues)
        if not count or n <= 0:
            return out
        get = self.channel._get
        misses = 0
        pos = self._pos
        while len(out) < n and misses < count:
            queue = queues[pos % count]
            pos += 1
            try:
                payload = get(queue)
            except Empty:
                misses += 1
                continue
            misses = 0
            out.append(Delivery(queue, f"h{next(_tags)}", payload, queue not in noack))
        self._pos = pos
        return out

    def ack(self, tags: Sequence[str]) -> None:
        """Nothing to do: ``_get`` already removed the message."""

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        put = self.channel._put
        for delivery in deliveries:
            put(delivery.queue, delivery.payload)

    def renew(self, tags: Sequence[str]) -> None:
        """No leases: held messages live in the consumer's process."""

    def restore_lapsed(self) -> int:
        return 0

    def close(self) -> None:
        pass
