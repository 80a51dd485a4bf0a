"""An Azure Storage Queues channel: kombu's options and attributes on the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kombu.transport import virtual

from .options import entity_name

if TYPE_CHECKING:
    from .storage import AzureStorage

__all__ = ("DEFAULT_VISIBILITY_TIMEOUT", "DEFAULT_WAIT_TIME_SECONDS", "Channel")

#: kombu's default lease.
DEFAULT_VISIBILITY_TIMEOUT = 30.0
DEFAULT_WAIT_TIME_SECONDS = 5.0


class Channel(virtual.Channel):
    """The engine's channel with kombu's Azure Storage Queues options."""

    #: Prepended to every queue name (kombu's option).
    queue_name_prefix = ""
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    wait_time_seconds: float = DEFAULT_WAIT_TIME_SECONDS
    from_transport_options = (*virtual.Channel.from_transport_options,
                              "queue_name_prefix", "visibility_timeout", "wait_time_seconds")
    storage: AzureStorage

    def entity_name(self, name: str) -> str:
        """The Azure queue name for kombu queue ``name`` (without the prefix), as kombu."""
        return entity_name(name)

    @property
    def queue_service(self) -> Any:
        """The azure-storage-queue ``QueueServiceClient`` (kombu's attribute)."""
        return self.storage.service

    @property
    def conninfo(self) -> Any:
        return self.connection.client

    @property
    def transport_options(self) -> dict[str, Any]:
        return dict(self.connection.client.transport_options or {})
