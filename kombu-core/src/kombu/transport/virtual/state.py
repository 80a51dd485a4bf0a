"""Broker state of the emulated broker: exchanges, bindings and queue arguments.

In-process storages (memory, and transports written against kombu's classic
hooks) keep their binding table here; it versions each exchange's table so
the engine can cache routes (see :mod:`.routing`).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, NamedTuple

from .contract import Binding, RouteTable

__all__ = ("BrokerState", "binding_key_t", "queue_binding_t")


class binding_key_t(NamedTuple):
    """Key of :attr:`BrokerState.bindings`."""

    queue: str
    exchange: str
    routing_key: str


class queue_binding_t(NamedTuple):
    """One binding of a queue, as :meth:`BrokerState.queue_bindings` yields it."""

    exchange: str
    routing_key: str
    arguments: Any


_EMPTY: tuple[Binding, ...] = ()


class BrokerState:
    """Exchanges, bindings and queue arguments of one (emulated) broker.

    ``exchanges`` maps an exchange name to its declaration: ``type``,
    ``durable``, ``auto_delete`` and ``arguments``.  ``bindings`` maps
    ``(queue, exchange, routing_key)`` to the binding arguments and
    ``queue_index`` maps a queue to its binding keys, both for constant-time
    membership tests.  ``queue_arguments`` keeps each declared queue's
    arguments (``x-max-priority``, ``x-message-ttl``, dead-lettering).
    ``versions`` changes for an exchange whenever its declaration or a
    binding to it changes.
    """

    #: exchange name -> declaration (set per instance).
    exchanges: dict[str, dict[str, Any]] = None  # type: ignore[assignment]
    #: ``(queue, exchange, routing_key)`` -> binding arguments (set per instance).
    bindings: dict[binding_key_t, Any] = None  # type: ignore[assignment]
    #: queue -> its binding keys (set per instance).
    queue_index: dict[str, set[binding_key_t]] = None  # type: ignore[assignment]

    def __init__(self, exchanges: dict[str, dict[str, Any]] | None = None) -> None:
        self.lock = threading.RLock()
        self.exchanges: dict[str, dict[str, Any]] = exchanges if exchanges is not None else {}
        self.bindings: dict[binding_key_t, Any] = {}
        self.queue_index: dict[str, set[binding_key_t]] = {}
        self.queue_arguments: dict[str, dict[str, Any]] = {}
        #: queue name -> number of consumers (in this process).
        self.consumers: dict[str, int] = {}
        #: exchange -> version of its table (never reused, even after a delete).
        self.versions: dict[str, int] = {}
        self._exchange_bindings: dict[str, dict[binding_key_t, None]] = {}
        self._tables: dict[str, RouteTable] = {}
        self._counter = itertools.count(1)

    def clear(self) -> None:
        with self.lock:
            self.exchanges.clear()
            self.bindings.clear()
            self.queue_index.clear()
            self.queue_arguments.clear()
            self.consumers.clear()
            for exchange in list(self.versions):
                self._changed(exchange)
            self._exchange_bindings.clear()

    def _changed(self, exchange: str) -> None:
        self.versions[exchange] = next(self._counter)
        self._tables.pop(exchange, None)

    # -- exchanges ----------------------------------------------------------

    def declare_exchange(self, exchange: str, type: str, durable: bool, auto_delete: bool,
                         arguments: dict[str, Any] | None) -> dict[str, Any]:
        with self.lock:
            meta = self.exchanges.get(exchange)
            if meta is None:
                meta = self.exchanges[exchange] = {
                    "type": type,
                    "durable": durable,
                    "auto_delete": auto_delete,
                    "arguments": arguments or {},
                }
                self._changed(exchange)
            return meta

    def delete_exchange(self, exchange: str) -> None:
        with self.lock:
            self.exchanges.pop(exchange, None)
            for key in list(self._exchange_bindings.get(exchange, ())):
                self.binding_delete(*key)
            self._exchange_bindings.pop(exchange, None)
            self._changed(exchange)

    def route_table(self, exchange: str) -> RouteTable:
        """The declaration and bindings of ``exchange`` with their version."""
        table = self._tables.get(exchange)
        if table is None:
            with self.lock:
                version = self.versions.get(exchange)
                if version is None:
                    version = self.versions[exchange] = next(self._counter)
                meta = self.exchanges.get(exchange)
                keys = self._exchange_bindings.get(exchange)
                bindings = tuple(Binding(k.queue, exchange, k.routing_key, self.bindings[k])
                                 for k in keys) if keys else _EMPTY
                table = self._tables[exchange] = RouteTable(version, meta, bindings)
        return table

    # -- bindings -----------------------------------------------------------

    def binding_declare(self, queue: str, exchange: str, routing_key: str,
                        arguments: dict[str, Any] | None) -> None:
        with self.lock:
            key = binding_key_t(queue, exchange, routing_key)
            if key in self.bindings:
                return
            self.bindings[key] = arguments
            self.queue_index.setdefault(queue, set()).add(key)
            self._exchange_bindings.setdefault(exchange, {})[key] = None
            self._changed(exchange)

    def binding_delete(self, queue: str, exchange: str, routing_key: str) -> None:
        with self.lock:
            key = binding_key_t(queue, exchange, routing_key)
            try:
                del self.bindings[key]
            except KeyError:
                return
            keys = self.queue_index.get(queue)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self.queue_index[queue]
            self._exchange_bindings.get(exchange, {}).pop(key, None)
            self._changed(exchange)

    def has_binding(self, queue: str, exchange: str, routing_key: str) -> bool:
        return (queue, exchange, routing_key) in self.bindings

    def queue_bindings(self, queue: str) -> list[queue_binding_t]:
        """The bindings of ``queue``: ``(exchange, routing_key, arguments)``."""
        bindings = self.bindings
        return [queue_binding_t(k.exchange, k.routing_key, bindings.get(k))
                for k in list(self.queue_index.get(queue, ()))]

    def queue_bindings_delete(self, queue: str) -> None:
        with self.lock:
            for key in list(self.queue_index.get(queue, ())):
                self.binding_delete(*key)

    # -- queues -------------------------------------------------------------

    def consumer_added(self, queue: str) -> None:
        with self.lock:
            self.consumers[queue] = self.consumers.get(queue, 0) + 1

    def consumer_removed(self, queue: str) -> None:
        with self.lock:
            n = self.consumers.get(queue, 0) - 1
            if n > 0:
                self.consumers[queue] = n
            else:
                self.consumers.pop(queue, None)

    def __repr__(self) -> str:
        return (f"<BrokerState: {len(self.exchanges)} exchanges, "
                f"{len(self.bindings)} bindings, {len(self.queue_arguments)} queues>")
