"""Acknowledgement emulation: the unacked messages of one channel."""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import IO, Any

__all__ = ("QoS",)


class QoS:
    """Quality of service of a channel: prefetch limit and unacked messages.

    Every message delivered to a consumer that acknowledges is held here
    (``_delivered``, by delivery tag, in delivery order) until it is acked or
    rejected.  What is still held when the channel closes goes back to its
    queue (see :meth:`restore_unacked_once`).  Only ``prefetch_count`` is
    supported (0 means no limit).
    """

    #: The current prefetch limit (0: unlimited).
    prefetch_count = 0
    #: If disabled, unacked messages are not restored when the channel closes.
    restore_at_shutdown = True

    def __init__(self, channel: Any, prefetch_count: int = 0) -> None:
        self.channel = channel
        self.prefetch_count = prefetch_count or 0
        self._delivered: OrderedDict[Any, Any] = OrderedDict()
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
        """Forget an acknowledged message (unknown tags are ignored)."""
        self._delivered.pop(delivery_tag, None)

    def ack_multiple(self, delivery_tag: Any) -> None:
        """Acknowledge every message delivered up to and including ``delivery_tag``."""
        delivered = self._delivered
        if delivery_tag not in delivered:
            return
        while delivered:
            tag, _ = delivered.popitem(last=False)
            if tag == delivery_tag:
                break

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        """Remove a message: requeue it, or drop (dead-letter) it."""
        message = self._delivered.pop(delivery_tag, None)
        if message is None:
            return
        if requeue:
            self.channel._restore_at_beginning(message)
        else:
            self.channel._dead_letter(message, "rejected")

    def restore_unacked(self) -> list[tuple[BaseException, Any]]:
        """Put every unacked message back in its queue; return the errors met."""
        delivered = self._delivered
        messages = list(delivered.values())
        delivered.clear()
        channel = self.channel
        errors: list[tuple[BaseException, Any]] = []
        if channel._can_restore_at_beginning():
            # Last delivered first, so the queue ends up in delivery order.
            restore, ordered = channel._restore_at_beginning, reversed(messages)
        else:
            restore, ordered = channel._restore, iter(messages)
        for message in ordered:
            try:
                restore(message)
            except BaseException as exc:
                errors.append((exc, message))
        return errors

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
                print(
                    f"kombu: could not restore unacked message "
                    f"{getattr(message, 'delivery_tag', None)!r}: {exc!r}",
                    file=out,
                )

    def restore_visible(self, *args: Any, **kwargs: Any) -> None:
        """Restore messages whose visibility timed out (transports that need it)."""

    def __len__(self) -> int:
        return len(self._delivered)
