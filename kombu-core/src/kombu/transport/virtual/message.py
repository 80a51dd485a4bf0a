"""The message of the emulated broker, built from the stored envelope (a dict)."""

from __future__ import annotations

import sys
from typing import Any

from ...message import Message as _BaseMessage

__all__ = ("Message",)

_init = _BaseMessage.__init__


class Message(_BaseMessage):
    """A delivered message, built from the stored envelope ``payload``.

    The envelope keeps the broker's wire format::

        {'body': ..., 'content-type': ..., 'content-encoding': ...,
         'headers': {...}, 'properties': {'delivery_tag': ...,
         'body_encoding': 'base64', 'delivery_info': {...}, ...}}

    A malformed envelope or body does not raise here: the error is kept in
    ``errors`` (raised on decode) so the message still reaches the consumer,
    stays unacked and is never lost.
    """

    __slots__ = ("_queue", "_raw")

    def __init__(
        self, payload: Any, channel: Any = None, queue: str | None = None, **kwargs: Any
    ) -> None:
        self._raw = payload
        self._queue = queue
        self.errors: list[Any] = []
        try:
            properties = payload["properties"]
            delivery_info = properties["delivery_info"]
            if "redelivered" not in delivery_info:
                delivery_info["redelivered"] = payload.get("redelivered", False)
            body = payload["body"]
            body_encoding = properties.get("body_encoding")
            if body_encoding:
                body = channel.decode_body(body, body_encoding)
            delivery_tag = properties.get("delivery_tag")
            headers = payload.get("headers")
            content_type = payload.get("content-type")
            content_encoding = payload.get("content-encoding")
        except Exception:
            (
                body,
                delivery_tag,
                content_type,
                content_encoding,
                delivery_info,
                properties,
                headers,
            ) = self._salvage(payload, channel)
        if delivery_tag is None:
            delivery_tag = channel._next_delivery_tag() if channel is not None else None
            properties["delivery_tag"] = delivery_tag
        # Positional: kombu's documented Message signature order.
        _init(
            self,
            body,
            delivery_tag,
            content_type,
            content_encoding,
            delivery_info,
            properties,
            headers,
            "utf-8",
            None,
            channel,
            self.errors,
            **kwargs,
        )

    def _salvage(self, payload: Any, channel: Any) -> tuple[Any, ...]:
        """Take what can be read from a malformed envelope; keep the error."""
        self.errors.append(sys.exc_info())
        get = payload.get if isinstance(payload, dict) else {}.get
        properties = get("properties")
        if not isinstance(properties, dict):
            properties = {}
        delivery_info = properties.get("delivery_info")
        if not isinstance(delivery_info, dict):
            delivery_info = {}
        delivery_info.setdefault("redelivered", bool(get("redelivered", False)))
        body = get("body") if isinstance(payload, dict) else payload
        headers = get("headers")
        return (
            body,
            properties.get("delivery_tag"),
            get("content-type"),
            get("content-encoding"),
            delivery_info,
            properties,
            headers if isinstance(headers, dict) else None,
        )

    def serializable(self) -> dict[str, Any]:
        """The envelope as stored by the broker (body still transport-encoded)."""
        raw = self._raw
        if isinstance(raw, dict):
            return raw
        return {
            "body": self.body,
            "properties": self.properties,
            "content-type": self.content_type,
            "content-encoding": self.content_encoding,
            "headers": self.headers,
        }
