"""The kernel: pluggy hook specifications, plugin discovery and the transport registry.

A plugin is a module named by an entry point in the ``kombu.plugins`` group.
It implements one or more of the hooks below with :data:`hookimpl`.  Plugins
are loaded on the first transport (or codec) lookup, never at ``import
kombu``, and the result is cached until :func:`reset` is called.

Resolution order for a transport name: :func:`register_transport`, then
installed plugins, then the transports built into kombu-core (which register
through the core's own hookimpl, :mod:`kombu.transport.builtin`).
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, NamedTuple

import pluggy

from .exceptions import PluginError, TransportNotInstalled

__all__ = (
    "ENTRY_POINT_GROUP",
    "KERNEL_API_VERSION",
    "PROJECT_NAME",
    "CodecSpec",
    "KombuPluginWarning",
    "Registry",
    "TransportEntry",
    "get_registry",
    "hookimpl",
    "hookspec",
    "register_transport",
    "reset",
    "unregister_transport",
)

PROJECT_NAME = "kombu"
ENTRY_POINT_GROUP = "kombu.plugins"
#: The kernel API this core offers.  A plugin module may state the API it was
#: built against as ``KOMBU_PLUGIN_API = "MAJOR.MINOR"``; a different major, or
#: a minor newer than the kernel's, is refused at load time.
KERNEL_API_VERSION = (1, 0)
AUTOLOAD_ENV = "KOMBU_DISABLE_PLUGIN_AUTOLOAD"
CORE_DISTRIBUTION = "kombu-core"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: First-party transport names and the kombu-core extra that installs them.
FIRST_PARTY_SCHEMES: dict[str, str] = {
    "amqp": "amqp",
    "amqps": "amqp",
    "pyamqp": "amqp",
    "pyamqps": "amqp",
    "librabbitmq": "amqp",
    "redis": "redis",
    "rediss": "redis",
    "redis+socket": "redis",
    "socket": "redis",
    "sentinel": "redis",
    "sqs": "sqs",
    "SQS": "sqs",
    "mongodb": "mongo",
    "sqlalchemy": "sql",
    "sqla": "sql",
    "zookeeper": "zk",
    "azurestoragequeues": "azure",
}

#: kombu's module paths for first-party transports and the extra behind each.
FIRST_PARTY_MODULES: dict[str, str] = {
    "kombu.transport.redis": "redis",
    "kombu.transport.pyamqp": "amqp",
    "kombu.transport.amqp": "amqp",
    "kombu.transport.SQS": "sqs",
    "kombu.transport.mongodb": "mongo",
    "kombu.transport.sqlalchemy": "sql",
    "kombu.transport.zookeeper": "zk",
    "kombu.transport.azurestoragequeues": "azure",
}


class KombuPluginWarning(UserWarning):
    """A plugin failed to load or two plugins claim the same name."""


class CodecSpec(NamedTuple):
    """A serializer or compressor a plugin contributes.

    For a serializer, ``encode``/``decode`` are ``dumps``/``loads`` and
    ``content_encoding`` is ``"utf-8"`` or ``"binary"``.  For a compressor,
    they are ``compress``/``decompress`` and ``aliases`` lists other names.
    """

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]
    content_type: str
    content_encoding: str = "binary"
    aliases: tuple[str, ...] = ()


class _HookSpecs:
    """The hooks a kombu plugin may implement."""

    @hookspec
    def kombu_transports(self) -> Mapping[str, Any]:  # type: ignore[empty-body]
        """Return ``{scheme_or_alias: TransportClass | "module:Class"}``.

        A string is imported only when the transport is first used.
        """

    @hookspec
    def kombu_transport_modules(self) -> Mapping[str, str]:  # type: ignore[empty-body]
        """Return ``{"kombu.transport.<name>": "your.module"}``: kombu's
        module paths this plugin answers, so that ``import
        kombu.transport.<name>`` gives ``your.module``."""

    @hookspec
    def kombu_serializers(self) -> Iterable[CodecSpec]:  # type: ignore[empty-body]
        """Return serializers to register (see :class:`CodecSpec`)."""

    @hookspec
    def kombu_compressors(self) -> Iterable[CodecSpec]:  # type: ignore[empty-body]
        """Return compressors to register (see :class:`CodecSpec`)."""


@dataclass(frozen=True)
class TransportEntry:
    """One name in the registry: what it points at and who provided it."""

    name: str
    target: Any  # a class, or "module:Class" / "module.Class"
    distribution: str
    version: str | None = None
    source: str = "plugin"  # "explicit", "plugin" or "builtin"

    @property
    def target_path(self) -> str:
        if isinstance(self.target, str):
            return self.target
        return f"{self.target.__module__}:{self.target.__qualname__}"


@dataclass
class _State:
    transports: dict[str, TransportEntry] = field(default_factory=dict)
    modules: dict[str, tuple[str, str]] = field(default_factory=dict)
    serializers: list[tuple[CodecSpec, str]] = field(default_factory=list)
    compressors: list[tuple[CodecSpec, str]] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _parse_api(value: Any) -> tuple[int, int]:
    text = str(value)
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        raise PluginError(f"KOMBU_PLUGIN_API must look like '1.0', not {value!r}") from None


def check_plugin_api(module: ModuleType, distribution: str) -> None:
    """Refuse a plugin built against a kernel API this core does not offer."""
    declared = getattr(module, "KOMBU_PLUGIN_API", None)
    if declared is None:
        return
    major, minor = _parse_api(declared)
    kmajor, kminor = KERNEL_API_VERSION
    if major != kmajor or minor > kminor:
        raise PluginError(
            f"plugin {distribution!r} was built for kombu kernel API {major}.{minor}, "
            f"but this kombu-core offers {kmajor}.{kminor}; install a version of "
            f"{distribution!r} made for this kombu-core, or upgrade kombu-core"
        )


class Registry:
    """Plugin manager and the tables built from its hooks (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._explicit: dict[str, TransportEntry] = {}
        self._state: _State | None = None
        self._manual: list[tuple[Any, str]] = []
        self._class_cache: dict[str, type] = {}

    # -- plugin manager -----------------------------------------------------

    def _new_manager(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(_HookSpecs)
        return pm

    def _discover(self) -> _State:
        from .transport import builtin

        pm = self._new_manager()
        state = _State()
        dist_of: dict[str, tuple[str, str | None]] = {}
        pm.register(builtin, name=CORE_DISTRIBUTION)
        dist_of[CORE_DISTRIBUTION] = (CORE_DISTRIBUTION, _dist_version(CORE_DISTRIBUTION))
        if not os.environ.get(AUTOLOAD_ENV):
            for ep, dist, version in _entry_points():
                key = f"{dist}:{ep.name}"
                if pm.has_plugin(key):
                    continue
                try:
                    module = ep.load()
                    check_plugin_api(module, dist)
                    pm.register(module, name=key)
                except Exception as exc:
                    state.failed[dist] = f"{type(exc).__name__}: {exc}"
                    warnings.warn(
                        f"kombu plugin {ep.name!r} from distribution {dist!r} failed to "
                        f"load and is skipped ({type(exc).__name__}: {exc}); the other "
                        f"transports keep working. Reinstall or upgrade {dist!r} to fix it.",
                        KombuPluginWarning,
                        stacklevel=4,
                    )
                    continue
                dist_of[key] = (dist, version)
        for plugin, dist in self._manual:
            key = f"{dist}:manual:{id(plugin)}"
            if not pm.is_registered(plugin):
                pm.register(plugin, name=key)
            dist_of[key] = (dist, _dist_version(dist))
        self._collect(pm, state, dist_of)
        return state

    def _collect(
        self,
        pm: pluggy.PluginManager,
        state: _State,
        dist_of: Mapping[str, tuple[str, str | None]],
    ) -> None:
        builtins: dict[str, TransportEntry] = {}
        plugins: dict[str, TransportEntry] = {}
        for impl in pm.hook.kombu_transports.get_hookimpls():
            dist, version = dist_of.get(impl.plugin_name, (impl.plugin_name, None))
            is_core = dist == CORE_DISTRIBUTION
            for name, target in dict(_call(impl) or {}).items():
                entry = TransportEntry(
                    name, target, dist, version, "builtin" if is_core else "plugin"
                )
                table = builtins if is_core else plugins
                other = table.get(name)
                if other is not None and other.distribution != dist:
                    warnings.warn(
                        f"transport {name!r} is claimed by both {other.distribution!r} and "
                        f"{dist!r}; using {dist!r}. Uninstall one of them to silence this.",
                        KombuPluginWarning,
                        stacklevel=5,
                    )
                table[name] = entry
        state.transports = {**builtins, **plugins}
        for impl in pm.hook.kombu_transport_modules.get_hookimpls():
            dist, _ = dist_of.get(impl.plugin_name, (impl.plugin_name, None))
            for path, module in dict(_call(impl) or {}).items():
                state.modules[path] = (module, dist)
        for impl in pm.hook.kombu_serializers.get_hookimpls():
            dist, _ = dist_of.get(impl.plugin_name, (impl.plugin_name, None))
            state.serializers.extend((CodecSpec(*spec), dist) for spec in _call(impl) or ())
        for impl in pm.hook.kombu_compressors.get_hookimpls():
            dist, _ = dist_of.get(impl.plugin_name, (impl.plugin_name, None))
            state.compressors.extend((CodecSpec(*spec), dist) for spec in _call(impl) or ())

    @property
    def state(self) -> _State:
        state = self._state
        if state is None:
            with self._lock:
                state = self._state
                if state is None:
                    state = self._state = self._discover()
                    _install_codecs(state)
        return state

    @property
    def loaded(self) -> bool:
        """True once discovery has run (it runs on the first lookup)."""
        return self._state is not None

    def reset(self) -> None:
        """Forget discovery results; the next lookup scans entry points again."""
        with self._lock:
            self._state = None
            self._class_cache.clear()

    def add_plugin(self, plugin: Any, distribution: str = "manual") -> None:
        """Register a plugin object (module or instance with hookimpls) by hand.

        This is how plugins are added when ``KOMBU_DISABLE_PLUGIN_AUTOLOAD``
        is set.
        """
        check_plugin_api(plugin, distribution) if isinstance(plugin, ModuleType) else None
        with self._lock:
            self._manual.append((plugin, distribution))
            self.reset()

    def remove_plugin(self, plugin: Any) -> None:
        with self._lock:
            self._manual = [(p, d) for p, d in self._manual if p is not plugin]
            self.reset()

    # -- transports ---------------------------------------------------------

    def register_transport(self, name: str, target: Any, distribution: str = "explicit") -> None:
        with self._lock:
            self._explicit[name] = TransportEntry(name, target, distribution, None, "explicit")
            self._class_cache.pop(name, None)

    def unregister_transport(self, name: str) -> None:
        with self._lock:
            self._explicit.pop(name, None)
            self._class_cache.pop(name, None)

    def transports(self) -> dict[str, TransportEntry]:
        """Every known name, with explicit registrations overriding plugins."""
        return {**self.state.transports, **self._explicit}

    def entry(self, name: str) -> TransportEntry:
        entry = self._explicit.get(name) or self.state.transports.get(name)
        if entry is None:
            raise TransportNotInstalled(self.unknown_message(name))
        return entry

    def unknown_message(self, name: str) -> str:
        extra = FIRST_PARTY_SCHEMES.get(name) or FIRST_PARTY_SCHEMES.get(name.lower())
        if extra:
            return (
                f"No transport is installed for {name!r}: it is provided by the "
                f"kombu-{extra} plugin. Install it with: pip install 'kombu-core[{extra}]'"
            )
        known = ", ".join(sorted(self.transports())) or "(none)"
        return (
            f"No transport is installed for {name!r}. Installed transports: {known}. "
            f"Install the plugin that provides {name!r}, or register one with "
            f"kombu.transport.register_transport({name!r}, 'package.module:Transport')."
        )

    def transport_class(self, name: str) -> type:
        cls = self._class_cache.get(name)
        if cls is None:
            entry = self.entry(name)
            cls = load_symbol(entry.target) if isinstance(entry.target, str) else entry.target
            self._class_cache[name] = cls
        return cls

    # -- kombu module paths -------------------------------------------------

    def module_for(self, path: str) -> tuple[str, str] | None:
        """The plugin module answering kombu module path ``path``, if any."""
        return self.state.modules.get(path)

    def failed(self) -> dict[str, str]:
        """Distributions whose plugin failed to load, with the reason."""
        return dict(self.state.failed)


def _call(impl: Any) -> Any:
    # pluggy keeps the bound method (or the module's function): call it bare.
    return impl.function()


def _dist_version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _entry_points() -> Iterator[tuple[Any, str, str | None]]:
    from importlib import metadata

    seen: set[tuple[str, str]] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else ep.value.partition(":")[0]
        if (dist_name, ep.name) in seen:
            continue
        seen.add((dist_name, ep.name))
        yield ep, dist_name, dist.version if dist is not None else None


def _install_codecs(state: _State) -> None:
    """Register plugin-provided codecs with the serialization/compression registries."""
    if state.serializers:
        from . import serialization

        for spec, _dist in state.serializers:
            serialization.register(
                spec.name,
                spec.encode,
                spec.decode,
                content_type=spec.content_type,
                content_encoding=spec.content_encoding,
            )
    if state.compressors:
        from . import compression

        for spec, _dist in state.compressors:
            compression.register(
                spec.encode, spec.decode, spec.content_type, aliases=list(spec.aliases)
            )


def load_symbol(path: str) -> Any:
    """Import ``"pkg.module:Name"`` or ``"pkg.module.Name"``."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ValueError(f"{path!r} is not a 'package.module:Name' path")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


_registry = Registry()


def get_registry() -> Registry:
    """The process-wide registry."""
    return _registry


def register_transport(name: str, target: Any) -> None:
    """Register ``target`` (a Transport class or ``"module:Class"``) as ``name``.

    Explicit registrations win over plugins and built-ins.
    """
    _registry.register_transport(name, target)


def unregister_transport(name: str) -> None:
    """Undo :func:`register_transport`."""
    _registry.unregister_transport(name)


def reset() -> None:
    """Forget plugin discovery; the next lookup scans entry points again."""
    _registry.reset()
