"""Route-table versions kept current by ZooKeeper watches: no round trip per publish.

The engine asks for an exchange's route version before each publish and
routes from its cache while the version stays the same.  An exchange's
version is its znode's ``(czxid, version, cversion)``: it changes when the
exchange is re-created, re-declared or a binding (a child) comes or goes.
Once read, it is kept here with an exists watch and a child watch on the
exchange; either firing (or the session being suspended or lost, which can
drop watches) forgets it, and the next publish reads it again.  This
process's own changes forget it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from kazoo.exceptions import NoNodeError

__all__ = ("ABSENT", "RouteVersions", "version_of")

#: The version of an exchange that does not exist.
ABSENT = (0, 0, 0)


def version_of(stat: Any) -> Hashable:
    return ABSENT if stat is None else (stat.czxid, stat.version, stat.cversion)


class RouteVersions:
    """One per connection: exchange name -> its current route version."""

    def __init__(self) -> None:
        self._known: dict[str, Hashable] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._listening: Any = None

    def _listen(self, zk: Any) -> None:
        if self._listening is not zk:
            self._listening = zk
            zk.add_listener(self._state_changed)

    def _state_changed(self, state: Any) -> None:
        self.forget_all()

    def forget_all(self) -> None:
        with self._lock:
            self._known.clear()
            self._generation += 1

    def forget(self, exchange: str) -> None:
        with self._lock:
            self._known.pop(exchange, None)
            self._generation += 1

    def version(self, zk: Any, exchange: str, path: str) -> Hashable:
        known = self._known.get(exchange)
        if known is not None:
            return known
        self._listen(zk)
        with self._lock:
            generation = self._generation

        def changed(event: Any) -> None:
            self.forget(exchange)

        stat = zk.exists_async(path, watch=changed)
        children = zk.get_children_async(path, watch=changed)
        version = version_of(stat.get())
        try:
            children.get()
        except NoNodeError:  # no exchange yet: the exists watch sees it created
            pass
        with self._lock:
            if self._generation == generation:
                self._known[exchange] = version
        return version
