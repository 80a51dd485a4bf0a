"""Selector utilities: one poller interface over epoll, poll and select.

:func:`poll` returns the best poller for this platform. Every poller has
``register(fd, events)``, ``unregister(fd)``, ``poll(timeout)`` (seconds,
``None`` blocks) returning a list of ``(fd, events)`` and ``close()``.
File descriptors may be ints or objects with a ``fileno()`` method.
"""

from __future__ import annotations

import errno
import math
import select
import sys
from typing import Any, Protocol

__all__ = ("ERR", "POLL_ERR", "POLL_READ", "POLL_WRITE", "READ", "SELECT_BAD_FD", "WRITE", "poll")

#: Reading from the fd will not block.
READ = POLL_READ = 0x001
#: Writing to the fd will not block.
WRITE = POLL_WRITE = 0x004
#: An error or hang-up happened on the fd (it should be read from asap).
ERR = POLL_ERR = 0x008 | 0x010

_POLLNVAL = 0x020

#: errnos meaning "this is not (or no longer) a valid file descriptor".
SELECT_BAD_FD = {errno.EBADF} | (
    {errno.WSAENOTSOCK} if hasattr(errno, "WSAENOTSOCK") else set()  # type: ignore[attr-defined]
)


class Poller(Protocol):
    """What every poller returned by :func:`poll` provides."""

    def register(self, fd: Any, events: int) -> int: ...
    def unregister(self, fd: Any) -> None: ...
    def poll(self, timeout: float | None) -> list[tuple[int, int]]: ...
    def close(self) -> None: ...


def _fd(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.fileno()


class EpollPoller:
    """Linux ``epoll``; registering a known fd again changes its event mask."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        self._fds: set[int] = set()

    def register(self, fd: Any, events: int) -> int:
        fd = _fd(fd)
        if fd in self._fds:
            # the usual case in a busy loop: one syscall, not two
            try:
                self._epoll.modify(fd, events)
                return fd
            except FileNotFoundError:
                pass  # closed behind our back (epoll forgot it), maybe reused
        try:
            self._epoll.register(fd, events)
        except FileExistsError:
            self._epoll.modify(fd, events)
        self._fds.add(fd)
        return fd

    def unregister(self, fd: Any) -> None:
        try:
            fd = _fd(fd)
            self._fds.discard(fd)
            self._epoll.unregister(fd)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # already gone, closed, or the poller itself is closed
            pass

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        try:
            return self._epoll.poll(-1 if timeout is None else timeout)
        except InterruptedError:  # pragma: no cover - retried by Python >= 3.5
            return []

    def close(self) -> None:
        self._fds.clear()
        self._epoll.close()


class PollPoller:
    """POSIX ``poll()``."""

    def __init__(self) -> None:
        self._poller = select.poll()
        self._fds: set[int] = set()

    def register(self, fd: Any, events: int) -> int:
        fd = _fd(fd)
        self._poller.register(fd, events)
        self._fds.add(fd)
        return fd

    def unregister(self, fd: Any) -> None:
        try:
            fd = _fd(fd)
            self._poller.unregister(fd)
        except (KeyError, OSError, ValueError, TypeError, AttributeError):
            pass
        else:
            self._fds.discard(fd)

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        ms = None if timeout is None else max(0, math.ceil(timeout * 1000))
        try:
            events = self._poller.poll(ms)
        except InterruptedError:  # pragma: no cover - retried by Python >= 3.5
            return []
        # An fd closed behind our back reports POLLNVAL: surface it as an error.
        return [(fd, (ev | ERR) if ev & _POLLNVAL else ev) for fd, ev in events]

    def close(self) -> None:
        for fd in list(self._fds):
            self.unregister(fd)
        self._fds.clear()


class SelectPoller:
    """Portable ``select()``; bad fds are dropped instead of failing the loop."""

    def __init__(self) -> None:
        self._rfd: set[int] = set()
        self._wfd: set[int] = set()
        self._efd: set[int] = set()
        self._all = (self._rfd, self._wfd, self._efd)

    def register(self, fd: Any, events: int) -> int:
        fd = _fd(fd)
        if fd < 0:
            raise ValueError(f"file descriptor cannot be a negative integer ({fd})")
        self.unregister(fd)
        if events & ERR:
            self._efd.add(fd)
        if events & WRITE:
            self._wfd.add(fd)
        if events & READ:
            self._rfd.add(fd)
        return fd

    def unregister(self, fd: Any) -> None:
        try:
            fd = _fd(fd)
        except (OSError, ValueError, AttributeError):
            return
        for fds in self._all:
            fds.discard(fd)

    def _drop_bad_fds(self) -> list[int]:
        bad = []
        for fd in self._rfd | self._wfd | self._efd:
            try:
                select.select([fd], [], [], 0)
            except (OSError, ValueError) as exc:
                if isinstance(exc, ValueError) or exc.errno in SELECT_BAD_FD:
                    bad.append(fd)
                    self.unregister(fd)
        return bad

    def poll(self, timeout: float | None) -> list[tuple[int, int]]:
        try:
            r, w, e = select.select(self._rfd, self._wfd, self._efd, timeout)
        except InterruptedError:  # pragma: no cover - retried by Python >= 3.5
            return []
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno not in SELECT_BAD_FD:
                raise
            # report dropped fds as errors so their owners notice
            return [(fd, ERR) for fd in self._drop_bad_fds()]
        events: dict[int, int] = {}
        for fd in r:
            events[fd] = events.get(fd, 0) | READ
        for fd in w:
            events[fd] = events.get(fd, 0) | WRITE
        for fd in e:
            # select's "exceptional" set means urgent data, not a hang-up:
            # report it as readable so the reader drains it.
            events[fd] = events.get(fd, 0) | READ | ERR
        return list(events.items())

    def close(self) -> None:
        for fds in self._all:
            fds.clear()


def _green_patched() -> bool:
    """Whether eventlet or gevent has monkey-patched the socket module."""
    eventlet = sys.modules.get("eventlet.patcher")
    if eventlet is not None and eventlet.is_monkey_patched("socket"):
        return True
    gevent = sys.modules.get("gevent.monkey")
    return bool(gevent is not None and gevent.is_module_patched("socket"))


def _get_poller() -> type[EpollPoller | PollPoller | SelectPoller]:
    if _green_patched():
        return SelectPoller
    if hasattr(select, "epoll"):
        return EpollPoller
    if hasattr(select, "poll"):
        return PollPoller
    return SelectPoller


def poll(*args: Any, **kwargs: Any) -> EpollPoller | PollPoller | SelectPoller:
    """Create a new poller instance (epoll, else poll, else select)."""
    return _get_poller()(*args, **kwargs)
