"""The ZooKeeper storage: the emulated broker's storage contract over kazoo.

A message is a persistent sequential znode under its queue (see
:mod:`.layout`).  Fetching takes it under a *lock*: an ephemeral znode of the
same name under the queue's ``t`` folder, created by the consumer's session.
The message stays where it is until the ack deletes both in one transaction.
The lease is the session itself: kazoo keeps it alive while the process
lives, and when the process dies, freezes or is cut off for longer than the
session timeout, ZooKeeper deletes the lock and the message is back, for any
other consumer, without anyone having to restore it.

Every storage of a connection shares the connection's one kazoo client (one
session), so the lease keeper's storage holds the same leases as the
channels'.  Round trips are pipelined with kazoo's asynchronous calls: a
fetch of ``n`` messages takes three (list, lock, read) whatever ``n``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kazoo.exceptions import NodeExistsError, NoNodeError, NotEmptyError

from kombu.exceptions import LimitExceeded
from kombu.transport.virtual import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps, loads

from .acks import send_ack, wait_sent
from .layout import (
    binding_name,
    entry_level,
    entry_prefix,
    parse_binding_name,
)
from .routes import ABSENT, version_of

if TYPE_CHECKING:
    from .contract import ZooKeeperBroker

__all__ = ("MessageTooLarge", "ZooKeeperStorage")

_serial = itertools.count(1)

#: Most entries locked by one transaction (a request must fit in jute.maxbuffer).
LOCK_BATCH = 200


class MessageTooLarge(LimitExceeded, ValueError):
    """A message does not fit in a znode (raised at publish; nothing is stored)."""


def _tag(queue: str, entry: str) -> str:
    return f"{entry}:{next(_serial)}:{queue}"


def _untag(tag: str) -> tuple[str, str]:
    """``(queue, entry)`` of a delivery tag."""
    entry, _, rest = str(tag).partition(":")
    return rest.partition(":")[2], entry


def _loads(data: bytes | None) -> Any:
    if not data:
        return None
    return json.loads(data)


def _flag_redelivered(data: bytes) -> Any:
    """The envelope of a message delivered before, flagged redelivered (as stored if unreadable)."""
    try:
        envelope = loads(data)
        envelope["properties"]["delivery_info"]["redelivered"] = True
    except Exception:
        return data
    return envelope


def _jdump(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()


class ZooKeeperStorage:
    """One channel's view of the broker (every storage shares the transport's client)."""

    blocking_fetch = False
    checks_route_version = False

    def __init__(self, transport: ZooKeeperBroker, channel: Any = None) -> None:
        self.transport = transport
        self.channel = channel
        self.zk = transport.zk_client()
        self.layout = transport.layout
        self.max_size = transport.max_message_size
        #: The lease lasts as long as the session: a dead holder's is gone after this.
        self.lease_seconds: float | None = transport.session_timeout

    # -- helpers ---------------------------------------------------------------

    def _session(self) -> int:
        return int(self.zk.client_id[0]) if self.zk.client_id else 0

    def _ensure_queue(self, queue: str, arguments: Mapping[str, Any] | None = None) -> None:
        path = self.layout.queue(queue)
        try:
            self.zk.create(path, _jdump(dict(arguments or {})), makepath=True)
        except NodeExistsError:
            pass
        for sub in (self.layout.messages(queue), self.layout.taken(queue)):
            try:
                self.zk.create(sub)
            except NodeExistsError:
                pass

    def _lists(self, queue: str) -> tuple[list[str], set[str]] | None:
        """The queue's entries and the names of those leased (None: no queue)."""
        waiting = self.zk.get_children_async(self.layout.messages(queue))
        taken = self.zk.get_children_async(self.layout.taken(queue))
        try:
            names = waiting.get()
        except NoNodeError:
            try:
                taken.get()
            except NoNodeError:
                pass
            return None
        try:
            held = set(taken.get())
        except NoNodeError:
            held = set()
        return names, held

    # -- queues ----------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        self._ensure_queue(queue, arguments)

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        try:
            data, _ = self.zk.get(self.layout.queue(queue))
        except NoNodeError:
            return None
        return _loads(data) or {}

    def queue_exists(self, queue: str) -> bool:
        return self.zk.exists(self.layout.queue(queue)) is not None

    def queue_size(self, queue: str) -> int:
        lists = self._lists(queue)
        if lists is None:
            return 0
        names, held = lists
        return sum(1 for name in names if name not in held)

    def purge_queue(self, queue: str) -> int:
        lists = self._lists(queue)
        if lists is None:
            return 0
        names, held = lists
        folder = self.layout.messages(queue)
        pending = [self.zk.delete_async(f"{folder}/{n}") for n in names if n not in held]
        purged = 0
        for result in pending:
            try:
                result.get()
                purged += 1
            except (NoNodeError, NotEmptyError):  # gone, or leased meanwhile
                pass
        return purged

    def delete_queue(self, queue: str) -> int:
        count = self.queue_size(queue)
        try:
            self.zk.delete(self.layout.queue(queue), recursive=True)
        except NoNodeError:
            pass
        for exchange in self.exchanges():
            path = self.layout.exchange(exchange)
            try:
                nodes = self.zk.get_children(path)
            except NoNodeError:
                continue
            for node in nodes:
                if parse_binding_name(node)[0] == queue:
                    self.transport.routes.forget(exchange)
                    try:
                        self.zk.delete(f"{path}/{node}")
                    except NoNodeError:
                        pass
        return count

    # -- exchanges and bindings ----------------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.transport.routes.forget(exchange)
        path = self.layout.exchange(exchange)
        try:
            self.zk.create(path, _jdump(dict(meta)), makepath=True)
        except NodeExistsError:
            data, stat = self.zk.get(path)
            if not data:  # created by a binding: the first declaration wins
                try:
                    self.zk.set(path, _jdump(dict(meta)), version=stat.version)
                except Exception:
                    pass

    def delete_exchange(self, exchange: str) -> None:
        self.transport.routes.forget(exchange)
        try:
            self.zk.delete(self.layout.exchange(exchange), recursive=True)
        except NoNodeError:
            pass

    def bind(self, binding: Binding) -> None:
        self.transport.routes.forget(binding.exchange)
        path = self.layout.exchange(binding.exchange)
        node = binding_name(binding.queue, binding.routing_key, binding.arguments)
        try:
            self.zk.create(f"{path}/{node}", makepath=True)
        except NodeExistsError:
            pass

    def unbind(self, binding: Binding) -> None:
        self.transport.routes.forget(binding.exchange)
        path = self.layout.exchange(binding.exchange)
        node = binding_name(binding.queue, binding.routing_key, binding.arguments)
        try:
            self.zk.delete(f"{path}/{node}")
        except NoNodeError:
            pass

    def route_table(self, exchange: str) -> RouteTable:
        path = self.layout.exchange(exchange)
        data = self.zk.get_async(path)
        children = self.zk.get_children_async(path)
        try:
            raw, stat = data.get()
            nodes = children.get()
        except NoNodeError:
            return RouteTable(ABSENT, None, ())
        bindings = []
        for node in nodes:
            queue, key, arguments = parse_binding_name(node)
            bindings.append(Binding(queue, exchange, key, arguments))
        return RouteTable(version_of(stat), _loads(raw), tuple(bindings))

    def route_version(self, exchange: str) -> Hashable | None:
        return self.transport.routes.version(self.zk, exchange, self.layout.exchange(exchange))

    def exchanges(self) -> list[str]:
        try:
            nodes = self.zk.get_children(self.layout.exchanges)
        except NoNodeError:
            return []
        return [self.layout.name(node) for node in nodes]

    # -- messages --------------------------------------------------------------

    def _encode(self, envelope: Any) -> bytes:
        data = envelope if isinstance(envelope, bytes) else (
            envelope.encode() if isinstance(envelope, str) else dumps(envelope).encode())
        limit = self.max_size
        if limit and len(data) > limit:
            raise MessageTooLarge(
                f"message of {len(data)} bytes (stored form) exceeds the ZooKeeper "
                f"transport's limit of {limit} bytes ({limit // 1024} KiB, a znode must "
                f"fit in the server's jute.maxbuffer): not published")
        return data

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        data = self._encode(envelope)
        zk, layout = self.zk, self.layout
        pending = [(t, zk.create_async(layout.entry_path(t.queue, t.level), data,
                                       sequence=True)) for t in targets]
        for target, result in pending:
            try:
                result.get()
            except NoNodeError:  # a queue nobody declared: made on first use, as kombu does
                self._ensure_queue(target.queue)
                zk.create(layout.entry_path(target.queue, target.level), data, sequence=True)
        return True

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        for queue in queues:
            if len(out) >= n:
                break
            self._fetch_queue(queue, n - len(out), queue in noack, out)
        return out

    def _fetch_queue(self, queue: str, want: int, noack: bool, out: list[Delivery]) -> None:
        lists = self._lists(queue)
        if lists is None:
            return
        names, held = lists
        free = sorted(name for name in names if name not in held)
        if not free:
            return
        zk = self.zk
        folder = self.layout.messages(queue)
        start = 0
        while want > 0 and start < len(free):
            chunk = free[start:start + min(want, LOCK_BATCH)]
            start += len(chunk)
            got = self._lock(queue, chunk)
            reads = [(name, zk.get_async(f"{folder}/{name}")) for name in got]
            for name, result in reads:
                try:
                    data, stat = result.get()
                except NoNodeError:  # acked (or purged) since it was listed
                    self._unlock(queue, name)
                    continue
                if noack:
                    self._remove(queue, name)
                elif stat.cversion > 1:  # locked before: a lapsed lease, delivered again
                    data = _flag_redelivered(data)
                out.append(Delivery(queue, _tag(queue, name), data, not noack,
                                    entry_level(name)))
                want -= 1

    def _lock(self, queue: str, names: list[str]) -> list[str]:
        """Lock ``names`` in one transaction (one log write); those others took are left out.

        Each entry gets two ephemeral nodes: ``t/<entry>`` lists the leases for
        everyone; ``m/<entry>/lock`` leaves the entry's cversion counting them.
        """
        zk = self.zk
        folder, locks = self.layout.messages(queue), self.layout.taken(queue)
        while names:
            tx = zk.transaction()
            for name in names:
                tx.create(f"{locks}/{name}", ephemeral=True)
                tx.create(f"{folder}/{name}/lock", ephemeral=True)
            results = tx.commit()
            culprits = {names[i // 2] for i, r in enumerate(results)
                        if isinstance(r, (NodeExistsError, NoNodeError))}
            if not any(isinstance(r, Exception) for r in results):
                return names
            if not culprits:  # failed for another reason: one at a time
                return self._lock_each(queue, names)
            try:  # another consumer took some: leave out all it holds now
                taken = set(zk.get_children(locks))
            except NoNodeError:
                return []
            names = [n for n in names if n not in culprits and n not in taken]
        return []

    def _lock_each(self, queue: str, names: list[str]) -> list[str]:
        zk = self.zk
        folder, locks = self.layout.messages(queue), self.layout.taken(queue)
        tries = []
        for name in names:
            tx = zk.transaction()
            tx.create(f"{locks}/{name}", ephemeral=True)
            tx.create(f"{folder}/{name}/lock", ephemeral=True)
            tries.append((name, tx.commit_async()))
        return [name for name, result in tries
                if not any(isinstance(r, Exception) for r in result.get())]

    def _unlock(self, queue: str, entry: str) -> None:
        tx = self.zk.transaction()
        tx.delete(f"{self.layout.messages(queue)}/{entry}/lock")
        tx.delete(f"{self.layout.taken(queue)}/{entry}")
        tx.commit_async()

    def _remove(self, queue: str, entry: str) -> None:
        path = f"{self.layout.messages(queue)}/{entry}"
        tx = self.zk.transaction()
        tx.delete(f"{path}/lock")
        tx.delete(path)
        tx.delete(f"{self.layout.taken(queue)}/{entry}")
        tx.commit()

    def ack(self, tags: Sequence[str]) -> None:
        """Send the deletes (pipelined); return once the last is on the socket."""
        zk = self.zk
        last = None
        for tag in tags:
            queue, entry = _untag(tag)
            path = f"{self.layout.messages(queue)}/{entry}"
            ops = [("delete", f"{path}/lock"), ("delete", path),
                   ("delete", f"{self.layout.taken(queue)}/{entry}")]
            last = send_ack(zk, ops, path)
        if last is not None:
            wait_sent(zk, last)  # kazoo sends in order: the others went first

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        """Rewrite leased entries in place (flagged) and unlock them; pipelined."""
        zk = self.zk
        session = self._session()
        leased = []
        for delivery in deliveries:
            if delivery.leased:
                _, entry = _untag(delivery.tag)
                lock = f"{self.layout.taken(delivery.queue)}/{entry}"
                leased.append((delivery, entry, lock, zk.exists_async(lock)))
            else:  # taken for good (no ack): stored again, ahead of the queue
                data = self._encode(delivery.payload)
                path = (f"{self.layout.messages(delivery.queue)}/"
                        f"{entry_prefix(delivery.level, head=True)}")
                try:
                    zk.create(path, data, sequence=True)
                except NoNodeError:
                    self._ensure_queue(delivery.queue)
                    zk.create(path, data, sequence=True)
        commits = []
        for delivery, entry, lock, owner in leased:
            stat = owner.get()
            if stat is None or stat.ephemeralOwner != session:
                continue  # the lease lapsed: the message is back already
            tx = zk.transaction()
            path = f"{self.layout.messages(delivery.queue)}/{entry}"
            if isinstance(delivery.payload, dict):
                tx.set_data(path, self._encode(delivery.payload))
            tx.delete(f"{path}/lock")
            tx.delete(lock)
            commits.append(tx.commit_async())
        for result in commits:
            result.get()

    def renew(self, tags: Sequence[str]) -> None:
        """Nothing to do: the session is the lease, and kazoo keeps it alive."""

    def restore_lapsed(self) -> int:
        """Nothing to do: ZooKeeper deletes a dead session's locks itself."""
        return 0

    def close(self) -> None:
        """The client is the connection's: closed with it."""

