"""Event loop implementation: readers, writers, timers and ready callbacks."""

from __future__ import annotations

import errno
from collections.abc import Callable, Generator, Iterable, Iterator
from queue import Empty
from time import sleep as _sleep
from types import GeneratorType
from typing import Any

from kombu.log import get_logger
from kombu.utils.eventio import ERR, READ, SELECT_BAD_FD, WRITE, poll

from .debug import repr_active, repr_events
from .timer import Entry, Timer

__all__ = ("Handle", "Hub", "Stop", "get_event_loop", "set_event_loop")

logger = get_logger(__name__)

_current_loop: Hub | None = None

_MISSING: Any = object()


def get_event_loop() -> Hub | None:
    """Get current event loop object."""
    return _current_loop


def set_event_loop(loop: Hub | None) -> Hub | None:
    """Set the current event loop object (returns it)."""
    global _current_loop
    _current_loop = loop
    return loop


class Stop(BaseException):
    """Raised inside the loop to stop :meth:`Hub.run_forever`."""


def _raise_stop_error() -> None:
    raise Stop()


def _fileno(fd: Any) -> int:
    return fd if isinstance(fd, int) else fd.fileno()


def _maybe_fileno(fd: Any) -> int | None:
    try:
        return _fileno(fd)
    except (AttributeError, OSError, ValueError, TypeError):
        return None


def _is_thenable(obj: Any) -> bool:
    return callable(obj) and callable(getattr(obj, "then", None))


