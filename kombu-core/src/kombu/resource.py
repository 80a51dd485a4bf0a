"""Generic resource pools: connections, channels (and producers, in kombu.pools).

A pool with a ``limit`` holds that many slots.  A slot is either a live
resource or a placeholder that creates one on first use, so nothing is
created before it is needed (unless ``preload`` asks for it).  Acquiring takes
a slot, releasing gives it back; with no limit every acquire creates a new
resource and every release closes it.
"""

from __future__ import annotations

import os
import queue
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import exceptions

__all__ = ("ChannelPool", "ConnectionPool", "LifoQueue", "Resource")


class LifoQueue(queue.LifoQueue):  # type: ignore[type-arg]
    """Last in, first out queue: the most recently released resource is reused first."""


class _Lazy:
    """A pool slot whose resource is created by ``factory`` when acquired."""

    __slots__ = ("factory",)

    def __init__(self, factory: Callable[[], Any]) -> None:
        self.factory = factory

    def __call__(self) -> Any:
        return self.factory()

    def __repr__(self) -> str:
        return f"<lazy slot: {getattr(self.factory, '__qualname__', self.factory)}>"


def _is_lazy(obj: Any) -> bool:
    return isinstance(obj, _Lazy)


#: Pools to clean up in a forked child (those with ``close_after_fork``).
_fork_registry: weakref.WeakSet[Resource] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for pool in list(_fork_registry):
        try:
            pool.force_close_all()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Resource:
    """A pool of at most ``limit`` resources (None or 0: no limit).

    ``preload`` resources are created up front; ``close_after_fork`` closes
    every resource in a forked child, which must not share its parent's
    sockets.  Subclasses implement :meth:`new` and may override
    :meth:`prepare`, :meth:`close_resource` and :meth:`collect_resource`.
    """

    LimitExceeded: type[Exception] = exceptions.LimitExceeded
    close_after_fork = False

    def __init__(
        self,
        limit: int | None = None,
        preload: int | None = None,
        close_after_fork: bool | None = None,
    ) -> None:
        self._limit = limit
        self.preload = preload or 0
        self._closed = False
        if close_after_fork is not None:
            self.close_after_fork = close_after_fork
        self._resource: LifoQueue = LifoQueue()
        self._dirty: set[Any] = set()
        if self.close_after_fork:
            _fork_registry.add(self)
        self.setup()

    # -- to implement -------------------------------------------------------

    def new(self) -> Any:
        """Create a new resource."""
        raise NotImplementedError(f"{type(self).__name__} must implement new()")

    def setup(self) -> None:
        """Fill the pool with slots up to ``limit`` (called on creation and resize)."""
        limit = self.limit
        if not limit:
            return
        missing = limit - self._resource.qsize() - len(self._dirty)
        for _ in range(max(missing, 0)):
            if self.preload > self._resource.qsize() + len(self._dirty):
                self._resource.put_nowait(self.prepare(self.new()))
            else:
                self._resource.put_nowait(_Lazy(self.new))

    def prepare(self, resource: Any) -> Any:
        """Make ``resource`` ready for use (creates it if it is a placeholder)."""
        return resource() if _is_lazy(resource) else resource

    def close_resource(self, resource: Any) -> None:
        """Close ``resource`` for good."""
        resource.close()

    def collect_resource(self, resource: Any) -> None:
        """Drop ``resource`` without talking to a broker (used after fork)."""
        self.close_resource(resource)

    def release_resource(self, resource: Any) -> None:
        """Called after ``resource`` went back to the pool."""

    # -- public API ---------------------------------------------------------

    def acquire(self, block: bool = False, timeout: float | None = None) -> Any:
        """Take a resource from the pool.

        When every resource is in use, ``block=False`` raises
        :attr:`LimitExceeded` at once; ``block=True`` waits for a release,
        at most ``timeout`` seconds (None: forever) before raising it.  The
        resource's ``release()`` gives it back to the pool.
        """
        if self._closed:
            raise RuntimeError(f"Cannot acquire from {self!r}: the pool was closed")
        if self.limit:
            try:
                item = self._resource.get(block=block, timeout=timeout)
            except queue.Empty:
                raise self._limit_exceeded(block, timeout) from None
            try:
                resource = self.prepare(item)
            except BaseException:
                # Give the slot back: a failed creation must not shrink the pool.
                self._resource.put_nowait(_Lazy(self.new) if _is_lazy(item) else item)
                raise
            self._dirty.add(resource)
        else:
            resource = self.prepare(self.new())

        def release() -> None:
            """Give this resource back to its pool; don't use it afterwards."""
            self.release(resource)

        resource.release = release
        return resource

    def _limit_exceeded(self, block: bool, timeout: float | None) -> Exception:
        waited = f" after waiting {timeout} seconds" if block and timeout is not None else ""
        return self.LimitExceeded(
            f"{type(self).__name__}: all {self.limit} resources are in use{waited}. "
            f"Release resources you are done with, pass block=True (with a timeout) "
            f"to wait for one, or raise the pool's limit."
        )

    def release(self, resource: Any) -> None:
        """Give ``resource`` back (with no limit it is closed instead)."""
        if self.limit:
            if resource not in self._dirty:
                return  # released twice, or not ours: never hand out a slot twice
            self._dirty.discard(resource)
            self._resource.put_nowait(resource)
            self.release_resource(resource)
        else:
            self.close_resource(resource)

    def replace(self, resource: Any) -> None:
        """Close a defective ``resource``; its slot gets a fresh one when next acquired."""
        if self.limit:
            in_use = resource in self._dirty
            self._dirty.discard(resource)
            if in_use:
                self._resource.put_nowait(_Lazy(self.new))
        self.close_resource(resource)

    def force_close_all(self, close_pool: bool = True) -> None:
        """Close every resource, in use or not (e.g. after fork).

        With ``close_pool`` the pool refuses further acquires.
        """
        if close_pool:
            self._closed = True
        dirty, self._dirty = self._dirty, set()
        available = []
        while True:
            try:
                available.append(self._resource.get_nowait())
            except queue.Empty:
                break
        for resource in [*dirty, *available]:
            if _is_lazy(resource):
                continue
            try:
                self.collect_resource(resource)
            except AttributeError:  # not a resource this pool understands
                pass

    def resize(
        self,
        limit: int | None,
        force: bool = False,
        ignore_errors: bool = False,
        reset: bool = False,
    ) -> None:
        """Change the limit.

        Shrinking a pool whose resources are in use raises RuntimeError
        unless ``force`` (which closes everything) or ``ignore_errors``;
        ``reset`` closes every resource first.
        """
        limit = limit or 0
        previous = self._limit or 0
        if self._dirty and 0 < limit < previous and not ignore_errors:
            if not force:
                raise RuntimeError(
                    f"Cannot shrink {type(self).__name__} from {previous} to {limit} "
                    f"while {len(self._dirty)} resources are in use (pass force=True)"
                )
            reset = True
        self._limit = limit
        if reset:
            try:
                self.force_close_all(close_pool=False)
            except Exception:
                pass
        if limit and limit < previous:
            self._shrink_down(limit)
        self.setup()

    def _shrink_down(self, limit: int) -> None:
        extra = self._resource.qsize() + len(self._dirty) - limit
        while extra > 0:
            try:
                resource = self._resource.get_nowait()
            except queue.Empty:
                break
            extra -= 1
            if not _is_lazy(resource):
                try:
                    self.close_resource(resource)
                except Exception:
                    pass

    @property
    def limit(self) -> int | None:
        return self._limit

    @limit.setter
    def limit(self, limit: int | None) -> None:
        self.resize(limit)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} limit={self.limit} in use={len(self._dirty)}>"


