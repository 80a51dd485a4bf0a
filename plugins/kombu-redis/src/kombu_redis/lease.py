"""The lease keeper: a live consumer keeps the messages it holds.

A background thread renews, every quarter of ``visibility_timeout``, the
lease (score in ``unacked_index``) of every message its connection holds,
delivered or prefetched, and sends the acks still waiting.  So a message is
restored to its queue only when its consumer stopped renewing: it died, or
lost Redis for longer than the timeout.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from . import scripts

__all__ = ("LeaseKeeper",)

logger = logging.getLogger(__name__)


class LeaseKeeper(threading.Thread):
    """Renews the leases of one transport's channels until stopped."""

    def __init__(self, transport: Any, interval: float) -> None:
        super().__init__(name="kombu-redis-lease", daemon=True)
        self.transport = transport
        self.interval = interval
        self.stopped = threading.Event()
        self._wire: Any = None

    def stop(self) -> None:
        self.stopped.set()

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                self.renew()
        finally:
            if self._wire is not None:
                self._wire.close()

    def renew(self) -> None:
        """One pass over the channels (errors are logged; the next pass retries)."""
        for channel in list(self.transport.channels):
            if channel.closed:
                continue
            acks = channel._take_acks()
            tags = channel.held_tags()
            if not acks and not tags:
                continue
            try:
                if self._wire is None:
                    self._wire = self.transport.new_wire()
                self._wire.run(scripts.ACK_RENEW, [channel._hkey, channel._zkey],
                               [len(acks), *acks, *tags])
            except Exception as exc:
                channel._pending_acks.extend(acks)
                logger.warning("kombu-redis: could not renew message leases: %r", exc)
                if self._wire is not None:
                    self._wire.close()
