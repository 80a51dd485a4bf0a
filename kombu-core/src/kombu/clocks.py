"""Logical clocks and synchronization."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from itertools import takewhile
from typing import Any

__all__ = ("LamportClock", "timetuple")


class timetuple(tuple):
    """Tuple of event clock information: ``(clock, timestamp, id, obj)``.

    Can be used as part of a heap to keep events ordered: events compare by
    logical clock when both have one (ties broken by ``id``, then
    timestamp), otherwise by timestamp.

    :param clock: Event clock value (int).
    :param timestamp: Event UNIX timestamp value (float).
    :param id: Event host id (e.g. ``hostname:pid``).
    :param obj: Optional obj to associate with this event.
    """

    __slots__ = ()

    def __new__(cls, clock: int | None, timestamp: float, id: Any, obj: Any = None) -> timetuple:
        return tuple.__new__(cls, (clock, timestamp, id, obj))

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)

    def __repr__(self) -> str:
        clock, timestamp, id, obj = self
        return f"_lamport(clock={clock}, timestamp={timestamp}, id={id} {obj!r})"

    def __lt__(self, other: Any) -> bool:
        try:
            a, b = self[0], other[0]
            if a and b:
                if a == b:
                    return (self[2], self[1]) < (other[2], other[1])
                return a < b
            return self[1] < other[1]
        except (IndexError, TypeError):
            return NotImplemented

    def __gt__(self, other: Any) -> bool:
        return other < self

    def __le__(self, other: Any) -> bool:
        return not other < self

    def __ge__(self, other: Any) -> bool:
        return not self < other

    @property
    def clock(self) -> int | None:
        return self[0]

    @property
    def timestamp(self) -> float:
        return self[1]

    @property
    def id(self) -> Any:
        return self[2]

    @property
    def obj(self) -> Any:
        return self[3]


class LamportClock:
    """Lamport's logical clock.

    A counter that only moves forward: call :meth:`forward` before sending a
    message (and send the value with it), and :meth:`adjust` with the value
    of every message received, which moves the clock past it. Comparing
    clock values then orders events across processes consistently with
    causality.
    """

    #: The clock's current value.
    value = 0

    def __init__(self, initial_value: int = 0, Lock: Callable[[], Any] = threading.Lock) -> None:
        self.value = initial_value
        self.mutex = Lock()

    def adjust(self, other: int) -> int:
        """Sync with a received clock value; returns the new value."""
        with self.mutex:
            value = self.value = max(self.value, other) + 1
            return value

    def forward(self) -> int:
        """Advance the clock for a local event; returns the new value."""
        with self.mutex:
            self.value += 1
            return self.value

    def sort_heap(self, h: Sequence[Sequence[Any]]) -> Any:
        """Return the latest event of an already sorted heap of events.

        Events are tuples whose first two elements are the clock value and
        the process id (``(clock, processid, ...)``); of the events sharing
        the first clock value, the one with the lowest process id wins.
        """
        first = h[0][0]
        same = list(takewhile(lambda event: event[0] == first, h))
        return min(same, key=lambda event: event[1])

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"<LamportClock: {self.value}>"
