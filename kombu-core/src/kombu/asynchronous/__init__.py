"""Event loop: :class:`Hub`, with timers and semaphores in submodules."""

from __future__ import annotations

from kombu.utils.eventio import ERR, READ, WRITE

from .hub import Hub, get_event_loop, set_event_loop

__all__ = ("ERR", "READ", "WRITE", "Hub", "get_event_loop", "set_event_loop")
