"""JSON that round-trips more than JSON's own types, in kombu 5.7's wire format.

:func:`dumps` writes a value of a registered type as
``{"__type__": marker, "__value__": value}`` and :func:`loads` turns such an
object back into the value.  Registered out of the box: ``datetime``,
``date``, ``time`` (ISO 8601), ``Decimal``, ``UUID`` (``{"hex": ...}``) and
``bytes`` (marker ``bytes`` for UTF-8 text, ``base64`` otherwise), written
exactly as kombu 5.7 writes them so that either side reads the other's
messages.  Add your own with :func:`register_type`.  An object with a
``__json__()`` method is written as whatever that method returns, and an
instance of one of :data:`textual_types` as its ``str()``.
"""

from __future__ import annotations

import base64
import json as _json
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

__all__ = ("JSONEncoder", "dumps", "loads", "object_hook", "register_type", "textual_types")

TYPE_KEY = "__type__"
VALUE_KEY = "__value__"

#: Types written as their ``str()``: lazy strings such as Django's
#: ``Promise`` (``gettext_lazy``), included when Django is installed.
textual_types: tuple[type, ...] = ()
try:
    from django.utils.functional import Promise
except ImportError:
    pass
else:
    textual_types += (Promise,)

#: type -> (marker or None, encoder); checked exactly first, then with isinstance.
_encoders: dict[type, tuple[str | None, Callable[[Any], Any]]] = {}
#: marker -> decoder
_decoders: dict[str, Callable[[Any], Any]] = {}


def _identity(value: Any) -> Any:
    return value


def register_type(
    t: type,
    marker: str | None,
    encoder: Callable[[Any], Any],
    decoder: Callable[[Any], Any] = _identity,
) -> None:
    """Encode instances of ``t`` with ``encoder`` and decode them with ``decoder``.

    The value is written as ``{"__type__": marker, "__value__": encoder(v)}``
    and read back as ``decoder(value)`` (by default the encoded value
    itself).  With ``marker=None`` it is written as ``encoder(v)`` alone,
    with no envelope, and :func:`loads` leaves it as it is.
    """
    if not isinstance(t, type):
        raise TypeError(f"register_type() needs a type as its first argument, not {t!r}")
    _encoders[t] = (marker, encoder)
    if marker is not None:
        _decoders[marker] = decoder


def _encode_bytes(value: bytes) -> dict[str, Any]:
    # The envelope itself (marker None): "bytes" for UTF-8 text, else "base64".
    try:
        return {TYPE_KEY: "bytes", VALUE_KEY: value.decode("utf-8")}
    except UnicodeDecodeError:
        return {TYPE_KEY: "base64", VALUE_KEY: base64.b64encode(value).decode("ascii")}


def _decode_bytes(value: Any) -> bytes:
    if isinstance(value, dict):  # kombu-core 0.1 development builds wrote this form
        return base64.b64decode(value["base64"])
    return str(value).encode("utf-8")


def _decode_uuid(value: Any) -> UUID:
    return UUID(**value) if isinstance(value, dict) else UUID(str(value))


register_type(datetime, "datetime", datetime.isoformat, datetime.fromisoformat)
register_type(date, "date", date.isoformat, date.fromisoformat)
register_type(time, "time", time.isoformat, time.fromisoformat)
register_type(Decimal, "decimal", str, Decimal)
register_type(UUID, "uuid", lambda u: {"hex": u.hex}, _decode_uuid)
register_type(bytes, None, _encode_bytes)
_decoders["bytes"] = _decode_bytes
_decoders["base64"] = lambda value: base64.b64decode(str(value).encode("ascii"))


def _lookup(o: Any) -> tuple[str | None, Callable[[Any], Any]] | None:
    found = _encoders.get(type(o))
    if found is not None:
        return found
    # Subclasses: the most derived registered type wins (datetime before date).
    best: type | None = None
    for type_ in _encoders:
        if isinstance(o, type_) and (best is None or issubclass(type_, best)):
            best = type_
    return _encoders[best] if best is not None else None


class JSONEncoder(_json.JSONEncoder):
    """:class:`json.JSONEncoder` that knows the registered types and ``__json__``."""

    def default(self, o: Any) -> Any:
        reducer = getattr(o, "__json__", None)
        if reducer is not None:
            return reducer()
        if textual_types and isinstance(o, textual_types):
            return str(o)
        found = _lookup(o)
        if found is not None:
            marker, encoder = found
            value = encoder(o)
            return value if marker is None else {TYPE_KEY: marker, VALUE_KEY: value}
        return super().default(o)


