"""Helpers that applications (Celery first) import from kombu.

The names below are loaded on first access, so ``import kombu.utils`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Bound eagerly: the submodule of the same name would otherwise shadow the function.
from .uuid import uuid

__all__ = (
    "EqualityDict",
    "cached_property",
    "emergency_dump_state",
    "fileno",
    "fxrange",
    "fxrangemax",
    "maybe_fileno",
    "maybe_list",
    "nested",
    "register_after_fork",
    "reprcall",
    "reprkwargs",
    "retry_over_time",
    "symbol_by_name",
    "uuid",
)

_WHERE = {
    "EqualityDict": "collections",
    "cached_property": "objects",
    "emergency_dump_state": "div",
    "fileno": "compat",
    "fxrange": "functional",
    "fxrangemax": "functional",
    "maybe_fileno": "compat",
    "maybe_list": "functional",
    "nested": "compat",
    "register_after_fork": "compat",
    "reprcall": "functional",
    "reprkwargs": "functional",
    "retry_over_time": "functional",
    "symbol_by_name": "imports",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kombu.utils' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .collections import EqualityDict
    from .compat import fileno, maybe_fileno, nested, register_after_fork
    from .div import emergency_dump_state
    from .functional import fxrange, fxrangemax, maybe_list, reprcall, reprkwargs, retry_over_time
    from .imports import symbol_by_name
    from .objects import cached_property
