"""Message body serialization: a registry of encoders and decoders by name and MIME type.

Built in: ``json`` (the default), ``pickle``, ``yaml`` (needs PyYAML) and
``msgpack`` (needs msgpack), plus raw ``bytes``/``str`` bodies that pass
through untouched.  More come from plugins (the ``kombu_serializers`` hook)
and from ``kombu.serializers`` entry points, both read on the first lookup of
an unknown name or content type, never at import.

Safe by default: a consumer that does not pass ``accept`` decodes only json,
raw and text bodies.  Pickle, yaml, msgpack and plugin serializers must be
listed in ``accept`` or enabled with :func:`enable_insecure_serializers`.
"""

from __future__ import annotations

import codecs
import os
import pickle as pypickle
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from io import BytesIO
from typing import Any, NamedTuple

from .exceptions import (
    ContentDisallowed,
    DecodeError,
    EncodeError,
    SerializerNotInstalled,
)
from .utils import json as _json

__all__ = (
    "TRUSTED_CONTENT",
    "ContentDisallowed",
    "DecodeError",
    "EncodeError",
    "SerializerNotInstalled",
    "SerializerRegistry",
    "disable_insecure_serializers",
    "dumps",
    "enable_insecure_serializers",
    "loads",
    "pickle",
    "pickle_load",
    "pickle_loads",
    "pickle_protocol",
    "prepare_accept_content",
    "raw_encode",
    "register",
    "registry",
    "unregister",
)

#: Content types every consumer decodes, whatever its ``accept`` says.
TRUSTED_CONTENT = frozenset({"application/data", "application/text"})
#: Content encodings that mean "leave the bytes alone".
SKIP_DECODE = frozenset({"binary", "ascii-8bit"})
INSECURE_SERIALIZERS = ("pickle", "yaml", "msgpack")
SAFE_SERIALIZERS = ("json",)

pickle = pypickle
#: The pickle protocol used to encode (env ``PICKLE_PROTOCOL`` overrides the default).
pickle_protocol = int(os.environ.get("PICKLE_PROTOCOL", pypickle.DEFAULT_PROTOCOL))
pickle_load = pypickle.load
pickle_loads = pypickle.loads

_NOTSET: Any = object()


class codec(NamedTuple):
    """A registered encoder with what it produces."""

    content_type: str
    content_encoding: str
    encoder: Callable[[Any], Any]


def _install_hint(name: str) -> str:
    return f"pip install 'kombu-core[{name}]'"


