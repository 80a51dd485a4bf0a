"""Environment and platform helpers: green threads, file numbers, fork hooks, entry points."""

from __future__ import annotations

import io
import numbers
import os
import sys
import threading
import weakref
from collections.abc import Callable, Generator, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from functools import wraps
from typing import Any

__all__ = (
    "FILENO_ERRORS",
    "coro",
    "detect_environment",
    "entrypoints",
    "fileno",
    "get_gevent_concurrent_error",
    "maybe_fileno",
    "nested",
    "register_after_fork",
)

#: What ``obj.fileno()`` raises when ``obj`` has no usable file descriptor.
FILENO_ERRORS = (AttributeError, ValueError, io.UnsupportedOperation)

_environment: str | None = None


def get_gevent_concurrent_error() -> type[BaseException] | None:
    """gevent's ``ConcurrentObjectUseError`` if gevent is imported, else None.

    Looked up at call time, not import time: kombu is often imported before
    gevent is (and before gevent patches the standard library).  The error
    is what gevent raises when two greenlets use one socket at once.
    """
    if "gevent" not in sys.modules:
        return None
    try:
        from gevent.exceptions import ConcurrentObjectUseError
    except ImportError:
        return None
    return ConcurrentObjectUseError  # type: ignore[no-any-return]


def _detect_environment() -> str:
    """``'eventlet'`` or ``'gevent'`` if that library patched ``socket``, else ``'default'``."""
    if "eventlet" in sys.modules:
        try:
            import socket

            from eventlet.patcher import is_monkey_patched

            if is_monkey_patched(socket):
                return "eventlet"
        except ImportError:
            pass
    if "gevent" in sys.modules:
        try:
            import socket

            from gevent import socket as green_socket

            if socket.socket is green_socket.socket:
                return "gevent"
        except ImportError:
            pass
    return "default"


def detect_environment() -> str:
    """The concurrency environment (see :func:`_detect_environment`), detected once."""
    global _environment
    if _environment is None:
        _environment = _detect_environment()
    return _environment


def fileno(f: Any) -> int:
    """The file descriptor of ``f`` (an int is returned as is)."""
    if isinstance(f, numbers.Integral):
        return int(f)
    return int(f.fileno())


def maybe_fileno(f: Any) -> int | None:
    """Like :func:`fileno`, but ``None`` when ``f`` has no file descriptor."""
    try:
        return fileno(f)
    except FILENO_ERRORS:
        return None


# -- after-fork hooks ---------------------------------------------------------

_after_fork_lock = threading.Lock()
_after_fork: list[tuple[weakref.ref[Any], Callable[[Any], Any]]] = []
_at_fork_installed = False


def _run_after_fork() -> None:
    global _after_fork
    alive = [(ref, fun) for ref, fun in _after_fork if ref() is not None]
    _after_fork = alive
    for ref, fun in alive:
        obj = ref()
        if obj is not None:
            try:
                fun(obj)
            except Exception as exc:  # one bad hook must not break the child
                print(f"kombu: after-fork hook {fun!r} failed: {exc!r}", file=sys.stderr)


def register_after_fork(obj: Any, func: Callable[[Any], Any]) -> None:
    """Call ``func(obj)`` in the child after ``os.fork()``, while ``obj`` is alive.

    ``obj`` is held by a weak reference: registering does not keep it alive.
    """
    global _at_fork_installed
    with _after_fork_lock:
        _after_fork.append((weakref.ref(obj), func))
        if not _at_fork_installed and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_run_after_fork)
            _at_fork_installed = True


# -- misc ---------------------------------------------------------------------


def entrypoints(namespace: str) -> Iterator[tuple[Any, Any]]:
    """Yield ``(entry_point, entry_point.load())`` for each entry point in group ``namespace``.

    Each entry point is loaded only when the iteration reaches it.
    """
    from importlib.metadata import entry_points

    seen: set[str] = set()
    for ep in entry_points(group=namespace):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        yield ep, ep.load()


def coro(gen: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Generator[Any, Any, Any]]:
    """Decorator: start the generator (advance it to its first ``yield``) on creation."""

    @wraps(gen)
    def start(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        it = gen(*args, **kwargs)
        next(it)
        return it

    return start


@contextmanager
def nested(*managers: AbstractContextManager[Any]) -> Iterator[list[Any]]:
    """Enter all ``managers`` (exited in reverse order); yields their values as a list."""
    with ExitStack() as stack:
        yield [stack.enter_context(m) for m in managers]