def object_hook(o: dict[str, Any]) -> Any:
    """Turn ``{"__type__": m, "__value__": v}`` back into a value; other dicts pass through."""
    if len(o) == 2 and TYPE_KEY in o and VALUE_KEY in o:
        decoder = _decoders.get(o[TYPE_KEY])
        if decoder is None:
            raise ValueError(f"Cannot decode JSON value of unregistered type {o[TYPE_KEY]!r}")
        return decoder(o[VALUE_KEY])
    return o


_default_hook = object_hook
_encoder = JSONEncoder()


def reusable_encoder(separators: tuple[str, str] = (", ", ": "),
                     ensure_ascii: bool = True) -> Callable[[Any], str]:
    """``encode(value) -> str`` with :class:`JSONEncoder`'s types, built once.

    ``JSONEncoder.encode`` builds a new C encoder (and a circular-reference
    table) on every call: a third of a small message's encoding time.  The
    encoder returned here is built once and keeps no table, so threads can share
    it; a circular value ends in ``RecursionError``, and the value is then
    encoded again the checking way, which raises the usual ``ValueError``.
    """
    item_separator, key_separator = separators
    checking = JSONEncoder(separators=separators, ensure_ascii=ensure_ascii)
    try:
        from json.encoder import (  # type: ignore[attr-defined]
            c_make_encoder,
            encode_basestring,
            encode_basestring_ascii,
        )
    except ImportError:  # pragma: no cover - CPython always has them
        return checking.encode
    if c_make_encoder is None:  # pragma: no cover - a Python built without _json
        return checking.encode
    one_shot = c_make_encoder(
        None, checking.default, encode_basestring_ascii if ensure_ascii else encode_basestring,
        None, key_separator, item_separator, False, False, True)
    join = "".join

    def encode(value: Any) -> str:
        try:
            return join(one_shot(value, 0))
        except RecursionError:
            return checking.encode(value)  # circular, or nested too deep: it says which

    return encode


_encode = reusable_encoder()
_plain_decoder = _json.JSONDecoder()
_hook_decoder = _json.JSONDecoder(object_hook=object_hook)


def dumps(
    s: Any,
    _dumps: Callable[..., str] = _json.dumps,
    cls: type[_json.JSONEncoder] | None = None,
    default_kwargs: dict[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """Serialize ``s`` to a JSON string (extra keyword arguments go to :func:`json.dumps`)."""
    if cls is None and not default_kwargs and not kwargs and _dumps is _json.dumps:
        return _encode(s)
    return _dumps(s, cls=cls or JSONEncoder, **{**(default_kwargs or {}), **kwargs})


def _decode(decoder: _json.JSONDecoder, s: str) -> Any:
    """``decoder.decode(s)`` without its two whitespace scans when ``s`` has none.

    ``raw_decode`` parses from the first character and says where it stopped:
    text that is exactly one JSON value (what a message body is) needs nothing
    else; anything else (whitespace around it, extra data, an error) goes
    through ``decode``, which accepts or reports it exactly as ``json`` does.
    """
    try:
        value, end = decoder.raw_decode(s)
    except ValueError:
        return decoder.decode(s)
    if end != len(s):
        return decoder.decode(s)
    return value


def loads(
    s: str | bytes | bytearray | memoryview,
    _loads: Callable[..., Any] = _json.loads,
    decode_bytes: bool = True,
    object_hook: Callable[[dict[str, Any]], Any] | None = object_hook,
) -> Any:
    """Deserialize JSON from ``s`` (str or UTF-8 bytes-like), restoring registered types."""
    if isinstance(s, memoryview):
        s = s.tobytes().decode("utf-8")
    elif isinstance(s, bytearray) or (decode_bytes and isinstance(s, bytes)):
        s = s.decode("utf-8")
    if _loads is _json.loads and isinstance(s, str):
        if object_hook is _default_hook:
            # Only pay for the per-object hook when a marker can be present.
            decoder = _hook_decoder if TYPE_KEY in s else _plain_decoder
            return _decode(decoder, s)
        if object_hook is None:
            return _decode(_plain_decoder, s)
    return _loads(s, object_hook=object_hook)
