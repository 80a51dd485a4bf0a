"""A database channel: kombu's sqla options (tables, lease, engine) on the engine."""

from __future__ import annotations

from typing import Any

from kombu.transport import virtual

__all__ = ("DEFAULT_VISIBILITY_TIMEOUT", "Channel", "Message")

#: Default lease (seconds): a dead consumer's messages come back this long after
#: its last renewal; a live one renews every quarter of it.
DEFAULT_VISIBILITY_TIMEOUT = 120.0


class Message(virtual.Message):
    """A message delivered by the sqla transport."""


class Channel(virtual.Channel):
    """A channel of the sqla transport.  Options come from ``transport_options``."""

    Message = Message

    queue_tablename = "kombu_queue"
    message_tablename = "kombu_message"
    #: Seconds a lease lasts without renewal (kombu-redis's name for it).
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    engine_options: dict[str, Any] | None = None

    from_transport_options = (
        *virtual.Channel.from_transport_options,
        "queue_tablename", "message_tablename", "visibility_timeout", "engine_options",
    )

    def get_bindings(self) -> list[dict[str, Any]]:
        return [{"queue": b.queue, "exchange": b.exchange, "routing_key": b.routing_key,
                 "arguments": b.arguments} for b in self.storage.get_bindings()]
