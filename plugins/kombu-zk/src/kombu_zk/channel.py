"""A ZooKeeper channel: kombu's options and priority order on the emulated broker's engine."""

from __future__ import annotations

from typing import Any

from kombu.transport import virtual

__all__ = ("Channel", "Message")


class Message(virtual.Message):
    """A message delivered by the ZooKeeper transport."""


class Channel(virtual.Channel):
    """ZooKeeper channel.  ``client`` is the connection's kazoo client."""

    Message = Message  # type: ignore[assignment]
    #: kombu's ZooKeeper order: priorities 0..9 in every queue, higher served first
    #: (queues declared with x-max-priority use their own range).
    priority_order = "amqp"
    default_max_priority = 9

    @property
    def client(self) -> Any:
        """The kazoo client (``KazooClient``) of this connection."""
        return self.connection.zk_client()
