"""The lease keeper: a live process keeps the messages it holds.

One daemon thread per connection renews, every quarter of the storage's
``lease_seconds``, the lease of every message its channels hold: prefetched,
delivered to a consumer, or taken with ``basic_get`` / ``Queue.get`` /
``SimpleQueue.get``.  It runs whatever the consumer's thread is doing (long
work, a blocking call, an idle process that holds a message), so a message
goes back to its queue only when its holder stopped renewing: it died, froze,
or lost the broker for longer than the lease.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = ("LeaseKeeper",)

logger = logging.getLogger(__name__)

#: Shortest renewal period (seconds), whatever the lease.
MIN_INTERVAL = 0.05


class LeaseKeeper(threading.Thread):
    """Renews the leases held by one transport's channels until stopped."""

    def __init__(self, transport: Any, lease_seconds: float) -> None:
        super().__init__(name=f"kombu-lease-{transport.driver_name}", daemon=True)
        self.transport = transport
        self.interval = max(MIN_INTERVAL, lease_seconds / 4.0)
        self.stopped = threading.Event()
        self._storage: Any = None

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                self.renew_once()
        finally:
            self._close_storage()

    def held_tags(self) -> list[str]:
        """Every leased delivery tag the transport's channels hold now."""
        tags: list[str] = []
        for channel in list(self.transport.channels):
            if not channel.closed:
                tags.extend(channel.held_tags())
        return tags

    def renew_once(self) -> int:
        """One pass: renew what is held (errors are logged; the next pass retries)."""
        tags = self.held_tags()
        if not tags:
            return 0
        try:
            if self._storage is None:
                self._storage = self.transport.create_storage(None)
            self._storage.renew(tags)
        except Exception as exc:
            logger.warning("kombu: could not renew %d message leases (%s): %r; "
                           "retrying in %.2fs", len(tags), self.transport.driver_name, exc,
                           self.interval)
            self._close_storage()
            return 0
        return len(tags)

    def _close_storage(self) -> None:
        storage, self._storage = self._storage, None
        if storage is not None:
            try:
                storage.close()
            except Exception:
                logger.debug("kombu: error closing the lease keeper's storage", exc_info=True)
