"""Message body serialization: a registry of encoders and decoders by name and MIME type.

Built in: ``json`` (the default), ``pickle``, ``yaml`` (needs PyYAML) and
``msgpack`` (needs msgpack), ``raw``, plus ``bytes``/``str`` bodies that
pass through untouched.  Every serializer (the built-in ones included, from
kombu-core's own plugin) comes from the kernel, :mod:`kombu.plugins`: the
registry asks it on its first lookup and again on a lookup miss, never at
import.  After that a lookup is one dict hit.

Safe by default: a consumer that does not pass ``accept`` decodes only json,
raw and text bodies.  Pickle, yaml, msgpack and plugin serializers must be
listed in ``accept`` or enabled with :func:`enable_insecure_serializers`.
"""

from __future__ import annotations

import codecs
import sys
from _thread import allocate_lock
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from .exceptions import (
    ContentDisallowed,
    DecodeError,
    EncodeError,
    SerializerNotInstalled,
)

if TYPE_CHECKING:
    import pickle

    from .builtin_codecs import raw_encode
    from .hookspecs import CodecSpec

    pickle_protocol: int
    pickle_load = pickle.load
    pickle_loads = pickle.loads

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
#: What the safe default lets consumers without ``accept`` decode.
SAFE_CONTENT_TYPES = frozenset({"application/json"})

_NOTSET: Any = object()


class codec(NamedTuple):
    """A registered encoder with what it produces.

    ``content_encoding`` ``None``: the encoder returns ``(payload, content_encoding)``.
    """

    content_type: str
    content_encoding: str | None
    encoder: Callable[[Any], Any]


class _KernelTable(dict):  # type: ignore[type-arg]
    """A registry table that asks the kernel for new codecs when ``table[key]`` misses.

    ``get``, ``in`` and iteration stay plain dict operations; code that
    indexes the table directly (Celery reads ``registry._encoders[name]``)
    sees the serializers of every installed plugin.
    """

    __slots__ = ("_fill",)

    def __init__(self, fill: Callable[[], Any]) -> None:
        super().__init__()
        self._fill = fill

    def __missing__(self, key: Any) -> Any:
        self._fill()
        if key in self:
            return dict.__getitem__(self, key)
        raise KeyError(key)


