"""In-memory transport: one broker per process, shared by every connection.

Thread-safe: several threads may publish and consume (each on its own
connection).  Supports the direct, topic, fanout and headers exchanges,
queue priorities (``x-max-priority``), message and queue TTL and
dead-lettering.  ``drain_events`` sleeps on a condition that publishers
signal, so it wakes as soon as a message arrives.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from .virtual import base as virtual
from .virtual.base import Empty, _ttl_ms, next_delivery_tag
from .virtual.state import BrokerState

__all__ = ("Channel", "MemoryQueue", "MemoryState", "Transport")

#: Envelope key holding the expiry time (epoch seconds); in-process only.
DEADLINE_KEY = "_deadline"


def _max_priority(arguments: dict[str, Any] | None) -> int:
    if not arguments:
        return 0
    value = arguments.get("x-max-priority")
    try:
        return max(0, min(int(value), 255)) if value is not None else 0
    except (TypeError, ValueError):
        return 0


class MemoryQueue:
    """FIFO of envelopes, one deque per priority level (highest served first)."""

    __slots__ = ("levels", "lock", "max_priority", "may_expire", "ttl")

    def __init__(self, arguments: dict[str, Any] | None = None) -> None:
        self.lock = threading.Lock()
        self.max_priority = _max_priority(arguments)
        self.levels: list[deque[Any]] = [deque() for _ in range(self.max_priority + 1)]
        self.ttl = _ttl_ms(arguments.get("x-message-ttl")) if arguments else None
        self.may_expire = self.ttl is not None

    def reconfigure(self, arguments: dict[str, Any] | None) -> None:
        """Apply the arguments of a redeclaration (priority levels, TTL)."""
        max_priority = _max_priority(arguments)
        ttl = _ttl_ms(arguments.get("x-message-ttl")) if arguments else None
        with self.lock:
            if ttl is not None:
                self.ttl = ttl
                self.may_expire = True
            old_max = self.max_priority
            if max_priority == old_max:
                return
            # Change the level list in place: publishers may hold a reference.
            levels = self.levels
            if max_priority > old_max:
                levels.extend(deque() for _ in range(max_priority - old_max))
                self.max_priority = max_priority
                return
            self.max_priority = max_priority
            top = levels[max_priority]
            for level in levels[max_priority + 1 :]:
                top.extendleft(reversed(level))
            del levels[max_priority + 1 :]

    def _level(self, message: Any) -> deque[Any]:
        levels = self.levels
        if len(levels) == 1:
            return levels[0]
        try:
            priority = int(message["properties"].get("priority") or 0)
        except (TypeError, ValueError, KeyError, AttributeError):
            priority = 0
        return levels[max(0, min(priority, self.max_priority))]

    def put(self, message: Any) -> None:
        self._level(message).append(message)

    def put_front(self, message: Any) -> None:
        self._level(message).appendleft(message)

    def pop(self) -> Any:
        """The next envelope (highest priority first); IndexError if empty."""
        levels = self.levels
        if len(levels) == 1:
            return levels[0].popleft()
        for level in reversed(levels):
            if level:
                try:
                    return level.popleft()
                except IndexError:  # taken by another thread meanwhile
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
    """Broker state plus the queues, and the condition consumers wait on."""

    def __init__(self) -> None:
        super().__init__()
        self.queues: dict[str, MemoryQueue] = {}
        self.cond = threading.Condition(threading.Lock())
        self.waiters = 0
        self._seq = itertools.count(1)
        self.seq = 0

    def clear(self) -> None:
        with self.lock:
            super().clear()
            self.queues.clear()

    def queue(self, name: str, arguments: dict[str, Any] | None = None) -> MemoryQueue:
        q = self.queues.get(name)
        if q is None:
            with self.lock:
                q = self.queues.get(name)
                if q is None:
                    q = self.queues[name] = MemoryQueue(
                        arguments if arguments is not None else self.queue_arguments.get(name)
                    )
        return q

    def notify(self) -> None:
        """Something changed (message published or acked): wake waiting consumers."""
        self.seq = next(self._seq)
        if self.waiters:
            with self.cond:
                self.cond.notify_all()

    def wait(self, token: int, timeout: float | None) -> None:
        """Sleep until :meth:`notify` is called after ``token`` was taken, or timeout."""
        with self.cond:
            self.waiters += 1
            try:
                if self.seq == token:
                    self.cond.wait(timeout)
            finally:
                self.waiters -= 1


class Channel(virtual.Channel):
    """In-memory channel."""

    #: Bodies stay in process: no need to base64 them.
    body_encoding = None
    supports_fanout = True
    do_restore = True
    _qpos = 0

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self._mstate: MemoryState = connection.state

    @property
    def queues(self) -> dict[str, MemoryQueue]:
        return self.connection.state.queues

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        arguments = kwargs.get("arguments")
        state = self.connection.state
        q = state.queues.get(queue)
        if q is None:
            state.queue(queue, arguments or state.queue_arguments.get(queue))
        elif arguments:
            q.reconfigure(arguments)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return queue in self.connection.state.queues

    def basic_publish(
        self,
        message: dict[str, Any],
        exchange: str,
        routing_key: str,
        mandatory: bool = False,
        immediate: bool = False,
        **kwargs: Any,
    ) -> None:
        # The hot path: route through the exchange's cached table directly.
        if self.body_encoding is not None or not exchange or mandatory:
            return super().basic_publish(
                message, exchange, routing_key, mandatory, immediate, **kwargs
            )
        state = self._mstate
        meta = state.exchanges.get(exchange)
        etype = self.exchange_types.get(meta["type"]) if meta is not None else None
        if meta is None or etype is None or not etype.cacheable:
            return super().basic_publish(
                message, exchange, routing_key, mandatory, immediate, **kwargs
            )
        props = message["properties"]
        props["delivery_info"] = {"exchange": exchange, "routing_key": routing_key}
        props["delivery_tag"] = next_delivery_tag()
        props["body_encoding"] = None
        table = meta["table"]
        queues = table.routes.get(routing_key)
        if queues is None:
            queues = etype.lookup(table, exchange, routing_key, None)
        if not queues:
            if self.deadletter_queue:
                self._put(self.deadletter_queue, message)
            return None
        put = self._put
        put(queues[0], message)
        for queue in queues[1:]:
            put(queue, self._copy_message(message))
        return None

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        state = self._mstate
        q = state.queues.get(queue)
        if q is None:
            q = state.queue(queue)
        if message["properties"].get("expiration") is not None or q.ttl is not None:
            deadline = self._message_deadline(queue, message)
            message[DEADLINE_KEY] = deadline
            if deadline is not None:
                q.may_expire = True
        elif DEADLINE_KEY in message:
            del message[DEADLINE_KEY]
        if q.max_priority:
            q.put(message)
        else:
            q.levels[0].append(message)
        state.seq = next(state._seq)
        if state.waiters:
            with state.cond:
                state.cond.notify_all()

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        q = self.connection.state.queues.get(queue)
        if q is None:
            raise Empty()
        pop = q.pop
        while True:
            try:
                message = pop()
            except IndexError:
                raise Empty() from None
            if q.may_expire:
                deadline = message.get(DEADLINE_KEY)
                if deadline is not None and deadline <= time.time():
                    self._expired(queue, message)
                    continue
            return message

    def _size(self, queue: str) -> int:
        q = self.connection.state.queues.get(queue)
        return len(q) if q is not None else 0

    def _purge(self, queue: str) -> int:
        q = self.connection.state.queues.get(queue)
        return q.purge() if q is not None else 0

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.connection.state.queues.pop(queue, None)

    def _restore_at_beginning(self, message: Any) -> None:
        queue = message._queue
        if queue is None:
            return super()._restore(message)
        message.delivery_info["redelivered"] = True
        state = self.connection.state
        q = state.queues.get(queue)
        if q is None:
            q = state.queue(queue)
        q.put_front(message._raw)
        state.notify()
        return None

    def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        qos = self._qos
        if multiple or qos is None:
            super().basic_ack(delivery_tag, multiple)
        else:
            qos._delivered.pop(delivery_tag, None)
        if qos is not None and qos.prefetch_count and self.connection.state.waiters:
            self.connection.state.notify()

    def _drain_ready(self, limit: int, deliver: Callable[[Any, str], Any]) -> int:
        """Deliver up to ``limit`` ready messages, taking queues in turn."""
        if not self._consumers or not self._flow_active or self.closed:
            return 0
        queues = self._active_queues
        qos = self.qos
        if qos.prefetch_count and qos.prefetch_count < limit:
            limit = qos.prefetch_count  # one pass delivers at most the prefetch count
        can_consume = qos.can_consume
        get = self._get
        callbacks = self._queue_callbacks
        pos = self._qpos
        delivered = misses = 0
        try:
            while delivered < limit:
                nq = len(queues)
                if not nq or misses >= nq or not can_consume():
                    break
                queue = queues[pos % nq]
                pos += 1
                try:
                    raw = get(queue)
                except Empty:
                    misses += 1
                    continue
                misses = 0
                delivered += 1
                callback = callbacks.get(queue)
                if callback is None:
                    deliver(raw, queue)
                else:
                    callback(raw)
        finally:
            self._qpos = pos
        return delivered

    def after_reply_message_received(self, queue: str) -> None:
        """Reply queues are left in place (they are cheap in memory)."""


class Transport(virtual.Transport):
    """In-memory transport: every connection in the process shares one broker."""

    Channel = Channel
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

    _chan_pos = 0

    def drain_events(self, connection: Any, timeout: float | None = None, **kwargs: Any) -> None:
        """Deliver ready messages (up to :attr:`drain_batch_size`), waiting for one.

        Raises ``socket.timeout`` when nothing arrived within ``timeout``.
        """
        state = self.state
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            token = state.seq
            if self._drain_ready(self.drain_batch_size):
                return
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
            self._wait(token, remaining)

    def _drain_ready(self, limit: int) -> int:
        channels = self.channels
        n = len(channels)
        if not n:
            return 0
        start = self._chan_pos
        self._chan_pos = start + 1
        deliver = self._deliver
        delivered = 0
        for i in range(n):
            if delivered >= limit:
                break
            try:
                channel = channels[(start + i) % n]
            except IndexError:  # a callback closed channels
                break
            delivered += channel._drain_ready(limit - delivered, deliver)  # type: ignore[attr-defined]
        return delivered

    def _poll_token(self) -> int:
        return self.state.seq

    def _wait(self, token: Any, timeout: float | None) -> None:
        interval = self.polling_interval
        if timeout is None or (interval is not None and interval < timeout):
            timeout = interval
        self.state.wait(token, timeout)

    def driver_version(self) -> str:
        return "N/A"
