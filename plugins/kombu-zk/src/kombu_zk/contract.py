"""What the storage and the waiter need of the transport (typing only).

A :class:`~typing.Protocol` rather than an import of ``transport.py``, which
imports them: the modules stay in one direction, transport above storage.
"""

from __future__ import annotations

from typing import Any, Protocol

from .layout import Layout
from .routes import RouteVersions

__all__ = ("ZooKeeperBroker",)


class ZooKeeperBroker(Protocol):
    """The transport as its storage and waiter see it."""

    layout: Layout
    routes: RouteVersions
    session_timeout: float
    max_message_size: int | None
    polling_interval: float | None

    def zk_client(self) -> Any:
        """The connection's started kazoo client (one per transport)."""
