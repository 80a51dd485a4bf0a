"""The storage contract: what an emulated-ack transport implements.

A broker without AMQP (Redis, a folder, a database, SQS, ...) gives the
emulated broker a :class:`Storage`: a place where envelopes wait in named
queues, are *leased* to the consumer that fetched them, and leave for good
only when that consumer acknowledges them.  Everything else lives once in
the engine (:mod:`kombu.transport.virtual`): exchanges and routing, QoS and
prefetch, delivery tags, TTL, dead letters, priority levels, lease renewal
in the background, restore of lapsed leases and dispatch to consumers.

The rules a storage keeps:

- **One envelope, many queues.**  :meth:`Storage.put` stores one copy of
  the envelope per target queue, at the given priority *level* (higher levels
  are served first, FIFO within a level).  The engine computes the levels.
- **Leases.**  :meth:`Storage.fetch` moves up to ``n`` entries from the
  queues into a leased state, each with a receipt (``Delivery.tag``) that
  is unique per delivery.  A lease lasts :attr:`Storage.lease_seconds` from
  the last :meth:`Storage.renew`; the engine renews what a live consumer
  holds, in a background thread, whatever the consumer is doing.  A lease
  that lapsed (its holder died, froze or was cut off) is given back to its
  queue by :meth:`Storage.restore_lapsed`, which any client may call: nothing
  in a lease names a process id or a host.
- **Acks are final when they return.**  :meth:`Storage.ack` deletes the
  leased entries; when it returns the request has been handed to the broker
  connection (written to the socket, a file removed, a row deleted), so a
  process killed a moment later cannot undo it.  A storage may read the reply
  later, but may not hold the request back.
- **Requeue goes to the head.**  :meth:`Storage.requeue` returns leased (or
  unleased) deliveries to the head of their queue, flagged redelivered.
- **Bindings are versioned.**  The binding table of an exchange comes with a
  version; the engine caches routes until :meth:`Storage.route_version` says
  the table changed.  A storage that can check the version atomically while
  it stores (Redis does, in one script) returns ``False`` from ``put`` when
  the table changed and the engine routes again.
- **Waiting** is the :class:`Waiter`'s job (one per connection): block on the
  broker, wake on a file descriptor, or poll.

Envelopes are the dicts kombu's virtual transports store (``body``,
``content-type``, ``content-encoding``, ``headers``, ``properties``); a
storage serializes them as it likes (:func:`.envelope.dumps` is the JSON form
kombu's transports use) and may hand them back from :meth:`Storage.fetch`
either as dicts or as the stored JSON text, which the engine decodes.

A transport whose channel only implements kombu's classic storage hooks
(``_get``, ``_put``, ``_size``, ...) keeps working: the engine wraps those in
:class:`kombu.transport.virtual.hooks.HookStorage` (no leases: what a
consumer holds lives in its process, as in kombu).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = (
    "Binding",
    "Delivery",
    "RouteTable",
    "Storage",
    "Target",
    "Waiter",
)


class Delivery(NamedTuple):
    """One entry fetched from a queue and not yet acknowledged."""

    #: The queue it was fetched from.
    queue: str
    #: The storage's receipt (a str or int) unique per delivery in the process,
    #: used for ack, requeue and renew.  The engine uses it as the message's
    #: ``delivery_tag``.
    tag: Any
    #: The envelope: a dict, or its stored JSON form (``str``/``bytes``).
    payload: Any
    #: Whether the entry is leased (False: fetched without acknowledgement,
    #: or pushed to the consumer by the broker; ack is then a no-op).
    leased: bool = True
    #: Priority level it was stored at (set by the engine for :meth:`Storage.requeue`).
    level: int = 0


class Target(NamedTuple):
    """Where :meth:`Storage.put` stores one copy of an envelope."""

    queue: str
    #: Priority level, 0..255: higher levels are served first.
    level: int = 0


class Binding(NamedTuple):
    """One binding of a queue to an exchange."""

    queue: str
    exchange: str
    routing_key: str
    arguments: Mapping[str, Any] | None = None


class RouteTable(NamedTuple):
    """An exchange as the storage knows it: its declaration and bindings."""

    #: Changes whenever the declaration or a binding of the exchange changes.
    version: Hashable
    #: ``{"type", "durable", "auto_delete", "arguments"}``, or None if not declared.
    meta: Mapping[str, Any] | None
    bindings: tuple[Binding, ...]


@runtime_checkable
class Storage(Protocol):
    """The broker storage one channel talks to.

    A channel owns its storage and calls it from one thread at a time; the
    engine's lease keeper gets a storage of its own (``channel=None``).
    Delivery tags are valid in every storage of the same connection (the
    keeper renews with its own).
    """

    #: Seconds a lease lasts without renewal (None: no leases; held entries
    #: live in the consumer's process and come back when its channel closes).
    lease_seconds: float | None
    #: Whether :meth:`fetch` may block up to its ``timeout`` for the first
    #: entry (long polling).  The engine then skips the waiter.
    blocking_fetch: bool
    #: Whether :meth:`put` checks the route-table version atomically (then the
    #: engine never calls :meth:`route_version` on the publish path).
    checks_route_version: bool

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        """Create ``queue`` if needed and remember its arguments (shared by every client)."""

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        """The arguments ``queue`` was declared with, None if not declared."""

    def queue_exists(self, queue: str) -> bool:
        """Whether ``queue`` was declared (or holds messages)."""

    def queue_size(self, queue: str) -> int:
        """How many entries wait in ``queue`` (leased ones excluded)."""

    def purge_queue(self, queue: str) -> int:
        """Remove every waiting entry of ``queue``; return how many."""

    def delete_queue(self, queue: str) -> int:
        """Delete ``queue``, its waiting entries and every binding to it; return how many."""

    # -- exchanges and the binding table -------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        """Store the declaration of ``exchange`` (first declaration wins)."""

    def delete_exchange(self, exchange: str) -> None:
        """Delete ``exchange`` and every binding to it."""

    def bind(self, binding: Binding) -> None:
        """Add a binding (idempotent)."""

    def unbind(self, binding: Binding) -> None:
        """Remove a binding (absent is fine)."""

    def route_table(self, exchange: str) -> RouteTable:
        """The exchange's declaration and bindings, with their version."""

    def route_version(self, exchange: str) -> Hashable | None:
        """The current version of ``exchange``'s table, cheaply.

        Return None when it cannot be known without reading the table (the
        engine then reads it), or when :meth:`put` checks the version itself.
        """

    def exchanges(self) -> list[str]:
        """Names of the declared exchanges."""

    # -- messages ------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        """Store a copy of ``envelope`` in each target queue.

        ``version`` is the route-table version the targets were computed
        from (None for the default exchange).  A storage that checks it
        atomically returns False, storing nothing, when the table changed.
        Return True otherwise.
        """

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        """Take up to ``n`` entries from ``queues`` (in that order of preference).

        Entries of queues in ``noack`` are removed for good; the others are
        leased.  Only a storage with :attr:`blocking_fetch` may wait up to
        ``timeout`` seconds for the first entry.
        """

    def ack(self, tags: Sequence[str]) -> None:
        """Delete leased entries for good (unknown tags are ignored)."""

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        """Give deliveries back to the head of their queues (at ``level``).

        They keep the order given, ahead of what already waits.

        ``payload`` is the envelope to store (a dict, already flagged
        redelivered; or the stored text of an entry that could not be
        decoded, to be stored unchanged).  A leased delivery whose lease was
        already restored by someone else is not stored twice.  An unleased
        delivery the broker pushed (a broadcast) may be dropped.
        """

    def renew(self, tags: Sequence[str]) -> None:
        """Extend the leases of ``tags`` by :attr:`lease_seconds` from now."""

    def restore_lapsed(self) -> int:
        """Give back every lapsed lease (of any client); return how many."""

    def close(self) -> None:
        """Release what this storage holds open (its leases stay in force)."""


@runtime_checkable
class Waiter(Protocol):
    """How a connection waits for work on its storages.

    The drain loop takes a :meth:`token`, fetches, and when nothing came
    calls :meth:`wait` with that token: a waiter returns as soon as something
    may have changed since the token was taken, or after ``timeout``.
    """

    def watch(self, queues: Collection[str]) -> None:
        """The queues the connection consumes from now."""

    def token(self) -> Any:
        """A snapshot to compare with in :meth:`wait`."""

    def wait(self, token: Any, timeout: float | None) -> None:
        """Sleep until something may have changed since ``token``, or ``timeout``."""

    def fileno(self) -> int | None:
        """A file descriptor that becomes readable on news, for event loops (or None)."""

    def close(self) -> None:
        """Release what the waiter holds open."""

