"""Polling with a back-off: short sleeps while messages flow, longer ones when idle."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

__all__ = ("BackoffWaiter",)


class BackoffWaiter:
    """Sleeps ``minimum`` after a poll that found work, doubling up to ``maximum`` while idle.

    The drain loop asks for a token before each fetch and waits only when the
    fetch found nothing: two tokens since the last wait mean work came.
    """

    def __init__(self, minimum: float, maximum: float) -> None:
        self.minimum = max(0.0, minimum)
        self.maximum = max(self.minimum, maximum)
        self.delay = self.minimum
        self._tokens = 0

    def watch(self, queues: Collection[str]) -> None:
        pass

    def token(self) -> Any:
        self._tokens += 1
        return None

    def wait(self, token: Any, timeout: float | None) -> None:
        if self._tokens > 1:
            self.delay = self.minimum
        self._tokens = 0
        delay = self.delay if timeout is None else min(self.delay, timeout)
        self.delay = min(self.maximum, max(self.delay * 2, 0.001))
        if delay > 0:
            time.sleep(delay)

    def fileno(self) -> int | None:
        return None

    def close(self) -> None:
        pass
