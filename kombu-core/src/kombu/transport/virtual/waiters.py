"""Waiters: how a connection of the emulated broker waits for work.

:class:`PollingWaiter` sleeps a polling interval (storages that cannot tell
when a message lands); :class:`ConditionWaiter` sleeps on a condition that
in-process publishers signal.  Transports with a way to be told (Redis
Pub/Sub, PostgreSQL ``LISTEN``) write their own (see
:class:`~.contract.Waiter`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

__all__ = ("ConditionWaiter", "PollingWaiter", "Signal")


class PollingWaiter:
    """Sleeps ``interval`` seconds (never past the timeout) between polls."""

    def __init__(self, interval: float | None) -> None:
        self.interval = interval

    def watch(self, queues: Collection[str]) -> None:
        pass

    def token(self) -> Any:
        return None

    def wait(self, token: Any, timeout: float | None) -> None:
        interval = self.interval
        if interval is None:
            interval = 1.0
        if timeout is not None:
            interval = min(interval, timeout)
        if interval > 0:
            time.sleep(interval)

    def fileno(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class Signal:
    """A counter publishers bump and consumers wait on (one per in-process broker)."""

    __slots__ = ("cond", "seq", "waiters")

    def __init__(self) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.seq = 0
        self.waiters = 0

    def notify(self) -> None:
        """Something changed (a message landed, a lease was given back)."""
        self.seq += 1
        if self.waiters:
            with self.cond:
                self.cond.notify_all()

    def wait(self, token: int, timeout: float | None) -> None:
        with self.cond:
            self.waiters += 1
            try:
                if self.seq == token:
                    self.cond.wait(timeout)
            finally:
                self.waiters -= 1


class ConditionWaiter(PollingWaiter):
    """Wakes as soon as :meth:`Signal.notify` is called; polls every ``interval`` anyway."""

    def __init__(self, signal: Signal, interval: float | None = 1.0) -> None:
        super().__init__(interval)
        self.signal = signal

    def token(self) -> Any:
        return self.signal.seq

    def wait(self, token: Any, timeout: float | None) -> None:
        interval = self.interval
        if timeout is None or (interval is not None and interval < timeout):
            timeout = interval
        self.signal.wait(token, timeout)
