"""Transport lookup: views of the kernel's registry (:mod:`kombu.plugins`).

Importing this package installs an import hook so that kombu's module paths
for transports that live in plugins (``kombu.transport.redis``,
``kombu.transport.pyamqp``, ...) import as the installed plugin's module.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from ..plugins import DEFAULT_TRANSPORT as DEFAULT_TRANSPORT
from ..plugins import FIRST_PARTY_MODULES, get_registry
from ..plugins import get_transport_cls as get_transport_cls
from ..plugins import register_transport as register_transport
from ..plugins import resolve_transport as resolve_transport
from ..plugins import unregister_transport as unregister_transport

__all__ = (
    "DEFAULT_TRANSPORT",
    "TRANSPORT_ALIASES",
    "get_transport_cls",
    "register_transport",
    "resolve_transport",
    "supports_librabbitmq",
    "unregister_transport",
)


class _Aliases(MutableMapping[str, str]):
    """Live ``{name: "module:Class"}`` view of the registry (kombu's TRANSPORT_ALIASES)."""

    def __getitem__(self, name: str) -> str:
        return get_registry().entry(name).target_path

    def __setitem__(self, name: str, target: str) -> None:
        register_transport(name, target)

    def __delitem__(self, name: str) -> None:
        registry = get_registry()
        if not registry.is_explicit(name):
            raise KeyError(f"{name!r} was not registered with register_transport()")
        registry.unregister_transport(name)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(get_registry().transports()))

    def __len__(self) -> int:
        return len(get_registry().transports())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in get_registry().transports()

    def __repr__(self) -> str:
        return f"TRANSPORT_ALIASES({dict(self)!r})"


TRANSPORT_ALIASES: MutableMapping[str, str] = _Aliases()


def supports_librabbitmq() -> bool:
    """kombu-core does not ship the librabbitmq C client: always False."""
    return False


class _PluginModuleFinder:
    """Answers ``kombu.transport.<name>`` with the module a plugin declared.

    A meta path finder and its own loader (the import system's protocols,
    without ``importlib.abc``, whose import costs more than the rest of this
    package).
    """

    prefix = __name__ + "."

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith(self.prefix) or fullname.count(".") != 2:
            return None
        found = get_registry().module_for(fullname)
        if found is None:
            extra = FIRST_PARTY_MODULES.get(fullname)
            if extra is None:
                return None
            raise ModuleNotFoundError(
                f"{fullname} is provided by the kombu-{extra} plugin, which is not "
                f"installed. Install it with: pip install 'kombu-core[{extra}]'",
                name=fullname,
            )
        loader: Any = self  # a loader by protocol, not by importlib.abc class
        return ModuleSpec(fullname, loader, origin=found[0])

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = importlib.import_module(str(spec.origin))
        return module

    def exec_module(self, module: ModuleType) -> None:
        # The plugin's module is already executed; keep its own identity so
        # both names refer to one module object.
        pass


def _install_finder() -> None:
    if not any(isinstance(f, _PluginModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_PluginModuleFinder())


_install_finder()
