"""Import objects by their dotted name."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ("instantiate", "load_symbol", "symbol_by_name")


def symbol_by_name(
    name: Any,
    aliases: Mapping[str, str] | None = None,
    imp: Callable[..., Any] | None = None,
    package: str | None = None,
    sep: str = ".",
    default: Any = None,
    **kwargs: Any,
) -> Any:
    """Return the object named ``name``: ``'pkg.mod:attr'`` or ``'pkg.mod.attr'``.

    ``name`` is first looked up in ``aliases``.  A name that is not a string is
    returned unchanged.  A relative module (``'.mod:attr'``) is resolved
    against ``package``.  If the module or attribute is missing, ``default``
    is returned when given, else the ``ImportError``/``AttributeError`` raised.
    """
    if not isinstance(name, str):
        return name
    if imp is None:
        imp = importlib.import_module
    name = (aliases or {}).get(name) or name
    if ":" in name:
        module_name, _, attr = name.partition(":")
    else:
        module_name, _, attr = name.rpartition(sep)
        if not module_name:  # a bare module name: return the module
            module_name, attr = attr, ""
    if not module_name:
        module_name = package or ""
    if not module_name:
        raise ValueError(f"{name!r} is not a 'package.module:attribute' name")
    try:
        try:
            module = imp(module_name, package=package, **kwargs)
        except (TypeError, ValueError) as exc:  # e.g. a relative name without a package
            raise ImportError(f"Cannot import {module_name!r} (from {name!r}): {exc}") from exc
        obj: Any = module
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        if default is None:
            raise
        return default


def load_symbol(path: str) -> Any:
    """Import ``"pkg.module:Name"`` or ``"pkg.module.Name"``."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not a 'package.module:Name' path")
    return symbol_by_name(f"{module_name}:{attr}")


def instantiate(name: Any, *args: Any, **kwargs: Any) -> Any:
    """Look up the class (or factory) ``name`` and call it with the arguments."""
    return symbol_by_name(name)(*args, **kwargs)
