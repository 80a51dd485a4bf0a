"""Routing with cached tables: one look-up per publish while the bindings stand still.

A :class:`Router` (one per connection) keeps, per exchange, the table the
storage gave it (:class:`~.contract.RouteTable`) and, per routing key, the
queues it reaches and the :class:`~.contract.Target` tuples for each message
priority.  The cache is dropped when the storage reports a new version of the
table (:meth:`~.contract.Storage.route_version`), or, for storages that check
the version as they store, when ``put`` refuses a stale one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from .contract import RouteTable, Target
from .exchange import ExchangeType

__all__ = ("Route", "RouteEntry", "Router")

#: How many routing keys one exchange remembers before starting over.
ROUTE_CACHE_SIZE = 4096

#: ``levels(queue, priority) -> level``: the channel's priority policy.
LevelFunc = Callable[[str, int], int]


class RouteEntry:
    """Where one routing key goes, with the targets per message priority."""

    __slots__ = ("queues", "targets")

    def __init__(self, queues: tuple[str, ...]) -> None:
        self.queues = queues
        self.targets: dict[int, tuple[Target, ...]] = {}

    def targets_for(self, priority: int, levels: LevelFunc) -> tuple[Target, ...]:
        found = self.targets.get(priority)
        if found is None:
            found = tuple(Target(q, levels(q, priority)) for q in self.queues)
            if len(self.targets) < 256:
                self.targets[priority] = found
        return found


class Route:
    """An exchange's table as last read, and the routes computed from it."""

    __slots__ = ("cache", "etype", "exchange", "table", "version")

    def __init__(self, exchange: str, table: RouteTable, etype: ExchangeType | None) -> None:
        self.exchange = exchange
        self.table = table
        self.version: Hashable = table.version
        self.etype = etype
        self.cache: dict[str, RouteEntry] = {}

    @property
    def meta(self) -> Any:
        return self.table.meta

    def entry(self, routing_key: str, headers: dict[str, Any] | None) -> RouteEntry:
        """The queues ``routing_key`` (and ``headers``) reach; cached when the type allows."""
        etype = self.etype
        if etype is None:
            return RouteEntry(())
        if not etype.cacheable:
            return RouteEntry(tuple(etype.route(self.table.bindings, routing_key, headers)))
        cache = self.cache
        found = cache.get(routing_key)
        if found is None:
            found = RouteEntry(tuple(etype.route(self.table.bindings, routing_key, headers)))
            if len(cache) >= ROUTE_CACHE_SIZE:
                cache.clear()
            cache[routing_key] = found
        return found


class Router:
    """The route cache of one connection, shared by its channels."""

    def __init__(self) -> None:
        #: exchange -> its cached route (read by the publish hot path).
        self.routes: dict[str, Route] = {}
        self._lock = threading.Lock()

    def route(self, exchange: str, storage: Any, exchange_types: dict[str, ExchangeType],
              refresh: bool = False) -> Route:
        """The cached route of ``exchange``, read again if its table changed."""
        route = None if refresh else self.routes.get(exchange)
        if route is not None and not storage.checks_route_version:
            version = storage.route_version(exchange)
            if version is None or version != route.version:
                route = None
        if route is None:
            table = storage.route_table(exchange)
            meta = table.meta
            etype = exchange_types.get(meta["type"]) if meta is not None else None
            route = Route(exchange, table, etype)
            with self._lock:
                self.routes[exchange] = route
        return route

    def forget_targets(self) -> None:
        """Recompute priority levels on next use (a queue was (re)declared)."""
        for route in list(self.routes.values()):
            route.cache = {}

    def forget(self, exchange: str | None = None) -> None:
        """Drop the cached route of ``exchange`` (of every exchange if None)."""
        with self._lock:
            if exchange is None:
                self.routes.clear()
            else:
                self.routes.pop(exchange, None)
