"""MongoDB transport (``mongodb://``, ``mongodb+srv://``) over pymongo.

This module also answers ``import kombu.transport.mongodb``.

Connection URL: ``mongodb://[user:password@]host[:port][,host2...]/database[?options]``.
The database comes from the path (else ``default_database``); query options
naming a transport option (``ttl``, ``messages_collection``, ...) are
transport options, the others go to pymongo (``replicaSet``, ``authSource``...).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from kombu.transport import base, virtual
from kombu.utils.url import maybe_sanitize_url

from .channel import Channel, Message
from .options import DEFAULTS, MongoSettings, pymongo_module, require_pymongo, settings_for

if TYPE_CHECKING:
    from .storage import MongoStorage

__all__ = ("Channel", "Message", "Transport")


class MongoErrors:
    """``connection_errors`` / ``channel_errors``: pymongo's classes, read on first use."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __get__(self, obj: Any, objtype: Any = None) -> tuple[type[BaseException], ...]:
        errors = pymongo_module().errors
        if self.index == 0:  # as kombu: plus the kernel's own
            return (*base.Transport.connection_errors, errors.ConnectionFailure)
        return (*base.Transport.channel_errors, errors.ConnectionFailure,
                errors.OperationFailure)


class StorageClass:
    """``Transport.Storage``: :class:`~.storage.MongoStorage`, imported on first use."""

    def __get__(self, obj: Any, objtype: Any = None) -> type[MongoStorage]:
        from .storage import MongoStorage

        return MongoStorage


class Transport(virtual.Transport):
    """MongoDB transport."""

    Channel = Channel
    Storage = StorageClass()  # type: ignore[assignment]
    can_parse_url = True
    polling_interval: float | None = 0.5
    default_port = DEFAULTS["default_port"]
    driver_type = "mongodb"
    driver_name = "pymongo"
    #: Largest message body (bytes): its base64 form and envelope must fit a
    #: MongoDB document (16 MiB).
    max_message_size = 11 * 1024 * 1024
    connection_errors = MongoErrors(0)  # type: ignore[assignment]
    channel_errors = MongoErrors(1)  # type: ignore[assignment]
    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        message_ttl=True,
        queue_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        require_pymongo()
        super().__init__(client, **kwargs)
        self.settings: MongoSettings = settings_for(client)
        if "polling_interval" in self.settings.options:
            self.polling_interval = float(self.settings.options["polling_interval"])
        self._client: Any = None
        self._lock = threading.Lock()
        self._indexed = False
        lease = float(self.settings.options["visibility_timeout"])
        self.restore_interval = min(self.restore_interval, max(0.05, lease / 4))

    def mongo_client(self) -> Any:
        """The pymongo client of this connection (one pool, shared by its channels)."""
        with self._lock:
            if self._client is None:
                self._client = pymongo_module().MongoClient(
                    self.settings.uri, tz_aware=True, **self.settings.client_kwargs)
            return self._client

    def ensure_indexes(self, storage: MongoStorage) -> None:
        """Create the indexes once per connection (the first storage does it)."""
        if not self._indexed:
            storage.create_indexes()
            self._indexed = True

    def driver_version(self) -> str:
        return str(pymongo_module().version)

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else maybe_sanitize_url(uri, mask)

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": self.default_port, "hostname": DEFAULTS["default_hostname"]}

    def establish_connection(self) -> Any:
        errors = pymongo_module().errors
        try:
            self.mongo_client().admin.command("ping")
        except errors.ServerSelectionTimeoutError as exc:
            self._drop_client()
            timeout = self.settings.client_kwargs["serverSelectionTimeoutMS"] / 1000.0
            raise errors.ServerSelectionTimeoutError(
                f"cannot reach MongoDB at {self.settings.where} within {timeout:g}s "
                f"(connect_timeout): {exc}") from exc
        except errors.PyMongoError:
            self._drop_client()
            raise
        return super().establish_connection()

    def _drop_client(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def close_connection(self, connection: Any) -> None:
        try:
            super().close_connection(connection)
        finally:
            self._drop_client()

    def _collect(self, connection: Any) -> None:
        try:
            super()._collect(connection)
        finally:
            self._drop_client()
