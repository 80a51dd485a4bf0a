"""An SQS channel: kombu's options; the storage does the work."""

from __future__ import annotations

from kombu.transport import virtual

__all__ = ("Channel",)


class Channel(virtual.Channel):
    """SQS channel: kombu's options; the storage does the work."""

    from_transport_options = (*virtual.Channel.from_transport_options,)
    # SQS has no priorities: every message is stored at one level.
    priority_order = "kombu"
