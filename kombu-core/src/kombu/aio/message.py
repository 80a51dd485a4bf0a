"""The message a :mod:`kombu.aio` consumer receives: kombu's Message, acknowledged with ``await``.

Body, properties, decoding (``accept`` lists, :exc:`~kombu.exceptions.ContentDisallowed`,
:exc:`~kombu.exceptions.DecodeError`) and the ack state machine are
:class:`kombu.message.Message`'s own; only ``ack``, ``reject`` and ``requeue``
are coroutines, answered by the async channel the message arrived on.
"""

from __future__ import annotations

from typing import Any

from ..message import Message as _BlockingMessage

__all__ = ("Message",)


class Message(_BlockingMessage):
    """A received message; ``await message.ack()`` (or ``reject()``, ``requeue()``)."""

    __slots__ = ()

    async def ack(self, multiple: bool = False) -> None:  # type: ignore[override]
        """Acknowledge: the broker removes the message for good.

        Raises :exc:`~kombu.exceptions.MessageStateError` if it was already
        acknowledged, rejected or requeued.  A message of a ``no_ack``
        consumer has nothing to acknowledge: the call does nothing.
        """
        channel = self._check_channel("acknowledged")
        no_ack = getattr(channel, "no_ack_consumers", None)
        if no_ack:
            tag = self.delivery_info.get("consumer_tag")
            if tag and tag in no_ack:
                return
        self._check_state("acknowledge")
        self._state = "ACK"
        try:
            await channel.basic_ack(self.delivery_tag, multiple=multiple)
        except BaseException:
            self._state = "RECEIVED"
            raise

    async def reject(self, requeue: bool = False) -> None:  # type: ignore[override]
        """Reject: dropped (or dead-lettered), or put back in its queue with ``requeue``."""
        channel = self._check_channel("rejected")
        self._check_state("reject")
        self._state = "REJECTED"
        try:
            await channel.basic_reject(self.delivery_tag, requeue=requeue)
        except BaseException:
            self._state = "RECEIVED"
            raise

    async def requeue(self) -> None:  # type: ignore[override]
        """Put the message back in its queue, to be delivered again."""
        channel = self._check_channel("requeued")
        self._check_state("requeue")
        self._state = "REQUEUED"
        try:
            await channel.basic_reject(self.delivery_tag, requeue=True)
        except BaseException:
            self._state = "RECEIVED"
            raise

    async def ack_log_error(self, logger: Any,  # type: ignore[override]
                            errors: tuple[type[BaseException], ...],
                            multiple: bool = False) -> None:
        """Acknowledge, logging (not raising) any of ``errors``."""
        try:
            await self.ack(multiple=multiple)
        except errors as exc:
            logger.critical("Couldn't ack %r, reason:%r", self.delivery_tag, exc, exc_info=True)

    async def reject_log_error(self, logger: Any,  # type: ignore[override]
                               errors: tuple[type[BaseException], ...],
                               requeue: bool = False) -> None:
        """Reject, logging (not raising) any of ``errors``."""
        try:
            await self.reject(requeue=requeue)
        except errors as exc:
            logger.critical("Couldn't reject %r, reason: %r", self.delivery_tag, exc,
                            exc_info=True)


_SLOTS = tuple(slot for cls in _BlockingMessage.__mro__
               for slot in getattr(cls, "__slots__", ()))


def adopt(message: _BlockingMessage, channel: Any, cls: type[Message] = Message) -> Message:
    """``message`` (delivered by a blocking channel) as an async :class:`Message` of ``channel``.

    Nothing is decoded or decompressed again: the fields are taken as they are.
    """
    out = cls.__new__(cls)
    for slot in _SLOTS:
        try:
            setattr(out, slot, getattr(message, slot))
        except AttributeError:
            continue
    out.channel = channel
    return out