class _ConnectionBound(Resource):
    """A pool of resources made from one :class:`~kombu.Connection`.

    Keyword arguments (``preload``, ``close_after_fork``) go to
    :class:`Resource`.
    """

    def __init__(self, connection: Any, limit: int | None = None, **kwargs: Any) -> None:
        self.connection = connection
        super().__init__(limit=limit, **kwargs)


class ConnectionPool(_ConnectionBound):
    """A pool of connections cloned from ``connection`` (at most ``limit``).

    Acquired connections are not connected until used; their ``release()``
    (and leaving a ``with`` block) puts them back.  When an exception leaves
    the ``with`` block the connection is closed before it goes back, so the
    next ``acquire()`` gets it unconnected and it reconnects on first use.
    """

    LimitExceeded = exceptions.ConnectionLimitExceeded

    def new(self) -> Any:
        conn = self.connection.clone()
        conn._pool = self
        return conn

    def prepare(self, resource: Any) -> Any:
        conn = super().prepare(resource)
        if conn._closed:
            # Closed while out (after an error, or by its user): hand it out as
            # new, so that any use connects again instead of finding it shut.
            conn._closed = None
        return conn

    def close_resource(self, resource: Any) -> None:
        # Connection.close closes for real; release() would come back here.
        resource.close()

    def collect_resource(self, resource: Any, socket_timeout: float | None = 0.1) -> None:
        collect = getattr(resource, "collect", None)
        if collect is not None:
            collect(socket_timeout)
        else:
            self.close_resource(resource)

    @contextmanager
    def acquire_channel(self, block: bool = False) -> Iterator[tuple[Any, Any]]:
        """``with pool.acquire_channel() as (connection, channel):`` a pooled
        connection and its default channel, given back (closed first if the
        block raised) when the block ends."""
        with self.acquire(block=block) as connection:
            yield connection, connection.default_channel

    def __repr__(self) -> str:
        return f"<ConnectionPool {self.connection!r} limit={self.limit}>"


class ChannelPool(_ConnectionBound):
    """A pool of channels on ``connection`` (at most ``limit``).

    A channel's own ``with`` block closes it (on error or not, as kombu's
    channels do); a pooled channel closed while acquired gives its slot back
    to the pool, which opens a new channel for the next ``acquire()``.
    """

    LimitExceeded = exceptions.ChannelLimitExceeded

    def new(self) -> Any:
        channel = self.connection.channel()
        close = channel.close

        def close_and_free_slot() -> None:
            """Close the channel; if it was acquired, its slot gets a new one."""
            try:
                close()
            finally:
                self._free_slot(channel)

        channel.close = close_and_free_slot
        return channel

    def prepare(self, channel: Any) -> Any:
        """The channel, opened now if its slot held a placeholder."""
        return super().prepare(channel)

    def _free_slot(self, channel: Any) -> None:
        if self.limit and channel in self._dirty:
            self._dirty.discard(channel)
            self._resource.put_nowait(_Lazy(self.new))

    def close_resource(self, resource: Any) -> None:
        resource.close()

    def __repr__(self) -> str:
        return f"<ChannelPool {self.connection!r} limit={self.limit}>"
