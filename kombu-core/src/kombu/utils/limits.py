"""Rate limiting with a token bucket."""

from __future__ import annotations

from collections import deque
from time import monotonic
from typing import Any

__all__ = ("TokenBucket",)


class TokenBucket:
    """A bucket holding up to ``capacity`` tokens, refilled at ``fill_rate`` per second.

    A consumer takes tokens with :meth:`can_consume`; items that must wait can
    be parked with :meth:`add` and taken back with :meth:`pop`.  Not thread
    safe: guard shared buckets with a lock.
    """

    #: The rate in tokens/second at which the bucket is refilled.
    fill_rate: float
    #: Maximum number of tokens in the bucket.
    capacity: float = 1
    #: When tokens were last counted.
    timestamp: float

    def __init__(self, fill_rate: float, capacity: float = 1) -> None:
        self.capacity = float(capacity)
        self.fill_rate = float(fill_rate)
        self._tokens = float(capacity)
        self.timestamp = monotonic()
        self.contents: deque[Any] = deque()

    def add(self, item: Any) -> None:
        """Park ``item`` until tokens are available."""
        self.contents.append(item)

    def pop(self) -> Any:
        """Take the oldest parked item (``IndexError`` if there is none)."""
        return self.contents.popleft()

    def clear_pending(self) -> None:
        """Forget all parked items."""
        self.contents.clear()

    def can_consume(self, tokens: float = 1) -> bool:
        """Take ``tokens`` if that many are available (all or nothing); say whether it did."""
        if tokens <= self._refill():
            self._tokens -= tokens
            return True
        return False

    def expected_time(self, tokens: float = 1) -> float:
        """Seconds until ``tokens`` tokens will be available (0.0 if they are now)."""
        available = self._refill()
        missing = max(tokens - available, 0.0)
        return missing / self.fill_rate if missing and self.fill_rate else 0.0

    def _refill(self) -> float:
        if self._tokens < self.capacity:
            now = monotonic()
            gained = self.fill_rate * (now - self.timestamp)
            self._tokens = min(self.capacity, self._tokens + gained)
            self.timestamp = now
        return self._tokens

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__}: fill_rate={self.fill_rate} "
            f"capacity={self.capacity} pending={len(self.contents)}>"
        )
