"""Unique identifiers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

__all__ = ("uuid",)


def uuid(_uuid: Callable[[], Any] = uuid4) -> str:
    """A new random (version 4) UUID as a string."""
    return str(_uuid())
