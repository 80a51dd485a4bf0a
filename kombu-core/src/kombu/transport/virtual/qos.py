"""Acknowledgement emulation: the prefetch limit and the unacked messages of one channel."""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ("QoS",)


class QoS:
    """Quality of service of a channel: prefetch limit and unacked messages.

    Every message delivered to a consumer that acknowledges is held here (by
    delivery tag, in delivery order) until it is acked or rejected; the
    channel's storage keeps it leased meanwhile.  What is still held when the
    channel closes goes back to its queue (:meth:`restore_unacked_once`).
    Only ``prefetch_count`` is supported (0 means no limit).
    """

    #: The current prefetch limit (0: unlimited).
    prefetch_count = 0
    #: If disabled, unacked messages are not restored when the channel closes.
    restore_at_shutdown = True

    def __init__(self, channel: Any, prefetch_count: int = 0) -> None:
        self.channel = channel
        self.prefetch_count = prefetch_count or 0
        self._delivered: dict[Any, Any] = {}
        self._restored = False

    def can_consume(self) -> bool:
        """Whether the prefetch limit allows one more delivery."""
        pcount = self.prefetch_count
        return not pcount or len(self._delivered) < pcount

    def can_consume_max_estimate(self) -> int | None:
        """How many more messages may be delivered now (None: no limit)."""
        pcount = self.prefetch_count
        if not pcount:
            return None
        return max(pcount - len(self._delivered), 0)

    def append(self, message: Any, delivery_tag: Any) -> None:
        """Hold ``message`` until it is acked or rejected."""
        self._delivered[delivery_tag] = message

    def get(self, delivery_tag: Any) -> Any:
        """The unacked message with this tag (KeyError if none)."""
        return self._delivered[delivery_tag]

    def ack(self, delivery_tag: Any) -> None:
        """Acknowledge a message: its storage entry is deleted before this returns."""
        message = self._delivered.pop(delivery_tag, None)
        if message is not None:
            channel = self.channel
            if getattr(message, "_leased", False):
                channel.storage.ack((delivery_tag,))
            if channel.connection._loop is not None:
                channel.connection._capacity_freed(channel)

    def ack_multiple(self, delivery_tag: Any) -> None:
        """Acknowledge every message delivered up to and including ``delivery_tag``."""
        delivered = self._delivered
        if delivery_tag not in delivered:
            return
        acked = []
        for tag in list(delivered):
            acked.append(delivered.pop(tag))
            if tag == delivery_tag:
                break
        self.channel._ack_messages(acked)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Remove a message: requeue it, or dead-letter (or drop) it."""
        message = self._delivered.pop(delivery_tag, None)
        if message is None:
            return
        if requeue:
            self.channel._requeue_messages((message,))
        else:
            self.channel._dead_letter(message, "rejected")

    def restore_unacked(self) -> list[tuple[BaseException, Any]]:
        """Put every unacked message back in its queue; return the errors met."""
        delivered = self._delivered
        messages = list(delivered.values())
        delivered.clear()
        if not messages:
            return []
        try:
            self.channel._requeue_messages(messages)
        except Exception as exc:
            return [(exc, m) for m in messages]
        return []

    def restore_unacked_once(self, stderr: IO[str] | None = None) -> None:
        """Restore unacked messages at shutdown; later calls do nothing."""
        if self._restored:
            return
        self._restored = True
        if not self.restore_at_shutdown or not self.channel.do_restore:
            return
        if not self._delivered:
            return
        errors = self.restore_unacked()
        if errors:
            out = stderr if stderr is not None else sys.stderr
            for exc, message in errors:
                print(f"kombu: could not restore unacked message "
                      f"{getattr(message, 'delivery_tag', None)!r}: {exc!r}", file=out)

    def restore_visible(self, *args: Any, **kwargs: Any) -> None:
        """Give back the lapsed leases of every consumer (kombu's visibility restore)."""
        self.channel.storage.restore_lapsed()

    def held_tags(self) -> list[str]:
        """Delivery tags of the leased messages held here (read from any thread)."""
        for _ in range(5):
            try:
                return [tag for tag, m in list(self._delivered.items()) if m._leased]
            except RuntimeError:  # changed by the consumer thread while copying
                continue
        return []

    def __len__(self) -> int:
        return len(self._delivered)
