"""Waking a consumer when its queues change: ZooKeeper child watches.

The waiter arms a one-shot child watch on each consumed queue's message
folder (asynchronously: the request goes ahead of the next fetch on the same
session, so no change after the token can be missed) and sleeps until one
fires, or ``polling_interval`` passes (a safety net: watches set on a session
that expired are gone).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract import ZooKeeperBroker

__all__ = ("ZooKeeperWaiter",)


class ZooKeeperWaiter:
    """One per connection: child watches on the queues it consumes from."""

    def __init__(self, transport: ZooKeeperBroker) -> None:
        self.transport = transport
        self.interval = transport.polling_interval or 1.0
        self._queues: frozenset[str] = frozenset()
        self._armed: set[str] = set()
        self._count = 0
        self._cond = threading.Condition()
        self._pipe: tuple[int, int] | None = None
        self._closed = False
        self._listening: Any = None

    def _state_changed(self, state: Any) -> None:
        """A suspended or lost session may have dropped the watches: arm them again."""
        with self._cond:
            self._armed.clear()
            self._count += 1
            self._cond.notify_all()

    def watch(self, queues: Collection[str]) -> None:
        with self._cond:
            self._queues = frozenset(queues)
            self._armed &= set(self._queues)

    def _fired(self, path: str) -> Any:
        def fired(event: Any) -> None:
            with self._cond:
                self._armed.discard(path)
                self._count += 1
                self._cond.notify_all()
                pipe = self._pipe
            if pipe is not None:
                try:
                    os.write(pipe[1], b"!")
                except OSError:
                    pass
        return fired

    def _not_armed(self, path: str) -> Any:
        def done(result: Any) -> None:
            if result.exception is not None:  # no such queue (yet): poll for it
                with self._cond:
                    self._armed.discard(path)
        return done

    def token(self) -> Any:
        layout = self.transport.layout
        with self._cond:
            todo = [layout.messages(q) for q in self._queues]
            todo = [p for p in todo if p not in self._armed]
            self._armed.update(todo)
            count = self._count
        if todo:
            zk = self.transport.zk_client()
            if self._listening is not zk:
                self._listening = zk
                zk.add_listener(self._state_changed)
            for path in todo:
                zk.get_children_async(path, watch=self._fired(path)).rawlink(
                    self._not_armed(path))
        return count

    def wait(self, token: Any, timeout: float | None) -> None:
        pipe = self._pipe
        if pipe is not None:
            try:
                os.read(pipe[0], 4096)
            except OSError:
                pass
        limit = self.interval if timeout is None else min(timeout, self.interval)
        if limit <= 0:
            return
        with self._cond:
            if self._count == token and not self._closed:
                self._cond.wait(limit)

    def fileno(self) -> int | None:
        with self._cond:
            if self._pipe is None and not self._closed:
                r, w = os.pipe()
                os.set_blocking(r, False)
                os.set_blocking(w, False)
                self._pipe = (r, w)
            return self._pipe[0] if self._pipe else None

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            pipe, self._pipe = self._pipe, None
        if pipe is not None:
            for fd in pipe:
                try:
                    os.close(fd)
                except OSError:
                    pass