class SerializerRegistry:
    """Encoders by name, decoders by content type, and which content types are disabled."""

    def __init__(self) -> None:
        self._encoders: dict[str, codec] = {}
        self._decoders: dict[str, Callable[[Any], Any]] = {}
        self._default_encode: Callable[[Any], Any] | None = None
        self._default_content_type: str | None = None
        self._default_content_encoding: str | None = None
        self._default_name: str | None = None
        #: Content types loads() refuses when the caller gives no ``accept``.
        self._disabled_content_types: set[str] = set()
        #: Content types enabled by hand (they stay enabled when discovered later).
        self._enabled_content_types: set[str] = set()
        self._safe_mode = False
        self._discovered = False
        self._seen_state: object = None
        self.type_to_name: dict[str, str] = {}
        self.name_to_type: dict[str, str] = {}

    # -- registration -------------------------------------------------------

    def register(
        self,
        name: str,
        encoder: Callable[[Any], Any] | None,
        decoder: Callable[[Any], Any] | None,
        content_type: str,
        content_encoding: str = "utf-8",
    ) -> None:
        """Register ``name``; ``encoder`` or ``decoder`` may be ``None`` (one-way)."""
        if encoder is not None:
            self._encoders[name] = codec(content_type, content_encoding, encoder)
        if decoder is not None:
            self._decoders[content_type] = decoder
        self.type_to_name[content_type] = name
        self.name_to_type[name] = content_type
        if encoder is not None and name == self._default_name:
            self._set_default_serializer(name)
        if self._safe_mode and _from_plugin(name, content_type):
            self._apply_policy(content_type)

    def register_discovered(
        self,
        name: str,
        encoder: Callable[[Any], Any] | None,
        decoder: Callable[[Any], Any] | None,
        content_type: str,
        content_encoding: str = "utf-8",
    ) -> None:
        """Register a serializer found by discovery (plugin or entry point).

        Unlike :meth:`register`, it is refused by consumers without ``accept``
        (while insecure serializers are disabled) unless enabled by hand.
        """
        self.register(name, encoder, decoder, content_type, content_encoding)
        self._apply_policy(content_type)

    def _apply_policy(self, content_type: str) -> None:
        if self._safe_mode and content_type not in self._enabled_content_types:
            self._disabled_content_types.add(content_type)

    def unregister(self, name: str) -> None:
        """Forget serializer ``name`` (``SerializerNotInstalled`` if unknown)."""
        try:
            content_type = self.name_to_type.pop(name)
        except KeyError:
            raise SerializerNotInstalled(f"No serializer {name!r} is registered") from None
        self._encoders.pop(name, None)
        self._decoders.pop(content_type, None)
        self.type_to_name.pop(content_type, None)

    def _set_default_serializer(self, name: str) -> None:
        """Use serializer ``name`` when :meth:`dumps` is given none."""
        try:
            content_type, content_encoding, encoder = self._encoders[name]
        except KeyError:
            raise SerializerNotInstalled(f"No encoder installed for {name!r}") from None
        self._default_content_type = content_type
        self._default_content_encoding = content_encoding
        self._default_encode = encoder
        self._default_name = name

    def _content_type(self, name: str) -> str:
        if "/" in name:
            return name
        try:
            return self.name_to_type[name]
        except KeyError:
            if self._discover():
                return self.name_to_type[name]
            raise

    def enable(self, name: str) -> None:
        """Let consumers without ``accept`` decode ``name`` (a name or content type)."""
        content_type = self._content_type(name)
        self._disabled_content_types.discard(content_type)
        self._enabled_content_types.add(content_type)

    def disable(self, name: str) -> None:
        """Refuse ``name`` (a name or content type) to consumers without ``accept``."""
        content_type = self._content_type(name)
        self._disabled_content_types.add(content_type)
        self._enabled_content_types.discard(content_type)

    # -- plugin discovery ---------------------------------------------------

    def _discover(self) -> bool:
        """Load plugin and entry-point serializers; True if anything new appeared.

        Called on a lookup miss.  Cheap when nothing changed since the last call.
        """
        before = (len(self._encoders), len(self._decoders), len(self.name_to_type))
        from . import plugins

        if not self._discovered:
            self._discovered = True
            self._load_entry_points(plugins.KombuPluginWarning)
        state = plugins.get_registry().state
        if state is not self._seen_state:
            self._seen_state = state
            for spec, _dist in state.serializers:
                if spec.name not in self.name_to_type:
                    self.register(
                        spec.name,
                        spec.encode,
                        spec.decode,
                        spec.content_type,
                        spec.content_encoding,
                    )
                self._apply_policy(spec.content_type)
        return before != (len(self._encoders), len(self._decoders), len(self.name_to_type))

    def _load_entry_points(self, warning: type[Warning]) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group="kombu.serializers"):
            try:
                encoder, decoder, content_type, content_encoding = ep.load()
            except Exception as exc:
                warnings.warn(
                    f"kombu.serializers entry point {ep.name!r} ({ep.value}) failed to load "
                    f"and is skipped ({type(exc).__name__}: {exc}); it must name a tuple "
                    f"(encoder, decoder, content_type, content_encoding).",
                    warning,
                    stacklevel=4,
                )
                continue
            self.register_discovered(ep.name, encoder, decoder, content_type, content_encoding)

    # -- encoding and decoding ----------------------------------------------

    def dumps(self, data: Any, serializer: str | None = None) -> tuple[str, str, Any]:
        """Serialize ``data``: returns ``(content_type, content_encoding, payload)``.

        Without ``serializer``, ``bytes`` and ``str`` pass through raw and
        anything else is encoded with the default serializer (json).
        """
        if serializer:
            entry = self._encoders.get(serializer)
            if entry is None:
                if serializer == "raw":
                    return raw_encode(data)
                if not (self._discover() and serializer in self._encoders):
                    raise SerializerNotInstalled(self._unknown_serializer(serializer))
                entry = self._encoders[serializer]
            content_type, content_encoding, encoder = entry
        else:
            if isinstance(data, bytes):
                return "application/data", "binary", data
            if isinstance(data, str):
                try:
                    return "text/plain", "utf-8", data.encode("utf-8")
                except UnicodeError as exc:
                    raise EncodeError(f"Cannot encode text body as utf-8: {exc}") from exc
            encoder = self._default_encode  # type: ignore[assignment]
            content_type = self._default_content_type  # type: ignore[assignment]
            content_encoding = self._default_content_encoding  # type: ignore[assignment]
        try:
            payload = encoder(data)
        except SerializerNotInstalled:
            raise
        except Exception as exc:
            raise EncodeError(
                f"Cannot serialize {type(data).__name__} with {content_type}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        return content_type, content_encoding, payload

    def _unknown_serializer(self, name: str) -> str:
        known = ", ".join(sorted([*self._encoders, "raw"]))
        return (
            f"No encoder installed for serializer {name!r} (installed: {known}). "
            f"Install the plugin that provides it, or register it with "
            f"kombu.serialization.register({name!r}, encoder, decoder, content_type)."
        )

    def loads(
        self,
        data: Any,
        content_type: str | bytes | None,
        content_encoding: str | bytes | None = "utf-8",
        accept: Iterable[str] | None = None,
        force: bool = False,
        _trusted_content: frozenset[str] = TRUSTED_CONTENT,
    ) -> Any:
        """Deserialize ``data`` according to ``content_type``.

        ``accept`` lists the content types (or serializer names) to allow;
        anything else raises :exc:`ContentDisallowed`.  Without ``accept``,
        disabled (insecure) content types are refused unless ``force``.
        Decoder failures raise :exc:`DecodeError` chained to the cause.
        """
        if content_type.__class__ is not str:
            content_type = content_type.decode("utf-8") if isinstance(content_type, bytes) else None
        content_type = content_type or "application/data"
        if accept is not None:
            if content_type not in _trusted_content and content_type not in accept:
                self._check_accept_names(content_type, accept)
        elif content_type in self._disabled_content_types and not force:
            raise ContentDisallowed(self._disabled_message(content_type))
        if not data:
            return data
        decode = self._decoders.get(content_type)
        if decode is None and content_type not in _PASSTHROUGH and self._discover():
            decode = self._decoders.get(content_type)
            if accept is None and content_type in self._disabled_content_types and not force:
                raise ContentDisallowed(self._disabled_message(content_type))
        if decode is not None:
            try:
                return decode(data)
            except SerializerNotInstalled:
                raise
            except Exception as exc:
                raise DecodeError(
                    f"Cannot decode {content_type} body: {type(exc).__name__}: {exc}"
                ) from exc
        if isinstance(content_encoding, bytes):
            content_encoding = content_encoding.decode("ascii")
        encoding = (content_encoding or "utf-8").lower()
        if encoding not in SKIP_DECODE and not isinstance(data, str):
            try:
                return codecs.decode(data, encoding)
            except Exception as exc:
                raise DecodeError(
                    f"Cannot decode {content_type} body as {encoding}: {exc}"
                ) from exc
        return data

    def _describe(self, content_type: str) -> str:
        name = self.type_to_name.get(content_type)
        return f"{content_type!r} ({name})" if name else repr(content_type)

    def _disabled_message(self, content_type: str) -> str:
        name = self.type_to_name.get(content_type, content_type)
        return (
            f"Refusing to deserialize content of type {self._describe(content_type)}: it is "
            f"disabled by default because it is not safe to decode from untrusted senders. "
            f"List it in the consumer's accept argument (e.g. accept=['json', {name!r}]) "
            f"or call kombu.enable_insecure_serializers()."
        )

    def _check_accept_names(self, content_type: str, accept: Iterable[str]) -> None:
        """``accept`` may hold serializer names: resolve them before refusing."""
        types = set()
        for item in accept:
            if "/" in item:
                types.add(item)
            else:
                try:
                    types.add(self._content_type(item))
                except KeyError:
                    pass
        if content_type in types:
            return
        raise ContentDisallowed(
            f"Refusing to deserialize content of type {self._describe(content_type)}: "
            f"it is not in the consumer's accept list {sorted(types)}. Add it to accept "
            f"(by serializer name or content type) to decode it."
        )


def _from_plugin(name: str, content_type: str) -> bool:
    """True if an already-loaded plugin provides this serializer."""
    plugins = sys.modules.get("kombu.plugins")
    if plugins is None:
        return False
    kernel = plugins.get_registry()
    if not kernel.loaded:
        return False
    return any(
        spec.name == name and spec.content_type == content_type
        for spec, _dist in kernel.state.serializers
    )


_PASSTHROUGH = frozenset({"application/data", "application/text", "text/plain"})


def raw_encode(data: Any) -> tuple[str, str, Any]:
    """The ``raw`` serializer: bytes as ``binary``, str as UTF-8 bytes."""
    if isinstance(data, str):
        try:
            return "application/data", "utf-8", data.encode("utf-8")
        except UnicodeError as exc:
            raise EncodeError(f"Cannot encode raw text as utf-8: {exc}") from exc
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "application/data", "binary", data
    raise EncodeError(
        f"The raw serializer sends bytes or str, not {type(data).__name__}: "
        f"pick a serializer such as 'json' for other objects"
    )


# -- built-in codecs ----------------------------------------------------------


def _pickle_dumps(obj: Any) -> bytes:
    return pypickle.dumps(obj, protocol=pickle_protocol)


def _pickle_loads(data: Any) -> Any:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return pickle_load(BytesIO(data))


class _Optional:
    """Encoder/decoder pair backed by a library imported on first use."""

    def __init__(self, module: str, extra: str, serializer: str) -> None:
        self.module_name = module
        self.extra = extra
        self.serializer = serializer
        self.module: Any = None

    def load(self) -> Any:
        module = self.module
        if module is None:
            try:
                module = self.module = __import__(self.module_name)
            except ImportError:
                raise SerializerNotInstalled(
                    f"The {self.serializer} serializer needs the {self.module_name!r} "
                    f"library: {_install_hint(self.extra)}"
                ) from None
        return module


_yaml = _Optional("yaml", "yaml", "yaml")
_msgpack = _Optional("msgpack", "msgpack", "msgpack")


def _yaml_dumps(obj: Any) -> str:
    return str(_yaml.load().safe_dump(obj))


def _yaml_loads(data: Any) -> Any:
    return _yaml.load().safe_load(data)


def _msgpack_dumps(obj: Any) -> bytes:
    return bytes(_msgpack.load().packb(obj, use_bin_type=True))


def _msgpack_loads(data: Any) -> Any:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _msgpack.load().unpackb(data, raw=False)


registry = SerializerRegistry()
registry.register("json", _json.dumps, _json.loads, "application/json", "utf-8")
registry.register(
    "pickle", _pickle_dumps, _pickle_loads, "application/x-python-serialize", "binary"
)
registry.register("yaml", _yaml_dumps, _yaml_loads, "application/x-yaml", "utf-8")
registry.register("msgpack", _msgpack_dumps, _msgpack_loads, "application/x-msgpack", "binary")
registry._set_default_serializer("json")

dumps = registry.dumps
loads = registry.loads
register = registry.register
unregister = registry.unregister


def prepare_accept_content(
    content_types: Iterable[str] | None, name_to_type: Mapping[str, str] | None = None
) -> set[str] | None:
    """Serializer names and/or MIME types -> a set of MIME types (``None`` stays ``None``).

    Raises :exc:`SerializerNotInstalled` for an unknown name.
    """
    if content_types is None:
        return None
    if isinstance(content_types, str):
        content_types = [content_types]
    out: set[str] = set()
    for item in content_types:
        if "/" in item:
            out.add(item)
            continue
        table = name_to_type if name_to_type is not None else registry.name_to_type
        content_type = table.get(item)
        if content_type is None and name_to_type is None and registry._discover():
            content_type = registry.name_to_type.get(item)
        if content_type is None:
            raise SerializerNotInstalled(
                f"No encoder/decoder installed for {item!r}: install the plugin that "
                f"provides it or register it with kombu.serialization.register()"
            )
        out.add(content_type)
    return out


def enable_insecure_serializers(choices: Iterable[str] | None = _NOTSET) -> None:
    """Let consumers without ``accept`` decode ``choices`` (default pickle, yaml, msgpack)."""
    if choices is _NOTSET or choices is None:
        choices = INSECURE_SERIALIZERS
    for choice in choices:
        try:
            registry.enable(choice)
        except KeyError:
            pass


def disable_insecure_serializers(allowed: Iterable[str] | None = _NOTSET) -> None:
    """Refuse every serializer except ``allowed`` (default json) to consumers without ``accept``.

    Producers may still encode with them.
    """
    if allowed is _NOTSET:
        allowed = SAFE_SERIALIZERS
    registry._safe_mode = True
    registry._enabled_content_types.clear()
    for content_type in registry._decoders:
        registry._disabled_content_types.add(content_type)
    for name in allowed or ():
        registry.enable(name)


disable_insecure_serializers()
