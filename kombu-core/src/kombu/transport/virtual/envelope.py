"""The envelope: the dict the emulated broker stores for each message.

::

    {"body": ..., "content-type": ..., "content-encoding": ...,
     "headers": {...},
     "properties": {"delivery_info": {"exchange": ..., "routing_key": ...},
                    "priority": 0, "body_encoding": "base64", ...},
     "x-enqueued-at": 1733300000.123}

``x-enqueued-at`` (epoch seconds) is stamped by the engine when the message
is published; TTLs (the ``expiration`` property, the queue's
``x-message-ttl``) are measured from it at delivery, whichever queue the copy
landed in.  kombu clients reading the same storage ignore the key.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ...utils.json import loads as _json_loads
from ...utils.json import reusable_encoder

__all__ = (
    "ENQUEUED_KEY",
    "deadline",
    "dumps",
    "is_expired",
    "loads",
    "ttl_ms",
)

#: Envelope key: when the message was published (epoch seconds).
ENQUEUED_KEY = "x-enqueued-at"

_encode = reusable_encoder(separators=(",", ":"), ensure_ascii=False)


def dumps(envelope: Mapping[str, Any]) -> str:
    """The JSON text of an envelope (headers of any type kombu's JSON packs).

    Raises :class:`~kombu.exceptions.EncodeError` naming the header (or
    property) holding a value kombu's JSON cannot pack.
    """
    try:
        return _encode(envelope)
    except (TypeError, ValueError) as exc:
        raise _encode_error(envelope, exc) from exc


def _encode_error(envelope: Mapping[str, Any], exc: Exception) -> Exception:
    from ...exceptions import EncodeError

    for section in ("headers", "properties"):
        fields = envelope.get(section)
        if not isinstance(fields, Mapping):
            continue
        for name, value in fields.items():
            try:
                _encode(value)
            except (TypeError, ValueError):
                what = "header" if section == "headers" else "message property"
                return EncodeError(
                    f"The {what} {name!r} holds a value of type {type(value).__name__} that "
                    f"kombu's JSON cannot pack ({exc}): convert it to a JSON type, or teach "
                    f"kombu.utils.json.register_type how to pack it")
    return EncodeError(f"Cannot pack the message for the broker: {exc}")


def loads(payload: str | bytes | bytearray | memoryview) -> Any:
    """An envelope from its JSON text (raises ``ValueError`` if it is not JSON)."""
    return _json_loads(payload)


def ttl_ms(value: Any) -> float | None:
    """A TTL in milliseconds from a queue argument or ``expiration`` property, or None."""
    if value is None or value == "":
        return None
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return None
    return ms if ms >= 0 else None


def deadline(envelope: Mapping[str, Any], queue_ttl: float | None) -> float | None:
    """When ``envelope`` expires (epoch seconds) in a queue with ``queue_ttl`` ms, or None."""
    try:
        expiration = ttl_ms(envelope["properties"].get("expiration"))
    except (KeyError, TypeError, AttributeError):
        expiration = None
    ttl = queue_ttl
    if expiration is not None and (ttl is None or expiration < ttl):
        ttl = expiration
    if ttl is None:
        return None
    enqueued = envelope.get(ENQUEUED_KEY)
    if not isinstance(enqueued, (int, float)):
        return None  # published by a client that does not stamp: cannot tell its age
    return float(enqueued) + ttl / 1000.0


def is_expired(envelope: Mapping[str, Any], queue_ttl: float | None,
               now: float | None = None) -> bool:
    """Whether ``envelope`` has outlived its TTL in a queue with ``queue_ttl`` ms."""
    when = deadline(envelope, queue_ttl)
    return when is not None and when <= (time.time() if now is None else now)