class SerializerRegistry:
    """Encoders by name, decoders by content type, and which content types are disabled."""

    def __init__(self) -> None:
        self._encoders: dict[str, codec] = _KernelTable(self._sync)
        self._decoders: dict[str, Callable[[Any], Any]] = _KernelTable(self._sync)
        self.type_to_name: dict[str, str] = _KernelTable(self._sync)
        self.name_to_type: dict[str, str] = _KernelTable(self._sync)
        self._default_encode: Callable[[Any], Any] | None = None
        self._default_content_type: str | None = None
        self._default_content_encoding: str | None = None
        self._default_name: str | None = "json"
        #: Content types loads() refuses when the caller gives no ``accept``.
        self._disabled_content_types: set[str] = set()
        #: Content types enabled by hand (they stay enabled when discovered later).
        self._enabled_content_types: set[str] = set(SAFE_CONTENT_TYPES)
        #: While on, every serializer from the kernel except those enabled is disabled.
        self._safe_mode = True
        self._seen_specs: object = None
        self._sync_lock = allocate_lock()

    # -- registration -------------------------------------------------------

    def register(
        self,
        name: str,
        encoder: Callable[[Any], Any] | None,
        decoder: Callable[[Any], Any] | None,
        content_type: str,
        content_encoding: str | None = "utf-8",
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
        return self.name_to_type[name]  # a miss asks the kernel

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

    # -- codecs from the kernel ---------------------------------------------

    def _sync(self) -> None:
        """Register the serializers the kernel offers that are new since the last call.

        The kernel returns the same list until its plugins change, so this
        costs one comparison when nothing did.  A serializer already
        registered under its name (by hand, or by the core before a plugin)
        is kept.  New ones with a decoder are refused to consumers without
        ``accept`` while the safe default holds, unless enabled by hand.
        """
        from . import plugins

        specs = plugins.get_registry().serializers()
        if specs is self._seen_specs:
            return
        with self._sync_lock:
            if specs is self._seen_specs:
                return
            for spec, _dist in specs:
                self._add_spec(spec)
            self._seen_specs = specs

    def _add_spec(self, spec: CodecSpec) -> None:
        if dict.__contains__(self.name_to_type, spec.name):
            return
        self.register(spec.name, spec.encode, spec.decode, spec.content_type,
                      spec.content_encoding)
        if spec.decode is not None:
            self._apply_policy(spec.content_type)

    # -- encoding and decoding ----------------------------------------------

    def dumps(self, data: Any, serializer: str | None = None) -> tuple[str, str, Any]:
        """Serialize ``data``: returns ``(content_type, content_encoding, payload)``.

        Without ``serializer``, ``bytes`` and ``str`` pass through raw and
        anything else is encoded with the default serializer (json).
        """
        if serializer:
            entry = self._encoders.get(serializer)
            if entry is None:
                self._sync()
                entry = self._encoders.get(serializer)
                if entry is None:
                    raise SerializerNotInstalled(self._unknown_serializer(serializer))
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
            if encoder is None:
                self._sync()
                encoder = self._default_encode  # type: ignore[assignment]
                if encoder is None:
                    raise SerializerNotInstalled(self._unknown_serializer(
                        str(self._default_name)))
            content_type = self._default_content_type  # type: ignore[assignment]
            content_encoding = self._default_content_encoding
        try:
            payload = encoder(data)
        except (SerializerNotInstalled, EncodeError):
            raise
        except Exception as exc:
            raise EncodeError(
                f"Cannot serialize {type(data).__name__} with {content_type}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if content_encoding is None:
            payload, content_encoding = payload
        return content_type, content_encoding, payload

    def _unknown_serializer(self, name: str) -> str:
        known = ", ".join(sorted(self._encoders))
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
        if decode is None and content_type not in _PASSTHROUGH:
            self._sync()  # the first lookup, or a plugin's content type
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


_PASSTHROUGH = frozenset({"application/data", "application/text", "text/plain"})

registry = SerializerRegistry()

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
        if name_to_type is None:
            content_type = registry.name_to_type.get(item)
            if content_type is None:
                registry._sync()
                content_type = registry.name_to_type.get(item)
        else:
            content_type = name_to_type.get(item)
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

    Producers may still encode with them.  This is the state kombu starts in.
    """
    if allowed is _NOTSET:
        allowed = SAFE_SERIALIZERS
    registry._sync()
    registry._safe_mode = True
    registry._enabled_content_types.clear()
    for content_type in registry._decoders:
        registry._disabled_content_types.add(content_type)
    for name in allowed or ():
        registry.enable(name)


# -- pickle settings and raw_encode: kombu's names, kept where the codecs live ------

_PICKLE_NAMES = {"pickle": "", "pickle_load": "load", "pickle_loads": "loads"}


class _SerializationModule(ModuleType):
    """This module, with ``pickle_protocol`` read from and written to
    :mod:`kombu.builtin_codecs` (whose pickle encoder uses it), and the pickle
    names imported on first use: ``import kombu.serialization`` stays cheap."""

    @property
    def pickle_protocol(self) -> int:
        from . import builtin_codecs

        return builtin_codecs.pickle_protocol

    @pickle_protocol.setter
    def pickle_protocol(self, value: int) -> None:
        from . import builtin_codecs

        builtin_codecs.pickle_protocol = int(value)

    def __getattr__(self, name: str) -> Any:
        if name == "raw_encode":
            from .builtin_codecs import raw_encode

            return raw_encode
        attr = _PICKLE_NAMES.get(name)
        if attr is not None:
            import pickle

            return getattr(pickle, attr) if attr else pickle
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


sys.modules[__name__].__class__ = _SerializationModule
