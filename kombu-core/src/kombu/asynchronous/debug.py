"""Event-loop debugging tools: readable descriptions of a hub's state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from kombu.utils.eventio import ERR, READ, WRITE

__all__ = (
    "callback_for",
    "repr_active",
    "repr_events",
    "repr_flag",
    "repr_readers",
    "repr_writers",
)


class HubLike(Protocol):
    """What these helpers read of a :class:`kombu.asynchronous.Hub`."""

    @property
    def readers(self) -> Mapping[int, Any]: ...

    @property
    def writers(self) -> Mapping[int, Any]: ...


def repr_flag(flag: int) -> str:
    """Return description of event loop flag: ``R``, ``W`` and/or ``!`` (error)."""
    return "{}{}{}".format(
        "R" if flag & READ else "",
        "W" if flag & WRITE else "",
        "!" if flag & ERR else "",
    )


def _name(cb: Any) -> str:
    if cb is None:
        return "<consolidated>"
    if isinstance(cb, str):
        return cb
    fun = getattr(cb, "fun", cb)  # unwrap timer entries and call_soon handles
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None)
    return name if name else repr(fun)


def _rcb(entry: Any) -> str:
    if entry is None:
        return _name(None)
    cb = entry[0] if isinstance(entry, tuple) else entry
    return _name(cb)


def callback_for(h: HubLike, fd: int, flag: int, *default: Any) -> Any:
    """Return the callback used for hub+fd+flag (or ``default[0]`` if none)."""
    try:
        if flag & READ:
            entry = h.readers[fd]
        elif flag & WRITE:
            entry = h.writers[fd]
        elif fd in h.readers:
            entry = h.readers[fd]
        else:
            entry = h.writers[fd]
    except KeyError:
        if default:
            return default[0]
        raise
    return entry[0] if isinstance(entry, tuple) else entry


def repr_readers(h: HubLike) -> list[str]:
    """Return description of pending readers."""
    return [f"({fd}){repr_flag(READ | ERR)}->{_rcb(entry)}" for fd, entry in h.readers.items()]


def repr_writers(h: HubLike) -> list[str]:
    """Return description of pending writers."""
    return [f"({fd}){repr_flag(WRITE)}->{_rcb(entry)}" for fd, entry in h.writers.items()]


def repr_active(h: HubLike) -> str:
    """Return description of active readers and writers."""
    return ", ".join(repr_readers(h) + repr_writers(h))


def repr_events(h: HubLike, events: Iterable[tuple[int, int]]) -> str:
    """Return description of events returned by poll."""
    return ", ".join(
        f"{fd}({repr_flag(flag)})->{_name(callback_for(h, fd, flag, '(GONE)'))}"
        for fd, flag in events
    )
