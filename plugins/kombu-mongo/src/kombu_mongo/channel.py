"""A MongoDB channel: kombu's MongoDB options on the emulated broker's engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kombu.transport import virtual

from .options import DEFAULTS

if TYPE_CHECKING:
    from .storage import MongoStorage

__all__ = ("Channel", "Message")


class Message(virtual.Message):
    """A message delivered by the MongoDB transport."""


class Channel(virtual.Channel):
    """MongoDB channel: kombu's options on the emulated broker's engine."""

    Message = Message  # type: ignore[assignment]

    #: kombu's MongoDB order: priorities 0..9 in every queue, higher first
    #: (a queue declared with ``x-max-priority`` uses its own range).
    default_max_priority = 9
    connect_timeout: float | None = DEFAULTS["connect_timeout"]
    ssl: bool = DEFAULTS["ssl"]
    ttl: bool = DEFAULTS["ttl"]
    capped_queue_size: int = DEFAULTS["capped_queue_size"]
    calc_queue_size: bool = DEFAULTS["calc_queue_size"]
    default_hostname: str = DEFAULTS["default_hostname"]
    default_port: int = DEFAULTS["default_port"]
    default_database: str = DEFAULTS["default_database"]
    messages_collection: str = DEFAULTS["messages_collection"]
    routing_collection: str = DEFAULTS["routing_collection"]
    broadcast_collection: str = DEFAULTS["broadcast_collection"]
    queues_collection: str = DEFAULTS["queues_collection"]
    visibility_timeout: float = 60.0

    from_transport_options = (
        *virtual.Channel.from_transport_options,
        "connect_timeout", "ssl", "ttl", "capped_queue_size", "default_hostname",
        "default_port", "default_database", "messages_collection", "routing_collection",
        "broadcast_collection", "queues_collection", "calc_queue_size", "visibility_timeout",
    )

    storage: MongoStorage

    @property
    def client(self) -> Any:
        """The pymongo database of this connection (kombu's ``Channel.client``)."""
        return self.connection.mongo_client()[self.connection.settings.database]
