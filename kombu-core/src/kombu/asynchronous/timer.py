"""Timer: a heap of Python callbacks scheduled on the monotonic clock."""

from __future__ import annotations

import heapq
import itertools
import time as _time
import weakref
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone, tzinfo
from functools import wraps
from time import monotonic
from typing import Any, NamedTuple

from kombu.log import get_logger

__all__ = ("Entry", "Timer", "scheduled", "to_timestamp")

logger = get_logger(__name__)

#: Default longest wait between two looks at the schedule (seconds).
DEFAULT_MAX_INTERVAL = 2.0

_entry_seq = itertools.count()


def to_timestamp(
    d: datetime | float,
    default_timezone: tzinfo = timezone.utc,
    time: Callable[[], float] = monotonic,
) -> float:
    """Convert datetime to timestamp on the ``time`` clock (monotonic by default).

    A naive datetime is taken to be in ``default_timezone``. If ``d`` is
    already a timestamp, it is returned unchanged.
    """
    if isinstance(d, datetime):
        if d.tzinfo is None:
            d = d.replace(tzinfo=default_timezone)
        # shift from the wall clock to the ``time`` clock
        return d.timestamp() - (_time.time() - time())
    return d


class Entry:
    """Schedule entry: a callback with its arguments.

    Entries compare by creation order, so entries due at the same time and
    priority run first-in, first-out.
    """

    __slots__ = ("__weakref__", "_last_run", "_seq", "args", "canceled", "fun", "kwargs", "tref")

    def __init__(
        self,
        fun: Callable[..., Any],
        args: Sequence[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.fun = fun
        self.args = args or []
        self.kwargs = kwargs or {}
        self.tref = weakref.proxy(self)
        self.canceled = False
        self._last_run: float | None = None
        self._seq = next(_entry_seq)

    def __call__(self) -> Any:
        return self.fun(*self.args, **self.kwargs)

    def cancel(self) -> None:
        """Cancel the entry: it will not be called again."""
        self.canceled = True

    @property
    def cancelled(self) -> bool:
        return self.canceled

    @cancelled.setter
    def cancelled(self, value: bool) -> None:
        self.canceled = value

    def __repr__(self) -> str:
        name = getattr(self.fun, "__name__", repr(self.fun))
        return f"<TimerEntry: {name}(*{self.args!r}, **{self.kwargs!r})>"

    def __lt__(self, other: Entry) -> bool:
        return self._seq < other._seq

    def __gt__(self, other: Entry) -> bool:
        return self._seq > other._seq

    def __le__(self, other: Entry) -> bool:
        return self._seq <= other._seq

    def __ge__(self, other: Entry) -> bool:
        return self._seq >= other._seq


_Entry = Entry


class scheduled(NamedTuple):
    """An item in the timer's heap."""

    eta: float
    priority: int
    entry: Entry


class Timer:
    """Async timer: the event loop asks it what is due, and runs it.

    Times are on the :func:`time.monotonic` clock; datetimes are converted
    with :func:`to_timestamp`. Lower ``priority`` values run first among
    entries due at the same time.
    """

    Entry = Entry
    #: Called with the exception when applying an entry fails.
    on_error: Callable[[BaseException], Any] | None = None

    def __init__(
        self,
        max_interval: float | None = None,
        on_error: Callable[[BaseException], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.max_interval = float(max_interval or DEFAULT_MAX_INTERVAL)
        self.on_error = on_error or self.on_error
        self._queue: list[scheduled] = []

    def __enter__(self) -> Timer:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def call_at(
        self,
        eta: datetime | float | None,
        fun: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> _Entry | None:
        """Call ``fun(*args, **kwargs)`` at ``eta`` (monotonic time or datetime)."""
        return self.enter_at(self.Entry(fun, args, kwargs), eta, priority)

    def call_after(
        self,
        secs: float,
        fun: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> _Entry | None:
        """Call ``fun(*args, **kwargs)`` in ``secs`` seconds."""
        return self.enter_after(secs, self.Entry(fun, args, kwargs), priority)

    def call_repeatedly(
        self,
        secs: float,
        fun: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        priority: int = 0,
    ) -> _Entry | None:
        """Call ``fun`` every ``secs`` seconds until the returned entry is canceled."""
        entry = self.Entry(fun, args, kwargs)
        ref = weakref.ref(entry)

        @wraps(fun)
        def repeat(*a: Any, **kw: Any) -> Any:
            this = ref()
            if this is None:  # pragma: no cover - entry collected while running
                return None
            now = monotonic()
            last = this._last_run
            try:
                if last is None or now - last >= secs:
                    this._last_run = now
                    return fun(*a, **kw)
                return None
            finally:
                if not this.canceled:
                    last = this._last_run
                    delay = secs if last is None else max(0.0, secs - (now - last))
                    self.enter_after(delay, this, priority)

        entry.fun = repeat
        return self.enter_after(secs, entry, priority)

    def enter_at(
        self,
        entry: _Entry,
        eta: datetime | float | None = None,
        priority: int = 0,
        time: Callable[[], float] = monotonic,
    ) -> _Entry | None:
        """Enter an entry into the schedule, due at ``eta`` (default: now)."""
        if eta is None:
            eta = time()
        if isinstance(eta, datetime):
            try:
                eta = to_timestamp(eta, time=time)
            except Exception as exc:
                if not self.handle_error(exc):
                    raise
                return None
        heapq.heappush(self._queue, scheduled(eta, priority, entry))
        return entry

    def enter_after(
        self,
        secs: float,
        entry: _Entry,
        priority: int = 0,
        time: Callable[[], float] = monotonic,
    ) -> _Entry | None:
        """Enter an entry into the schedule, due in ``secs`` seconds."""
        return self.enter_at(entry, time() + float(secs), priority)

    def apply_entry(self, entry: _Entry) -> None:
        """Call an entry; errors go to :meth:`handle_error` or the log."""
        try:
            entry()
        except Exception as exc:
            if not self.handle_error(exc):
                logger.error("Error in timer: %r", exc, exc_info=True)

    def handle_error(self, exc_info: BaseException) -> bool | None:
        """Pass an error to :attr:`on_error`; true if it was handled."""
        if self.on_error:
            self.on_error(exc_info)
            return True
        return None

    def stop(self) -> None:
        """Nothing to stop: the event loop drives this timer."""

    def __iter__(self) -> Iterator[tuple[float | None, _Entry | None]]:
        """Iterate over the schedule, forever.

        Yields ``(None, entry)`` for each entry that is due (the caller calls
        it), ``(seconds, None)`` when the next entry is not due yet (wait at
        most that long, capped at :attr:`max_interval`), and ``(None, None)``
        when nothing is scheduled. Canceled entries are dropped silently.
        """
        queue = self._queue
        max_interval = self.max_interval
        while True:
            if not queue:
                yield None, None
                continue
            head = queue[0]
            now = monotonic()
            if now < head.eta:
                yield min(head.eta - now, max_interval), None
                continue
            heapq.heappop(queue)
            if not head.entry.canceled:
                yield None, head.entry

    def clear(self) -> None:
        """Remove every entry from the schedule."""
        self._queue[:] = []

    def cancel(self, tref: _Entry) -> None:
        """Cancel an entry."""
        tref.cancel()

    def empty(self) -> bool:
        """Whether nothing is scheduled."""
        return not self._queue

    def __len__(self) -> int:
        return len(self._queue)

    def __bool__(self) -> bool:
        # a timer is always "something", even when nothing is scheduled
        return True

    @property
    def queue(self) -> list[scheduled]:
        """Snapshot of the schedule, in the order entries will run."""
        return sorted(self._queue)

    @property
    def schedule(self) -> Timer:
        return self
