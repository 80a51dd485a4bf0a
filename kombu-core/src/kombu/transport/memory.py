"""In-memory transport: one broker per process, shared by every connection.

Thread-safe: several threads may publish and consume (each on its own
connection or channel).  Everything the emulated broker offers works here:
the four exchange types, priorities (``x-max-priority``), message and queue
TTL and dead letters.  Consumers sleep on a condition that publishers signal,
so they wake as soon as a message lands.  What a consumer holds lives in its
process (no leases): unacked messages go back when its channel closes.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from .virtual import Binding, Delivery, RouteTable, Target
from .virtual import transport as virtual
from .virtual.state import BrokerState
from .virtual.waiters import ConditionWaiter, Signal

__all__ = ("Channel", "MemoryQueue", "MemoryState", "MemoryStorage", "Transport")


class MemoryQueue:
    """FIFO of envelopes per priority level (the highest level is served first)."""

    __slots__ = ("levels",)

    def __init__(self) -> None:
        self.levels: list[deque[Any]] = [deque()]

    def _level(self, level: int) -> deque[Any]:
        levels = self.levels
        while len(levels) <= level:
            levels.append(deque())
        return levels[level]

    def put(self, message: Any, level: int = 0) -> None:
        (self.levels[0] if not level else self._level(level)).append(message)

    def put_front(self, message: Any, level: int = 0) -> None:
        (self.levels[0] if not level else self._level(level)).appendleft(message)

    def pop(self) -> Any:
        """The next envelope (highest level first); IndexError if empty."""
        levels = self.levels
        if len(levels) == 1:
            return levels[0].popleft()
        return self.pop_level()[0]

    def pop_level(self) -> tuple[Any, int]:
        """The next envelope and its level; IndexError if empty."""
        levels = self.levels
        for level in range(len(levels) - 1, -1, -1):
            try:
                return levels[level].popleft(), level
            except IndexError:  # empty, or taken by another thread meanwhile
                continue
        raise IndexError("pop from an empty queue")

    def purge(self) -> int:
        count = 0
        for level in self.levels:
            pop = level.popleft
            while True:
                try:
                    pop()
                except IndexError:
                    break
                count += 1
        return count

    def __len__(self) -> int:
        return sum(map(len, self.levels))

    def __bool__(self) -> bool:
        return True


class MemoryState(BrokerState):
    """Broker state plus the queues, and the signal consumers wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: dict[str, MemoryQueue] = {}
        self.signal = Signal()

    def clear(self) -> None:
        with self.lock:
            super().clear()
            self.queues.clear()

    def queue(self, name: str) -> MemoryQueue:
        q = self.queues.get(name)
        if q is None:
            with self.lock:
                q = self.queues.get(name)
                if q is None:
                    q = self.queues[name] = MemoryQueue()
        return q


_tags = itertools.count(1)
_new = tuple.__new__  # a Delivery without NamedTuple's keyword handling (hot path)


class MemoryStorage:
    """The :class:`~kombu.transport.virtual.Storage` of the in-process broker."""

    lease_seconds: float | None = None
    blocking_fetch = False
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.state: MemoryState = transport.state
        self.queues = self.state.queues

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        state = self.state
        if arguments:
            state.queue_arguments[queue] = dict(arguments)
        else:
            state.queue_arguments.setdefault(queue, {})
        state.queue(queue)

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        return self.state.queue_arguments.get(queue)

    def queue_exists(self, queue: str) -> bool:
        return queue in self.queues or queue in self.state.queue_arguments

    def queue_size(self, queue: str) -> int:
        q = self.queues.get(queue)
        return len(q) if q is not None else 0

    def purge_queue(self, queue: str) -> int:
        q = self.queues.get(queue)
        return q.purge() if q is not None else 0

    def delete_queue(self, queue: str) -> int:
        state = self.state
        with state.lock:
            q = state.queues.pop(queue, None)
            state.queue_bindings_delete(queue)
            state.queue_arguments.pop(queue, None)
        return len(q) if q is not None else 0

    # -- exchanges and bindings ----------------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.state.declare_exchange(exchange, meta["type"], meta["durable"],
                                    meta["auto_delete"], dict(meta.get("arguments") or {}))

    def delete_exchange(self, exchange: str) -> None:
        self.state.delete_exchange(exchange)

    def bind(self, binding: Binding) -> None:
        self.state.binding_declare(binding.queue, binding.exchange, binding.routing_key,
                                   dict(binding.arguments) if binding.arguments else None)

    def unbind(self, binding: Binding) -> None:
        self.state.binding_delete(binding.queue, binding.exchange, binding.routing_key)

    def route_table(self, exchange: str) -> RouteTable:
        return self.state.route_table(exchange)

    def route_version(self, exchange: str) -> Hashable | None:
        return self.state.versions.get(exchange)

    def exchanges(self) -> list[str]:
        return list(self.state.exchanges)

    # -- messages ------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        queues = self.queues
        first = True
        for queue, level in targets:
            q = queues.get(queue)
            if q is None:
                q = self.state.queue(queue)
            if first:
                message = envelope
                first = False
            else:  # each queue gets its own copy (consumers annotate delivery_info)
                props = dict(envelope["properties"])
                props["delivery_info"] = dict(props["delivery_info"])
                message = {**envelope, "properties": props}
            if level:
                q.put(message, level)
            else:
                q.levels[0].append(message)
        self.state.signal.notify()
        return True

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        stored = self.queues
        for queue in queues:
            q = stored.get(queue)
            if q is None:
                continue
            leased = queue not in noack
            levels = q.levels
            if len(levels) == 1:
                popleft = levels[0].popleft
                while len(out) < n:
                    try:
                        out.append(_new(Delivery, (queue, next(_tags), popleft(), leased, 0)))
                    except IndexError:
                        break
            else:
                while len(out) < n:
                    try:
                        message, level = q.pop_level()
                    except IndexError:
                        break
                    out.append(Delivery(queue, next(_tags), message, leased, level))
            if len(out) >= n:
                break
        return out

    def ack(self, tags: Sequence[Any]) -> None:
        """A fetched entry is already out of its queue: only wake a consumer
        (in another thread) waiting for prefetch room."""
        if self.state.signal.waiters:
            self.state.signal.notify()

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        state = self.state
        for delivery in reversed(deliveries):
            state.queue(delivery.queue).put_front(delivery.payload, delivery.level)
        state.signal.notify()

    def renew(self, tags: Sequence[Any]) -> None:
        """No leases in process: held entries come back when their channel closes."""

    def restore_lapsed(self) -> int:
        return 0

    def close(self) -> None:
        pass


class Channel(virtual.Channel):
    """In-memory channel."""

    #: Bodies stay in process: no need to base64 them.
    body_encoding = None


class Transport(virtual.Transport):
    """In-memory transport: every connection in the process shares one broker."""

    Channel = Channel
    Storage = MemoryStorage
    #: Longest single wait; consumers are woken by publishers well before.
    polling_interval = 0.1
    driver_type = "memory"
    driver_name = "memory"
    state: MemoryState = MemoryState()
    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        message_ttl=True,
        queue_ttl=False,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=False,
        persistent=False,
    )

    def create_waiter(self) -> ConditionWaiter:
        return ConditionWaiter(self.state.signal, self.polling_interval)

    def driver_version(self) -> str:
        return "N/A"
