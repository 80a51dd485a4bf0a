"""The global connection and producer pools.

``connections[conn]`` is the :class:`~kombu.resource.ConnectionPool` for
every Connection with the same parameters as ``conn``; ``producers[conn]``
is the matching :class:`ProducerPool`.  Pools are reset in a forked child.
"""

from __future__ import annotations

import os
from typing import Any

from .connection import Connection
from .messaging import Producer
from .resource import Resource, _is_lazy, _Lazy

__all__ = (
    "Connections",
    "PoolGroup",
    "ProducerPool",
    "Producers",
    "connections",
    "get_limit",
    "producers",
    "register_group",
    "reset",
    "set_limit",
    "use_default_limit",
    "use_global_limit",
)

#: The global pool limit (see :func:`set_limit`).
_limit: list[int] = [10]
#: Groups :func:`set_limit` and :func:`reset` act on.
_groups: list[PoolGroup] = []

#: Pass as a group's ``limit`` to follow the global limit.
use_global_limit: Any = object()
use_default_limit = use_global_limit


class ProducerPool(Resource):
    """A pool of :class:`~kombu.Producer` objects over a connection pool.

    An acquired producer holds a connection from ``connections`` until it
    is released.
    """

    Producer = Producer
    close_after_fork = True

    def __init__(self, connections: Any, *args: Any, Producer: Any = None, **kwargs: Any) -> None:
        self.connections = connections
        self.Producer = Producer or self.Producer
        super().__init__(*args, **kwargs)

    def _acquire_connection(self) -> Any:
        return self.connections.acquire(block=True)

    def create_producer(self) -> Any:
        conn = self._acquire_connection()
        try:
            return self.Producer(conn)
        except BaseException:
            conn.release()
            raise

    def new(self) -> Any:
        return _Lazy(self.create_producer)

    def setup(self) -> None:
        limit = self.limit
        if limit:
            missing = limit - self._resource.qsize() - len(self._dirty)
            for _ in range(max(missing, 0)):
                self._resource.put_nowait(self.new())

    def close_resource(self, resource: Any) -> None:
        """Producers own nothing to close (their connection is pooled)."""

    def collect_resource(self, resource: Any) -> None:
        """Nothing to collect: the connection pool collects the connections."""

    def prepare(self, p: Any) -> Any:
        while _is_lazy(p):
            p = p()
        if p._channel is None:
            conn = self._acquire_connection()
            try:
                p.revive(conn)
            except BaseException:
                conn.release()
                raise
        return p

    def release(self, resource: Any) -> None:
        conn = resource.__connection__
        if conn is not None:
            conn.release()
        resource.channel = None
        resource.__connection__ = None
        super().release(resource)

    def __repr__(self) -> str:
        return f"<ProducerPool limit={self.limit} connections={self.connections!r}>"


class PoolGroup(dict):  # type: ignore[type-arg]
    """Pools keyed by connection parameters (``connection.__eqhash__()``).

    ``group[conn]`` creates the pool on first use; a URL string stands for
    ``Connection(url)``.
    """

    def __init__(self, limit: Any = None, close_after_fork: bool = True) -> None:
        super().__init__()
        self.limit = limit
        self.close_after_fork = close_after_fork

    # Two groups are never "equal" because they hold equal pools (or none).
    __eq__ = object.__eq__  # type: ignore[assignment]
    __ne__ = object.__ne__  # type: ignore[assignment]
    __hash__ = object.__hash__  # type: ignore[assignment]

    def create(self, resource: Any, limit: int | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement create()")

    @staticmethod
    def _as_connection(resource: Any) -> Any:
        return Connection(resource) if isinstance(resource, str) else resource

    def _key(self, resource: Any) -> Any:
        resource = self._as_connection(resource)
        eqhash = getattr(resource, "__eqhash__", None)
        return eqhash() if eqhash is not None else resource

    def __getitem__(self, resource: Any) -> Any:
        key = self._key(resource)
        try:
            return dict.__getitem__(self, key)
        except KeyError:
            pool = self.create(self._as_connection(resource), self._resolved_limit())
            dict.__setitem__(self, key, pool)
            return pool

    def __contains__(self, resource: object) -> bool:
        return dict.__contains__(self, self._key(resource))

    def __delitem__(self, resource: Any) -> None:
        dict.__delitem__(self, self._key(resource))

    def _resolved_limit(self) -> int | None:
        return get_limit() if self.limit is use_global_limit else self.limit

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {len(self)} pools>"


class Connections(PoolGroup):
    """Connection pools, one per set of connection parameters."""

    def create(self, connection: Any, limit: int | None) -> Any:
        return connection.Pool(limit=limit, close_after_fork=self.close_after_fork)


class Producers(PoolGroup):
    """Producer pools drawing connections from the global :data:`connections`."""

    def create(self, connection: Any, limit: int | None) -> Any:
        return ProducerPool(
            connections[connection], limit=limit, close_after_fork=self.close_after_fork
        )


def register_group(group: PoolGroup) -> PoolGroup:
    """Let :func:`set_limit` and :func:`reset` act on ``group`` (usable as a decorator)."""
    _groups.append(group)
    return group


connections = register_group(Connections(limit=use_global_limit))
producers = register_group(Producers(limit=use_global_limit))


def _all_pools() -> list[Any]:
    return [pool for group in _groups for pool in group.values()]


def get_limit() -> int:
    """The global pool limit (default 10)."""
    return _limit[0]


def set_limit(
    limit: int, force: bool = False, reset_after: bool = False, ignore_errors: bool = False
) -> int:
    """Change the global pool limit and resize the pools following it.

    A pool can grow at run time; shrinking one whose resources are in use
    raises RuntimeError unless ``force`` or ``ignore_errors`` (see
    :meth:`kombu.resource.Resource.resize`).  Returns the new limit.
    """
    limit = limit or 0
    if limit != (_limit[0] or 0):
        _limit[0] = limit
        for group in _groups:
            if group.limit is not use_global_limit:
                continue
            for pool in group.values():
                pool.resize(limit, force=force, ignore_errors=ignore_errors, reset=reset_after)
    return limit


def reset(*args: Any, **kwargs: Any) -> None:
    """Close every resource of every pool (even those in use) and empty the groups."""
    for pool in _all_pools():
        try:
            pool.force_close_all()
        except Exception:
            pass
    for group in _groups:
        group.clear()


def _after_fork_in_child() -> None:
    # A child must not share its parent's sockets: start with empty groups.
    for group in _groups:
        if group.close_after_fork:
            for pool in list(group.values()):
                try:
                    pool.force_close_all()
                except Exception:
                    pass
            group.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
