"""Unique identifiers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ("uuid",)


def uuid(_uuid: Callable[[], Any] | None = None) -> str:
    """A new random (version 4) UUID as a string."""
    if _uuid is None:
        # imported here: the uuid module imports platform, which costs more
        # than all of kombu.utils, and most programs never call this
        from uuid import uuid4

        return str(uuid4())
    return str(_uuid())
