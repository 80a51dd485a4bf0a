"""The ``{{scheme}}://`` transport: a virtual transport over a small queue store.

The emulated broker of :mod:`kombu.transport.virtual` provides exchanges,
routing, consumers, prefetch, acknowledgements, redelivery and
dead-lettering.  A transport only stores and fetches messages: it subclasses
:class:`~kombu.transport.virtual.Channel` and implements the storage hooks
(``_new_queue``, ``_has_queue``, ``_put``, ``_get``, ``_size``, ``_purge``,
``_delete``).  Here the store is a dict of deques shared by every connection
in the process; replace :class:`Store` with calls to your broker.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from kombu.transport import virtual

__all__ = ("Channel", "Store", "Transport")


class Store:
    """Named FIFO queues of ``(expires_at, envelope)`` pairs, safe across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queues: dict[str, deque[tuple[float | None, dict[str, Any]]]] = {}

    def queue(self, name: str) -> deque[tuple[float | None, dict[str, Any]]]:
        with self.lock:
            return self.queues.setdefault(name, deque())


class Channel(virtual.Channel):
    """Storage hooks over :class:`Store`.

    A message is an envelope dict (body, headers, properties); a broker that
    stores text should keep ``body_encoding = "base64"`` (the default) and
    serialize envelopes with :mod:`json`.
    """

    connection: Transport
    #: Envelopes never leave the process, so bodies are stored as they are.
    body_encoding = None

    @property
    def store(self) -> Store:
        return self.connection.store

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        self.store.queue(queue)

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return queue in self.store.queues

    def _put(self, queue: str, message: dict[str, Any], **kwargs: Any) -> None:
        # The base class computes the expiry from x-message-ttl / expiration.
        self.store.queue(queue).append((self._message_deadline(queue, message), message))

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        messages = self.store.queues.get(queue)
        while messages:
            try:
                expires_at, message = messages.popleft()
            except IndexError:  # another thread took the last one
                break
            if expires_at is not None and expires_at <= time.time():
                self._expired(queue, message)  # dead-letters it if the queue says so
                continue
            return message
        raise virtual.Empty()

    def _size(self, queue: str) -> int:
        return len(self.store.queues.get(queue, ()))

    def _purge(self, queue: str) -> int:
        messages = self.store.queues.get(queue)
        if not messages:
            return 0
        with self.store.lock:
            count = len(messages)
            messages.clear()
        return count

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        with self.store.lock:
            self.store.queues.pop(queue, None)


class Transport(virtual.Transport):
    """``{{scheme}}://``: every connection in the process shares one :class:`Store`."""

    Channel = Channel
    driver_type = "{{scheme}}"
    driver_name = "{{scheme}}"
    #: Seconds between polls of an empty store (a real broker may block instead).
    polling_interval = 0.01
    #: What this transport supports: the conformance kit runs the checks
    #: for each feature stated here and skips the others.
    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        asynchronous=False,
        heartbeats=False,
        message_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        priority=False,
        queue_ttl=False,
        cross_process=False,
        persistent=False,
        batch_publish=False,
    )
    store = Store()

    def driver_version(self) -> str:
        return "{{version}}"
