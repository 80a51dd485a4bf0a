"""The storage of the ``{{scheme}}://`` transport: what a broker must do for the emulated broker.

:class:`Storage` implements :class:`kombu.transport.virtual.Storage`.  The
engine in :mod:`kombu.transport.virtual` does the rest: exchanges and
routing, prefetch, delivery tags, acks, TTL, priorities, dead letters, lease
renewal and the drain loop.  Here the broker is a :class:`Broker` object
shared by every connection in the process; replace its calls with your
broker's client, keeping each rule of the contract:

- ``put`` stores one copy per target queue, at its priority level (higher
  levels first, FIFO within a level);
- ``fetch`` *leases* entries (moves them out of the queue, with a deadline)
  instead of deleting them; ``ack`` deletes; ``requeue`` puts back at the head;
- ``renew`` pushes a lease's deadline forward; ``restore_lapsed`` gives back
  any lease past its deadline, whoever took it;
- the binding table has a version that changes with every change.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from kombu.transport.virtual import Binding, Delivery, RouteTable, Target

__all__ = ("Broker", "Storage")


class Broker:
    """Queues, leases, declarations and bindings: what a real broker would keep."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: queue -> {level: deque of envelopes}
        self.queues: dict[str, dict[int, deque[dict[str, Any]]]] = {}
        #: tag -> (queue, level, envelope, lease deadline)
        self.leased: dict[str, tuple[str, int, dict[str, Any], float]] = {}
        self.queue_args: dict[str, dict[str, Any]] = {}
        self.exchanges: dict[str, dict[str, Any]] = {}
        self.bindings: dict[str, dict[tuple[str, str], Binding]] = {}
        self.versions: dict[str, int] = {}
        self.counter = itertools.count(1)

    def changed(self, exchange: str) -> None:
        self.versions[exchange] = next(self.counter)


class Storage:
    """One channel's view of the :class:`Broker`."""

    #: Whether fetch() may block (long polling); the engine then skips the waiter.
    blocking_fetch = False
    #: Whether put() checks the binding-table version itself.
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.broker: Broker = transport.broker
        #: Seconds a lease lasts without renewal (from the transport options).
        self.lease_seconds: float | None = transport.lease_seconds

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        with self.broker.lock:
            self.broker.queues.setdefault(queue, {})
            self.broker.queue_args[queue] = dict(arguments or {})

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        return self.broker.queue_args.get(queue)

    def queue_exists(self, queue: str) -> bool:
        return queue in self.broker.queues

    def queue_size(self, queue: str) -> int:
        return sum(len(d) for d in self.broker.queues.get(queue, {}).values())

    def purge_queue(self, queue: str) -> int:
        with self.broker.lock:
            levels = self.broker.queues.get(queue, {})
            count = sum(len(d) for d in levels.values())
            levels.clear()
        return count

    def delete_queue(self, queue: str) -> int:
        broker = self.broker
        with broker.lock:
            count = sum(len(d) for d in broker.queues.pop(queue, {}).values())
            broker.queue_args.pop(queue, None)
            for exchange, bindings in broker.bindings.items():
                for key in [k for k in bindings if k[0] == queue]:
                    del bindings[key]
                    broker.changed(exchange)
        return count

    # -- exchanges and bindings ----------------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        with self.broker.lock:
            if exchange not in self.broker.exchanges:  # the first declaration wins
                self.broker.exchanges[exchange] = dict(meta)
                self.broker.changed(exchange)

    def delete_exchange(self, exchange: str) -> None:
        with self.broker.lock:
            self.broker.exchanges.pop(exchange, None)
            self.broker.bindings.pop(exchange, None)
            self.broker.changed(exchange)

    def bind(self, binding: Binding) -> None:
        with self.broker.lock:
            table = self.broker.bindings.setdefault(binding.exchange, {})
            if (binding.queue, binding.routing_key) not in table:
                table[(binding.queue, binding.routing_key)] = binding
                self.broker.changed(binding.exchange)

    def unbind(self, binding: Binding) -> None:
        with self.broker.lock:
            table = self.broker.bindings.get(binding.exchange, {})
            if table.pop((binding.queue, binding.routing_key), None) is not None:
                self.broker.changed(binding.exchange)

    def route_table(self, exchange: str) -> RouteTable:
        broker = self.broker
        with broker.lock:
            return RouteTable(broker.versions.get(exchange, 0), broker.exchanges.get(exchange),
                              tuple(broker.bindings.get(exchange, {}).values()))

    def route_version(self, exchange: str) -> Hashable | None:
        return self.broker.versions.get(exchange, 0)

    def exchanges(self) -> list[str]:
        return list(self.broker.exchanges)

    # -- messages ------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        with self.broker.lock:
            for queue, level in targets:
                levels = self.broker.queues.setdefault(queue, {})
                # A real broker stores a serialized copy (kombu.transport.virtual.envelope.dumps).
                levels.setdefault(level, deque()).append(
                    {**envelope, "properties": dict(envelope["properties"])})
        return True

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        broker = self.broker
        deadline = time.monotonic() + (self.lease_seconds or 0)
        with broker.lock:
            for queue in queues:
                levels = broker.queues.get(queue, {})
                for level in sorted(levels, reverse=True):
                    entries = levels[level]
                    while entries and len(out) < n:
                        envelope = entries.popleft()
                        tag = f"{{scheme}}-{next(broker.counter)}"
                        leased = queue not in noack
                        if leased:
                            broker.leased[tag] = (queue, level, envelope, deadline)
                        out.append(Delivery(queue, tag, envelope, leased, level))
        return out

    def ack(self, tags: Sequence[Any]) -> None:
        with self.broker.lock:
            for tag in tags:
                self.broker.leased.pop(tag, None)

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        broker = self.broker
        with broker.lock:
            for delivery in reversed(deliveries):  # the first given ends up first
                if delivery.leased and broker.leased.pop(delivery.tag, None) is None:
                    continue  # its lease lapsed and someone gave it back already
                levels = broker.queues.setdefault(delivery.queue, {})
                levels.setdefault(delivery.level, deque()).appendleft(delivery.payload)

    def renew(self, tags: Sequence[Any]) -> None:
        deadline = time.monotonic() + (self.lease_seconds or 0)
        with self.broker.lock:
            for tag in tags:
                held = self.broker.leased.get(tag)
                if held is not None:
                    self.broker.leased[tag] = (*held[:3], deadline)

    def restore_lapsed(self) -> int:
        broker = self.broker
        now = time.monotonic()
        with broker.lock:
            lapsed = [tag for tag, held in broker.leased.items() if held[3] <= now]
            for tag in lapsed:
                queue, level, envelope, _ = broker.leased.pop(tag)
                envelope["properties"].setdefault("delivery_info", {})["redelivered"] = True
                broker.queues.setdefault(queue, {}).setdefault(level, deque()).appendleft(
                    envelope)
        return len(lapsed)

    def close(self) -> None:
        """Nothing to release: a real storage closes its broker connection here."""
