"""The message of the emulated broker, built from a stored envelope."""

from __future__ import annotations

import sys
from typing import Any

from ...message import _NOT_DECODED
from ...message import Message as _BaseMessage
from .envelope import loads as _loads

__all__ = ("Message",)

_init = _BaseMessage.__init__


class Message(_BaseMessage):
    """A delivered message, built from the stored envelope ``payload``.

    ``payload`` is the envelope dict, or its stored JSON text.  A malformed
    envelope or body does not raise here: the error is kept in ``errors``
    (raised on decode) so the message still reaches the consumer, stays
    unacked until the consumer decides, and is never silently lost.
    """

    __slots__ = ("_leased", "_queue", "_raw")

    def __init__(self, payload: Any, channel: Any = None, queue: str | None = None,
                 delivery_tag: Any = None, leased: bool = True, **kwargs: Any) -> None:
        self._queue = queue
        self._leased = leased
        errors: list[Any] = []
        self.errors = errors
        stored = payload
        try:
            if payload.__class__ is not dict:
                payload = _loads(payload)
            properties = payload["properties"]
            delivery_info = properties["delivery_info"]
            if "redelivered" not in delivery_info:
                delivery_info["redelivered"] = bool(payload.get("redelivered", False))
            body = payload["body"]
            body_encoding = properties.get("body_encoding")
            if body_encoding:
                body = channel.decode_body(body, body_encoding)
            headers = payload.get("headers")
            if headers is not None and headers.__class__ is not dict:
                raise TypeError(f"the envelope's headers are a {type(headers).__name__}, "
                                f"not a mapping")
            content_type = payload.get("content-type")
            content_encoding = payload.get("content-encoding")
        except Exception:
            # Requeued or dead-lettered as it was stored: never rewritten.
            payload = stored
            (body, content_type, content_encoding, delivery_info, properties,
             headers) = self._salvage(payload)
        self._raw = payload
        if delivery_tag is None:
            delivery_tag = properties.get("delivery_tag")
            if delivery_tag is None and channel is not None:
                delivery_tag = channel._next_delivery_tag()
        properties["delivery_tag"] = delivery_tag
        if kwargs or errors or headers.__class__ is not dict or headers.get("compression"):
            # Positional: kombu's documented Message signature order.
            _init(self, body, delivery_tag, content_type, content_encoding, delivery_info,
                  properties, headers, "utf-8", None, channel, errors, **kwargs)
            return
        # What Message.__init__ does for a plain envelope, inlined (the hot path).
        self.channel = channel
        self.delivery_tag = delivery_tag
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.delivery_info = delivery_info
        self.headers = headers
        self.properties = properties
        self.accept = None
        self._decoded_cache = _NOT_DECODED
        self._state = "RECEIVED"
        if body.__class__ is str:
            try:
                body = body.encode("utf-8")
            except UnicodeError:
                errors.append(sys.exc_info())
        self.body = body

    def _salvage(self, payload: Any) -> tuple[Any, ...]:
        """Take what can be read from a malformed envelope; keep the error.

        A payload that is not an envelope at all becomes the body.
        """
        self.errors.append(sys.exc_info())
        envelope = payload if isinstance(payload, dict) else {"body": payload}
        properties = envelope.get("properties")
        if not isinstance(properties, dict):
            properties = {}
        delivery_info = properties.get("delivery_info")
        if not isinstance(delivery_info, dict):
            delivery_info = properties["delivery_info"] = {}
        delivery_info.setdefault("redelivered", bool(envelope.get("redelivered", False)))
        headers = envelope.get("headers")
        return (envelope.get("body"), envelope.get("content-type"),
                envelope.get("content-encoding"), delivery_info, properties,
                headers if isinstance(headers, dict) else None)

    def serializable(self) -> dict[str, Any]:
        """The envelope as stored by the broker (body still transport-encoded)."""
        raw = self._raw
        if isinstance(raw, dict) and "properties" in raw:
            return raw
        return {"body": self.body, "properties": self.properties,
                "content-type": self.content_type,
                "content-encoding": self.content_encoding, "headers": self.headers}
