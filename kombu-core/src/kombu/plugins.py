"""The kernel: plugin discovery and the tables built from the plugins' hooks.

A plugin is a module named by an entry point in the ``kombu.plugins`` group.
It implements one or more of the hooks of :mod:`kombu.hookspecs` with
:data:`hookimpl`.  Plugins are loaded on the first transport (or codec)
lookup, never at ``import kombu``, and the result is cached until
:func:`reset` is called.

Resolution order for a transport name: :func:`register_transport`, then
installed plugins, then the transports built into kombu-core (which register
through the core's own hookimpl, :mod:`kombu.core_plugin`).

Codecs are pulled, never pushed: :mod:`kombu.serialization` and
:mod:`kombu.compression` ask :meth:`Registry.serializers` and
:meth:`Registry.compressors` on a lookup miss.  The kernel calls the codec
hooks (and reads the legacy ``kombu.serializers`` entry-point group) only
then, and imports nothing above it.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable
from types import ModuleType
from typing import Any, NamedTuple

import pluggy

from . import core_plugin
from .exceptions import PluginError, TransportNotInstalled
from .hookspecs import PROJECT_NAME, CodecSpec, KombuHookSpecs, hookimpl, hookspec
from .utils.entry_points import EntryPoint, Installed
from .utils.imports import load_symbol

__all__ = (
    "DEFAULT_TRANSPORT",
    "ENTRY_POINT_GROUP",
    "KERNEL_API_VERSION",
    "LEGACY_SERIALIZER_GROUP",
    "PROJECT_NAME",
    "CodecSpec",
    "KombuHookSpecs",
    "KombuPluginWarning",
    "Registry",
    "TransportEntry",
    "get_registry",
    "get_transport_cls",
    "hookimpl",
    "hookspec",
    "load_symbol",
    "register_transport",
    "reset",
    "resolve_transport",
    "unregister_transport",
)

ENTRY_POINT_GROUP = "kombu.plugins"
#: kombu's own group: ``name = module:attr`` naming ``(encoder, decoder,
#: content_type, content_encoding)``.  Read by the kernel with the plugins.
LEGACY_SERIALIZER_GROUP = "kombu.serializers"
#: The kernel API this core offers.  A plugin module may state the API it was
#: built against as ``KOMBU_PLUGIN_API = "MAJOR.MINOR"``; a different major, or
#: a minor newer than the kernel's, is refused at load time.
KERNEL_API_VERSION = (1, 0)
AUTOLOAD_ENV = "KOMBU_DISABLE_PLUGIN_AUTOLOAD"
#: The transport :func:`resolve_transport` gives for ``None``.
DEFAULT_TRANSPORT = "amqp"
CORE_DISTRIBUTION = "kombu-core"

_HookSpecs = KombuHookSpecs  # the name this module used before kombu.hookspecs existed

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
    "mongodb+srv": "mongo",
    "sqlalchemy": "sql",
    "sqla": "sql",
    "zookeeper": "zk",
    "zk": "zk",
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

CodecList = list[tuple[CodecSpec, str]]


class KombuPluginWarning(UserWarning):
    """A plugin failed to load or two plugins claim the same name."""


class TransportEntry(NamedTuple):
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


class _State:
    """What one discovery found; the codec lists are filled on first request."""

    __slots__ = ("compressors", "dist_of", "failed", "legacy", "modules", "pm",
                 "serializers", "transports")

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.dist_of: dict[str, tuple[str, str | None]] = {}
        self.transports: dict[str, TransportEntry] = {}
        self.modules: dict[str, tuple[str, str]] = {}
        self.failed: dict[str, str] = {}
        self.legacy: list[EntryPoint] = []
        self.serializers: CodecList | None = None
        self.compressors: CodecList | None = None


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


def _warn_failed(what: str, dist: str, exc: BaseException, advice: str) -> None:
    warnings.warn(
        f"{what} from distribution {dist!r} failed to load and is skipped "
        f"({type(exc).__name__}: {exc}); {advice}",
        KombuPluginWarning,
        stacklevel=5,
    )


class Registry:
    """Plugin manager and the tables built from its hooks (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._explicit: dict[str, TransportEntry] = {}
        self._state: _State | None = None
        self._manual: list[tuple[Any, str]] = []
        self._class_cache: dict[str, type] = {}

    # -- discovery ----------------------------------------------------------

    def _discover(self) -> _State:
        pm = pluggy.PluginManager(PROJECT_NAME)
        pm.add_hookspecs(KombuHookSpecs)
        state = _State(pm)
        installed = Installed()
        pm.register(core_plugin, name=CORE_DISTRIBUTION)
        state.dist_of[CORE_DISTRIBUTION] = (CORE_DISTRIBUTION, installed.version(CORE_DISTRIBUTION))
        if not os.environ.get(AUTOLOAD_ENV):
            for ep in installed.entry_points((ENTRY_POINT_GROUP, LEGACY_SERIALIZER_GROUP)):
                if ep.group == LEGACY_SERIALIZER_GROUP:
                    state.legacy.append(ep)
                else:
                    self._load_plugin(state, ep)
        for plugin, dist in self._manual:
            key = f"{dist}:manual:{id(plugin)}"
            if not pm.is_registered(plugin):
                pm.register(plugin, name=key)
            state.dist_of[key] = (dist, installed.version(dist))
        self._collect_transports(state)
        return state

    def _load_plugin(self, state: _State, ep: EntryPoint) -> None:
        key = f"{ep.distribution}:{ep.name}"
        if state.pm.has_plugin(key):
            return
        try:
            module = ep.load()
            check_plugin_api(module, ep.distribution)
            state.pm.register(module, name=key)
        except Exception as exc:
            state.failed[ep.distribution] = f"{type(exc).__name__}: {exc}"
            _warn_failed(f"kombu plugin {ep.name!r}", ep.distribution, exc,
                         f"the other transports keep working. Reinstall or upgrade "
                         f"{ep.distribution!r} to fix it.")
            return
        state.dist_of[key] = (ep.distribution, ep.version)

    def _collect_transports(self, state: _State) -> None:
        builtins: dict[str, TransportEntry] = {}
        plugins: dict[str, TransportEntry] = {}
        for impl, dist, version in self._impls(state, "kombu_transports"):
            is_core = dist == CORE_DISTRIBUTION
            for name, target in dict(impl.function() or {}).items():
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
                        stacklevel=6,
                    )
                table[name] = entry
        state.transports = {**builtins, **plugins}
        for impl, dist, _ in self._impls(state, "kombu_transport_modules"):
            for path, module in dict(impl.function() or {}).items():
                state.modules[path] = (module, dist)

    @staticmethod
    def _impls(state: _State, hook: str) -> Iterable[tuple[Any, str, str | None]]:
        """``(hookimpl, distribution, version)`` for ``hook``, in registration order."""
        for impl in getattr(state.pm.hook, hook).get_hookimpls():
            dist, version = state.dist_of.get(impl.plugin_name, (impl.plugin_name, None))
            yield impl, dist, version

    @property
    def state(self) -> _State:
        state = self._state
        if state is None:
            with self._lock:
                state = self._state
                if state is None:
                    state = self._state = self._discover()
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
        if isinstance(plugin, ModuleType):
            check_plugin_api(plugin, distribution)
        with self._lock:
            self._manual.append((plugin, distribution))
            self.reset()

    def remove_plugin(self, plugin: Any) -> None:
        with self._lock:
            self._manual = [(p, d) for p, d in self._manual if p is not plugin]
            self.reset()

    # -- codecs -------------------------------------------------------------

    def serializers(self) -> CodecList:
        """``(spec, distribution)`` for every serializer the plugins offer, the core's first.

        Then those of the legacy ``kombu.serializers`` entry-point group.
        The same list object is returned until discovery runs again, so a
        caller can tell whether anything may have changed.
        """
        state = self.state
        found = state.serializers
        if found is None:
            with self._lock:
                found = state.serializers
                if found is None:
                    found = self._codecs(state, "kombu_serializers")
                    found.extend(self._legacy_serializers(state))
                    state.serializers = found
        return found

    def compressors(self) -> CodecList:
        """``(spec, distribution)`` for every compressor the plugins offer, the core's first."""
        state = self.state
        found = state.compressors
        if found is None:
            with self._lock:
                found = state.compressors
                if found is None:
                    found = state.compressors = self._codecs(state, "kombu_compressors")
        return found

    def _codecs(self, state: _State, hook: str) -> CodecList:
        found: CodecList = []
        for impl, dist, _ in self._impls(state, hook):
            try:
                specs = [CodecSpec(*spec) for spec in impl.function() or ()]
            except Exception as exc:
                _warn_failed(f"the {hook} hook", dist, exc,
                             f"its codecs are unavailable. Reinstall or upgrade {dist!r}.")
                continue
            found.extend((spec, dist) for spec in specs)
        return found

    @staticmethod
    def _legacy_serializers(state: _State) -> Iterable[tuple[CodecSpec, str]]:
        for ep in state.legacy:
            try:
                encoder, decoder, content_type, content_encoding = ep.load()
            except Exception as exc:
                _warn_failed(f"{LEGACY_SERIALIZER_GROUP} entry point {ep.name!r} ({ep.value})",
                             ep.distribution, exc,
                             "it must name a tuple (encoder, decoder, content_type, "
                             "content_encoding).")
                continue
            yield CodecSpec(ep.name, encoder, decoder, content_type, content_encoding), \
                ep.distribution

    # -- transports ---------------------------------------------------------

    def register_transport(self, name: str, target: Any, distribution: str = "explicit") -> None:
        with self._lock:
            self._explicit[name] = TransportEntry(name, target, distribution, None, "explicit")
            self._class_cache.pop(name, None)

    def unregister_transport(self, name: str) -> None:
        with self._lock:
            self._explicit.pop(name, None)
            self._class_cache.pop(name, None)

    def is_explicit(self, name: str) -> bool:
        """True if ``name`` was registered with :func:`register_transport`."""
        return name in self._explicit

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
        known = sorted(self.transports())
        from difflib import get_close_matches

        close = get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return (
            f"No transport is installed for {name!r}.{hint} Installed transports: "
            f"{', '.join(known) or '(none)'}. Install the plugin that provides {name!r}, "
            f"or register one with "
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


_registry = Registry()


def get_registry() -> Registry:
    """The process-wide registry."""
    return _registry


def resolve_transport(transport: Any = None) -> type:
    """The Transport class for an alias, a ``"module:Class"``/``"module.Class"`` path or a class.

    A class (anything that is not a string) is returned as it is; ``None``
    means :data:`DEFAULT_TRANSPORT`.  An unknown alias raises
    :class:`~kombu.exceptions.TransportNotInstalled`, a ``KeyError`` whose
    message says what to ``pip install``; a path that does not import raises
    it too (it is an ``ImportError`` as well).
    """
    if transport is None:
        transport = DEFAULT_TRANSPORT
    if not isinstance(transport, str):
        return transport  # type: ignore[no-any-return]
    if ":" not in transport and "." not in transport:
        return _registry.transport_class(transport)
    try:
        return load_symbol(transport)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise TransportNotInstalled(
            f"Cannot import transport {transport!r}: {exc}. Check the path "
            f"('package.module:Class') and that its package is installed."
        ) from exc


def get_transport_cls(transport: Any = None) -> type:
    """The Transport class for an alias, a ``"module:Class"`` path or a class.

    The same as :func:`resolve_transport` (the registry caches aliases).
    """
    return resolve_transport(transport)


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