class Handle:
    """A callback scheduled with :meth:`Hub.call_soon`.

    Calling it applies the callback once (unless canceled); callbacks added
    with :meth:`then` receive its return value.
    """

    __slots__ = ("_callbacks", "args", "cancelled", "fun", "ready", "value")

    def __init__(self, fun: Callable[..., Any], args: tuple[Any, ...] = ()) -> None:
        self.fun = fun
        self.args = args
        self.cancelled = False
        self.ready = False
        self.value: Any = None
        self._callbacks: list[Callable[[Any], Any]] = []

    def __call__(self) -> Any:
        if self.cancelled or self.ready:
            return None
        self.value = self.fun(*self.args)
        self.ready = True
        for callback in self._callbacks:
            callback(self.value)
        return self.value

    def then(self, callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Call ``callback(result)`` once this handle has run."""
        if self.ready:
            callback(self.value)
        else:
            self._callbacks.append(callback)
        return callback

    def cancel(self) -> None:
        """Do not run the callback."""
        self.cancelled = True

    def __repr__(self) -> str:
        name = getattr(self.fun, "__qualname__", None) or repr(self.fun)
        return f"<Handle: {name}{self.args!r}{' canceled' if self.cancelled else ''}>"


class _ReadySet:
    """An insertion-ordered set: callbacks run first in, first out."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._items: dict[Any, None] = dict.fromkeys(items)

    def add(self, item: Any) -> None:
        self._items[item] = None

    def update(self, items: Iterable[Any]) -> None:
        for item in items:
            self._items[item] = None

    def discard(self, item: Any) -> None:
        self._items.pop(item, None)

    def remove(self, item: Any) -> None:
        del self._items[item]

    def clear(self) -> None:
        self._items.clear()

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"{{{', '.join(map(repr, self._items))}}}"


class Hub:
    """Event loop object.

    :param timer: Specify custom timer instance
        (:class:`kombu.asynchronous.timer.Timer`).
    """

    #: Flag set if reading from an fd will not block.
    READ = READ
    #: Flag set if writing to an fd will not block.
    WRITE = WRITE
    #: Flag set on error, and the fd should be read from asap.
    ERR = ERR

    #: Callbacks applied with the hub as sole argument when it closes.
    on_close: set[Callable[[Hub], Any]]

    def __init__(self, timer: Timer | None = None) -> None:
        self.timer = timer if timer is not None else Timer()
        #: fd -> (callback, args), or None for consolidated fds.
        self.readers: dict[int, tuple[Callable[..., Any], tuple[Any, ...]] | None] = {}
        self.writers: dict[int, tuple[Callable[..., Any], tuple[Any, ...]] | None] = {}
        #: Callbacks applied (without arguments) on every loop iteration.
        self.on_tick: set[Callable[[], Any]] = set()
        self.on_close = set()
        #: Writable fds in this set are not dispatched one by one: the ready
        #: ones are passed together to :attr:`consolidate_callback`.
        self.consolidate: set[int] = set()
        self.consolidate_callback: Callable[[list[int]], Any] | None = None
        #: Exceptions raised by timers that must leave the loop (others are logged).
        self.propagate_errors: tuple[type[BaseException], ...] = ()
        self._ready: Any = _ReadySet()
        self._rflags: dict[int, int] = {}
        self._wflags: dict[int, int] = {}
        self._running = False
        self._loop: Generator[None, None, None] | None = None
        self._scheduler: Iterator[tuple[float | None, Entry | None]] | None = None
        self._poller: Any = None
        self._create_poller()

    # -- poller ---------------------------------------------------------

    @property
    def poller(self) -> Any:
        if self._poller is None:
            self._create_poller()
        return self._poller

    def _create_poller(self) -> None:
        self._poller = poll()

    def _close_poller(self) -> None:
        if self._poller is not None:
            self._poller.close()
            self._poller = None

    def _mask(self, fd: int) -> int:
        return self._rflags.get(fd, 0) | self._wflags.get(fd, 0)

    def _unregister(self, fd: int) -> None:
        if self._poller is None:
            return
        try:
            self._poller.unregister(fd)
        except (AttributeError, KeyError, OSError, ValueError):
            pass

    def _sync(self, fd: int) -> None:
        """Bring the poller's interest in ``fd`` in line with readers/writers."""
        mask = self._mask(fd)
        if not mask:
            self._unregister(fd)
            return
        try:
            self.poller.register(fd, mask)
        except (OSError, ValueError):
            # the fd is gone: nothing left to watch
            self._discard(fd)
            self._unregister(fd)

    def _discard(self, fd: int) -> None:
        self.readers.pop(fd, None)
        self.writers.pop(fd, None)
        self._rflags.pop(fd, None)
        self._wflags.pop(fd, None)
        self.consolidate.discard(fd)

    # -- registration ---------------------------------------------------

    def add(
        self,
        fd: Any,
        callback: Callable[..., Any] | None,
        flags: int,
        args: Iterable[Any] = (),
        consolidate: bool = False,
    ) -> None:
        """Watch ``fd`` for ``flags``; a READ flag makes it a reader, else a writer."""
        fd = _fileno(fd)
        reader = bool(flags & READ)
        role_flags, dest = (self._rflags, self.readers) if reader else (self._wflags, self.writers)
        previous = role_flags.get(fd, _MISSING)
        role_flags[fd] = flags
        try:
            self.poller.register(fd, self._mask(fd))
        except ValueError:
            self.remove(fd)
            raise
        except BaseException:
            if previous is _MISSING:
                role_flags.pop(fd, None)
            else:
                role_flags[fd] = previous
            raise
        if consolidate:
            self.consolidate.add(fd)
            dest[fd] = None
        else:
            dest[fd] = (callback, tuple(args))  # type: ignore[assignment]

    def add_reader(self, fds: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fds`` is readable (or has an error)."""
        return self.add(fds, callback, READ | ERR, args)

    def add_writer(self, fds: Any, callback: Callable[..., Any], *args: Any) -> None:
        """Call ``callback(*args)`` whenever ``fds`` is writable."""
        return self.add(fds, callback, WRITE, args)

    def _remove_role(self, fd: Any, reader: bool) -> None:
        num = _maybe_fileno(fd)
        if num is None:
            return
        dest, role_flags = (self.readers, self._rflags) if reader else (self.writers, self._wflags)
        entry = dest.pop(num, _MISSING)
        role_flags.pop(num, None)
        if entry is None or (num not in self.readers and num not in self.writers):
            self.consolidate.discard(num)
        self._sync(num)

    def remove_reader(self, fd: Any) -> None:
        """Stop watching ``fd`` for reading (its writer, if any, stays)."""
        self._remove_role(fd, reader=True)

    def remove_writer(self, fd: Any) -> None:
        """Stop watching ``fd`` for writing (its reader, if any, stays)."""
        self._remove_role(fd, reader=False)

    def remove(self, fd: Any) -> None:
        """Stop watching ``fd`` altogether."""
        num = _maybe_fileno(fd)
        if num is None:
            return
        try:
            self._unregister(num)
        finally:
            self._discard(num)

    # -- callbacks ------------------------------------------------------

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Any:
        """Apply ``callback(*args)`` on the next loop iteration; returns a handle.

        A promise (anything with a ``then`` method) given without arguments
        is scheduled as is.
        """
        handle = callback if not args and _is_thenable(callback) else Handle(callback, args)
        self._ready.add(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Entry | None:
        """Apply ``callback(*args)`` in ``delay`` seconds; returns the timer entry."""
        return self.timer.call_after(delay, callback, args)

    def call_at(self, when: Any, callback: Callable[..., Any], *args: Any) -> Entry | None:
        """Apply ``callback(*args)`` at ``when`` (monotonic time or datetime)."""
        return self.timer.call_at(when, callback, args)

    def call_repeatedly(
        self, delay: float, callback: Callable[..., Any], *args: Any
    ) -> Entry | None:
        """Apply ``callback(*args)`` every ``delay`` seconds until the entry is canceled."""
        return self.timer.call_repeatedly(delay, callback, args)

    def on_callback_error(self, callback: Any, exc: BaseException) -> None:
        logger.error("Callback %r raised exception: %r", callback, exc, exc_info=True)

    # -- timers ---------------------------------------------------------

    @property
    def scheduler(self) -> Iterator[tuple[float | None, Entry | None]]:
        if self._scheduler is None:
            self._scheduler = iter(self.timer)
        return self._scheduler

    def fire_timers(
        self,
        min_delay: float = 1,
        max_delay: float = 10,
        max_timers: int = 10,
        propagate: tuple[type[BaseException], ...] = (),
    ) -> float:
        """Apply up to ``max_timers`` due timers; return how long the loop may wait.

        Errors are logged (or passed to the timer's ``on_error``) unless they
        are in ``propagate``, are ``MemoryError``/``AssertionError``, or are
        out-of-memory ``OSError``.
        """
        timer = self.timer
        delay: float | None = None
        if timer and getattr(timer, "_queue", True):
            scheduler = self.scheduler
            for _ in range(max_timers):
                delay, entry = next(scheduler)
                if entry is None:
                    break
                try:
                    entry()
                except propagate:
                    raise
                except (MemoryError, AssertionError):
                    raise
                except Exception as exc:
                    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
                        raise
                    handle_error = getattr(timer, "handle_error", None)
                    if not (handle_error and handle_error(exc)):
                        logger.error("Error in timer: %r", exc, exc_info=True)
            else:
                # budget spent and more may be due: come back without waiting
                return 0
        return min(delay or min_delay, max_delay)

    # -- the loop -------------------------------------------------------

    def _run_ready(self) -> None:
        if not self._ready:
            return
        todo = list(self._ready)
        self._ready.clear()
        for index, item in enumerate(todo):
            try:
                if item is not None:
                    item()
            except BaseException:
                # keep what has not run yet, ahead of anything added since
                later = list(self._ready)
                self._ready.clear()
                for rest in (*todo[index + 1 :], *later):
                    self._ready.add(rest)
                raise

    def _handle(self, fd: int, entry: tuple[Callable[..., Any], tuple[Any, ...]] | None) -> None:
        if entry is None:
            return
        callback, args = entry
        if isinstance(callback, GeneratorType):
            try:
                next(callback)
            except StopIteration:
                pass
            except OSError as exc:
                if exc.errno not in SELECT_BAD_FD:
                    raise
                logger.debug("Removed closed fd %r from the event loop: %r", fd, exc)
                self.remove(fd)
            except Exception:
                self.remove(fd)
                raise
            return
        try:
            callback(*args)
        except Empty:
            pass
        except OSError as exc:
            if exc.errno not in SELECT_BAD_FD:
                raise
            logger.debug("Removed closed fd %r from the event loop: %r", fd, exc)
            self.remove(fd)

    def _dispatch(self, events: Iterable[tuple[int, int]]) -> None:
        readers, writers, consolidate = self.readers, self.writers, self.consolidate
        to_consolidate: list[int] = []
        for fd, event in events:
            if fd in consolidate and writers.get(fd) is None:
                to_consolidate.append(fd)
                continue
            if event & (READ | WRITE):
                handled = False
                if event & READ and fd in readers:
                    handled = True
                    self._handle(fd, readers[fd])
                if event & WRITE and fd in writers:
                    handled = True
                    self._handle(fd, writers[fd])
                if not handled and fd not in readers and fd not in writers:
                    self._unregister(fd)  # stale registration
                continue
            # error or hang-up only: let the owner see it (e.g. read EOF), then
            # drop the fd unless the callback already replaced or removed it.
            entry = readers.get(fd) or writers.get(fd)
            if entry is None:
                self.remove(fd)
                continue
            try:
                self._handle(fd, entry)
            finally:
                if readers.get(fd) is entry or writers.get(fd) is entry:
                    self.remove(fd)
        if to_consolidate and self.consolidate_callback is not None:
            self.consolidate_callback(to_consolidate)

    def create_loop(
        self, sleep: Callable[[float], Any] = _sleep, **kwargs: Any
    ) -> Generator[None, None, None]:
        """Return a generator; each ``next()`` runs one iteration of the loop.

        An iteration applies the ready callbacks, fires due timers, applies
        :attr:`on_tick`, polls the fds (waiting at most until the next timer)
        and dispatches their events. The generator ends if the poller fails
        with ``ValueError`` (e.g. it was closed).
        """
        while True:
            self._run_ready()
            timeout = self.fire_timers(propagate=self.propagate_errors)
            for tick in list(self.on_tick):
                tick()
            if self._ready:
                timeout = 0
            if self.readers or self.writers:
                try:
                    events = self.poller.poll(timeout)
                except ValueError:
                    return
                self._dispatch(events or ())
            elif timeout:
                # no fds yet (startup is probably not done): nap briefly
                sleep(min(timeout, 0.1))
            yield

    @property
    def loop(self) -> Generator[None, None, None]:
        if self._loop is None:
            self._loop = self.create_loop()
        return self._loop

    def run_once(self) -> None:
        """Run one iteration of the loop."""
        try:
            next(self.loop)
        except StopIteration:
            self._loop = None
        except BaseException:
            self._loop = None  # the generator is finished
            raise

    def run_forever(self) -> None:
        """Run the loop until :meth:`stop` is called."""
        self._running = True
        try:
            while True:
                try:
                    self.run_once()
                except Stop:
                    break
        finally:
            self._running = False

    def stop(self) -> None:
        """Stop :meth:`run_forever` at the next iteration."""
        self.call_soon(_raise_stop_error)

    def close(self, *args: Any) -> None:
        """Unwatch every fd, close the poller, apply :attr:`on_close`, then run what is ready."""
        for fd in {*self.readers, *self.writers}:
            self._unregister(fd)
        self.readers.clear()
        self.writers.clear()
        self._rflags.clear()
        self._wflags.clear()
        self.consolidate.clear()
        self._close_poller()
        self._loop = None
        for callback in list(self.on_close):
            callback(self)
        # finish pending work (e.g. acks); work added meanwhile is left for later
        todo = list(self._ready)
        self._ready.clear()
        for item in todo:
            if item is not None:
                item()

    def reset(self) -> None:
        """Close the hub and start over with a new poller."""
        self.close()
        self._create_poller()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- debugging ------------------------------------------------------

    def repr_active(self) -> str:
        return repr_active(self)

    def repr_events(self, events: Iterable[tuple[int, int]]) -> str:
        return repr_events(self, events)

    def __repr__(self) -> str:
        return f"<Hub@{id(self):#x}: R:{len(self.readers)} W:{len(self.writers)}>"
