"""Semaphores and concurrency primitives for callback-driven code."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ("DummyLock", "LaxBoundedSemaphore")

_Waiter = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class LaxBoundedSemaphore:
    """Asynchronous bounded semaphore.

    Instead of blocking, :meth:`acquire` takes a callback: it is applied at
    once when a slot is free, else queued and applied (first in, first out)
    by a later :meth:`release`. *Lax* means releasing more often than
    acquiring never raises: the value just stays within
    ``0 <= value <= initial_value``.
    """

    def __init__(self, value: int) -> None:
        self.initial_value = self.value = value
        self._waiting: deque[_Waiter] = deque()

    @property
    def _waiters(self) -> deque[_Waiter]:
        return self._waiting

    def acquire(
        self, callback: Callable[..., Any], *partial_args: Any, **partial_kwargs: Any
    ) -> bool:
        """Apply ``callback(*partial_args, **partial_kwargs)`` now or when a slot frees.

        Returns true if the callback was applied immediately.
        """
        if self.value <= 0:
            self._waiting.append((callback, partial_args, partial_kwargs))
            return False
        self.value -= 1
        callback(*partial_args, **partial_kwargs)
        return True

    def release(self) -> None:
        """Release a slot: hand it to the first waiter, if any, else free it."""
        try:
            callback, args, kwargs = self._waiting.popleft()
        except IndexError:
            self.value = min(self.value + 1, self.initial_value)
        else:
            callback(*args, **kwargs)

    def grow(self, n: int = 1) -> None:
        """Accept ``n`` more users; waiting callbacks take the new slots first."""
        self.initial_value += n
        for _ in range(n):
            if self._waiting:
                callback, args, kwargs = self._waiting.popleft()
                callback(*args, **kwargs)
            else:
                self.value += 1

    def shrink(self, n: int = 1) -> None:
        """Accept ``n`` fewer users (never below zero)."""
        self.initial_value = max(self.initial_value - n, 0)
        self.value = max(self.value - n, 0)

    def clear(self) -> None:
        """Reset the semaphore, dropping any waiting callbacks."""
        self._waiting.clear()
        self.value = self.initial_value

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} at {id(self):#x} "
            f"value:{self.value} waiting:{len(self._waiting)}>"
        )


class DummyLock:
    """A context manager pretending to be a lock; it does nothing."""

    def __enter__(self) -> DummyLock:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        return None
