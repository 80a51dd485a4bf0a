"""The received message: body, properties and the ack/reject/requeue state machine."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from .compression import decompress
from .exceptions import MessageStateError, reraise
from .serialization import loads

__all__ = ("Message",)

ACK_STATES = frozenset({"ACK", "REJECTED", "REQUEUED"})
_NOT_DECODED: Any = object()


class Message:
    """A message received by a consumer.

    ``channel`` is the channel it arrived on; acknowledgement goes back
    through it.  ``body`` is the raw (undecoded, decompressed) payload and
    ``payload`` the decoded one.
    """

    __slots__ = (
        "_decoded_cache",
        "_state",
        "accept",
        "body",
        "channel",
        "content_encoding",
        "content_type",
        "delivery_info",
        "delivery_tag",
        "errors",
        "headers",
        "properties",
    )

    MessageStateError = MessageStateError

    def __init__(
        self,
        body: Any = None,
        delivery_tag: Any = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        delivery_info: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        postencode: str | None = None,
        accept: Iterable[str] | None = None,
        channel: Any = None,
        errors: list[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        #: ``sys.exc_info()`` tuples met while receiving (re-raised on decode).
        self.errors = [] if errors is None else errors
        self.channel = channel
        self.delivery_tag = delivery_tag
        self.content_type = content_type
        self.content_encoding = content_encoding
        self.delivery_info = delivery_info if delivery_info is not None else {}
        self.headers = headers if headers is not None else {}
        self.properties = properties if properties is not None else {}
        self.accept = accept
        self._decoded_cache: Any = _NOT_DECODED
        self._state = "RECEIVED"

        compression = self.headers.get("compression")
        if not self.errors and compression:
            try:
                body = decompress(body, compression)
            except Exception:
                self.errors.append(sys.exc_info())
        if not self.errors and postencode and isinstance(body, str):
            try:
                body = body.encode(postencode)
            except Exception:
                self.errors.append(sys.exc_info())
        self.body = body

    def _reraise_error(self, callback: Any = None) -> None:
        try:
            reraise(*self.errors[0])
        except Exception as exc:
            if not callback:
                raise
            callback(self, exc)

    # -- acknowledgement ----------------------------------------------------

    def _check_channel(self, action: str) -> Any:
        if self.channel is None:
            raise MessageStateError(
                f"This message has no channel and cannot be {action}: it was not "
                f"received from a broker (or its channel was detached)."
            )
        return self.channel

    def _check_state(self, action: str) -> None:
        if self._state in ACK_STATES:
            raise MessageStateError(
                f"Message already acknowledged with state: {self._state} "
                f"(cannot {action} it again)"
            )

    def ack(self, multiple: bool = False) -> None:
        """Acknowledge this message: the broker removes it for good.

        Raises :exc:`MessageStateError` if it was already acknowledged,
        rejected or requeued.  A message from a ``no_ack`` consumer has
        nothing to acknowledge and the call does nothing.
        """
        channel = self._check_channel("acknowledged")
        no_ack = getattr(channel, "no_ack_consumers", None)
        if no_ack:
            tag = self.delivery_info.get("consumer_tag")
            if tag and tag in no_ack:
                return
        self._check_state("acknowledge")
        channel.basic_ack(self.delivery_tag, multiple=multiple)
        self._state = "ACK"

    def ack_log_error(self, logger: Any, errors: tuple[type[BaseException], ...],
                      multiple: bool = False) -> None:
        """Acknowledge, logging (not raising) any of ``errors``."""
        try:
            self.ack(multiple=multiple)
        except BrokenPipeError:
            logger.critical("Couldn't ack %r, reason:%r", self.delivery_tag, "BrokenPipe",
                            exc_info=True)
            raise
        except errors as exc:
            logger.critical("Couldn't ack %r, reason:%r", self.delivery_tag, exc, exc_info=True)

    def reject_log_error(self, logger: Any, errors: tuple[type[BaseException], ...],
                         requeue: bool = False) -> None:
        """Reject, logging (not raising) any of ``errors``."""
        try:
            self.reject(requeue=requeue)
        except errors as exc:
            logger.critical("Couldn't reject %r, reason: %r", self.delivery_tag, exc,
                            exc_info=True)

    def reject(self, requeue: bool = False) -> None:
        """Reject this message: dropped (or dead-lettered), or requeued if asked."""
        channel = self._check_channel("rejected")
        self._check_state("reject")
        channel.basic_reject(self.delivery_tag, requeue=requeue)
        self._state = "REJECTED"

    def requeue(self) -> None:
        """Put this message back in its queue, to be delivered again."""
        channel = self._check_channel("requeued")
        self._check_state("requeue")
        channel.basic_reject(self.delivery_tag, requeue=True)
        self._state = "REQUEUED"

    @property
    def acknowledged(self) -> bool:
        """True once acked, rejected or requeued."""
        return self._state in ACK_STATES

    # -- payload -------------------------------------------------------------

    def decode(self) -> Any:
        """Deserialize the body (cached); raises on errors met on receipt."""
        if self._decoded_cache is _NOT_DECODED:
            self._decoded_cache = self._decode()
        return self._decoded_cache

    def _decode(self) -> Any:
        if self.errors:
            reraise(*self.errors[0])
        return loads(self.body, self.content_type, self.content_encoding, accept=self.accept)

    @property
    def payload(self) -> Any:
        """The decoded body."""
        cached = self._decoded_cache
        return self.decode() if cached is _NOT_DECODED else cached

    def __repr__(self) -> str:
        return "<{} object at {:#x} with details {!r}>".format(
            type(self).__name__,
            id(self),
            {
                "state": self._state,
                "content_type": self.content_type,
                "delivery_tag": self.delivery_tag,
                "body_length": len(self.body) if self.body is not None else None,
                "properties": {k: v for k, v in self.properties.items()
                               if k == "correlation_id"},
                "delivery_info": {k: v for k, v in self.delivery_info.items()
                                  if k in ("exchange", "routing_key")},
            },
        )
