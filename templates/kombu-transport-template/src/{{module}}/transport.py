"""The ``{{scheme}}://`` transport: a Transport and Channel over :class:`~.storage.Storage`.

Transport options (``Connection.transport_options``):

``visibility_timeout``
    Seconds a consumer's lease on a message lasts without renewal (default
    30).  The engine renews the leases of a live consumer in the background;
    a consumer that dies or freezes gets its messages taken back after this.
``polling_interval``
    Seconds between polls of empty queues (default 0.05).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import virtual

from .storage import Broker, Storage

__all__ = ("Channel", "Transport")


class Channel(virtual.Channel):
    """The engine's channel; envelopes stay in the process, so bodies are not encoded.

    A broker that stores text keeps the default ``body_encoding = "base64"``.
    """

    body_encoding = None


class Transport(virtual.Transport):
    """``{{scheme}}://``: every connection in the process shares one :class:`Broker`."""

    Channel = Channel
    Storage = Storage
    driver_type = "{{scheme}}"
    driver_name = "{{scheme}}"
    #: Seconds between polls of an empty store (a broker that can signal new
    #: messages overrides create_waiter() instead).
    polling_interval = 0.05
    #: What this transport supports: the conformance kit runs the checks
    #: for each feature stated here and skips the others.
    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        asynchronous=False,
        heartbeats=False,
        priority=True,
        message_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        queue_ttl=False,
        cross_process=False,
        persistent=False,
        leases=False,
        asyncio=False,
        batch_publish=False,
    )
    broker = Broker()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        options = getattr(client, "transport_options", None) or {}
        self.lease_seconds = float(options.get("visibility_timeout", 30.0))

    def driver_version(self) -> str:
        return "{{version}}"
