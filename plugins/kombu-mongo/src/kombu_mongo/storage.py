"""The MongoDB storage: one document per queued copy, leased by an atomic update.

Collections (names are kombu's options):

- ``messages_collection``: ``{queue, priority, seq, payload, lease_until,
  lease, redelivered[, expire_at]}``.  ``lease_until`` is 0 while the message
  waits and the lease's deadline (epoch seconds) while a consumer holds it;
  ``lease`` is the holder's receipt.  One compound index,
  ``(queue, lease_until, priority desc, seq)``, serves the fetch (waiting
  entries of a queue, highest level first, FIFO within it) as an index scan;
  ``(lease_until)`` serves the restore of lapsed leases.
- ``routing_collection``: exchange declarations (with a version counter
  bumped on every change) and bindings, so routes are cached until the
  version moves.
- ``queues_collection``: queue declarations and their arguments (and, for
  ``x-expires``, when the queue expires).

Fetch: one ``find_one_and_update`` for a single message; for a batch a
``find`` of up to N ids and one ``update_many`` that leases those still
waiting (a concurrent consumer's are left out by the filter), then, only if
some were taken by someone else, a ``find`` of what this receipt holds.
Ack: one ``delete_many`` by id and receipt.  A lapsed lease goes back by an
``update_many`` any client runs, and never names a host or process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Collection, Hashable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError, OperationFailure
from pymongo.write_concern import WriteConcern

from kombu.transport.virtual import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps as dumps_envelope
from kombu.transport.virtual.envelope import loads as loads_envelope
from kombu.transport.virtual.envelope import ttl_ms

__all__ = ("MongoStorage",)

logger = logging.getLogger(__name__)

#: Largest stored payload: MongoDB documents are at most 16 MiB, less our fields.
MAX_DOCUMENT_PAYLOAD = 16 * 1024 * 1024 - 16 * 1024
#: Seconds a queue's arguments are trusted before they are read again.
ARGS_RECHECK = 5.0
#: Refresh a queue's ``x-expires`` deadline at most this often (seconds).
EXPIRES_REFRESH = 1.0
_EXCHANGE = "exchange:"
_BINDING = "binding:"


def _args_json(arguments: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(arguments or {}), sort_keys=True, separators=(",", ":"),
                      default=str)


def queue_expires_ms(arguments: Mapping[str, Any] | None) -> int | None:
    """The ``x-expires`` (ms) of queue ``arguments``, or None (ValueError if invalid)."""
    value = (arguments or {}).get("x-expires")
    if value is None:
        return None
    try:
        ms = int(value)
    except (TypeError, ValueError):
        ms = 0
    if ms <= 0 or isinstance(value, bool):
        raise ValueError(f"x-expires must be a positive number of milliseconds, not {value!r}")
    return ms


class _Sequence:
    """Increasing integers from the clock (FIFO order within a priority level)."""

    def __init__(self) -> None:
        self.last = 0
        self.lock = threading.Lock()

    def next(self) -> int:
        with self.lock:
            self.last = max(self.last + 1, time.time_ns())
            return self.last


_SEQ = _Sequence()


class MongoStorage:
    """The :class:`~kombu.transport.virtual.Storage` of the MongoDB transport."""

    blocking_fetch = False
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        settings = transport.settings
        self.options = settings.options
        self.lease_seconds: float | None = float(self.options["visibility_timeout"])
        db = transport.mongo_client()[settings.database]
        self.db = db
        self.messages = db[self.options["messages_collection"]]
        #: Acks are sent without waiting for the reply (w=0): the delete is on the
        #: socket when ack() returns, as the contract asks.  A lost ack only means
        #: a redelivery once the lease lapses (at-least-once).
        self._acks = self.messages.with_options(write_concern=WriteConcern(w=0))
        self.routing = db[self.options["routing_collection"]]
        self.queues = db[self.options["queues_collection"]]
        self.use_ttl = bool(self.options["ttl"])
        self.calc_queue_size = bool(self.options["calc_queue_size"])
        #: queue -> (arguments or None, when to read them again)
        self._args: dict[str, tuple[Mapping[str, Any] | None, float]] = {}
        #: queue -> when its x-expires deadline was last pushed forward
        self._touched: dict[str, float] = {}
        transport.ensure_indexes(self)

    # -- setup --------------------------------------------------------------------

    def create_indexes(self) -> None:
        """The indexes the hot path needs (idempotent; run once per connection)."""
        self.messages.create_index(
            [("queue", 1), ("lease_until", 1), ("priority", -1), ("seq", 1)],
            name="kombu_fetch")
        self.messages.create_index([("lease_until", 1)], name="kombu_leases")
        self.routing.create_index([("kind", 1), ("exchange", 1)], name="kombu_exchange")
        self.routing.create_index([("kind", 1), ("queue", 1)], name="kombu_queue")
        self.queues.create_index([("expire_at", 1)], name="kombu_queue_expiry",
                                 sparse=True)
        if self.use_ttl:
            # The server removes expired messages even when nobody consumes.
            self.messages.create_index([("expire_at", 1)], name="kombu_message_ttl",
                                       expireAfterSeconds=0, sparse=True)

    # -- queues ---------------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        ms = queue_expires_ms(arguments)
        update: dict[str, Any] = {"$set": {"arguments": _args_json(arguments)}}
        if ms is None:
            update["$unset"] = {"expire_at": ""}
        else:
            update["$set"]["expire_at"] = self._deadline(ms / 1000.0)
            update["$set"]["expires_ms"] = ms
        self.queues.update_one({"_id": queue}, update, upsert=True)
        self._args[queue] = (dict(arguments or {}), time.monotonic() + ARGS_RECHECK)
        self._touched[queue] = time.monotonic()

    @staticmethod
    def _deadline(seconds: float) -> datetime:
        return datetime.fromtimestamp(time.time() + seconds, tz=timezone.utc)

    def _arguments(self, queue: str) -> Mapping[str, Any] | None:
        found = self._args.get(queue)
        now = time.monotonic()
        if found is not None and found[1] > now:
            return found[0]
        doc = self.queues.find_one({"_id": queue}, {"arguments": 1})
        args: Mapping[str, Any] | None = None
        if doc is not None:
            try:
                args = json.loads(doc.get("arguments") or "{}")
            except ValueError:
                args = {}
        if len(self._args) > 4096:
            self._args.clear()
        self._args[queue] = (args, now + ARGS_RECHECK)
        return args

    def _touch(self, queues: Collection[str]) -> None:
        """Push the x-expires deadline of used queues forward (at most once a second)."""
        now = time.monotonic()
        for queue in queues:
            args = self._arguments(queue)
            if not args or "x-expires" not in args:
                continue
            if now - self._touched.get(queue, 0.0) < EXPIRES_REFRESH:
                continue
            self._touched[queue] = now
            ms = queue_expires_ms(args) or 0
            self.queues.update_one({"_id": queue},
                                   {"$set": {"expire_at": self._deadline(ms / 1000.0)}})

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        self._args.pop(queue, None)
        args = self._arguments(queue)
        if args is None and self.messages.find_one({"queue": queue}, {"_id": 1}) is not None:
            return {}
        return args

    def queue_exists(self, queue: str) -> bool:
        doc = self.queues.find_one({"_id": queue}, {"expire_at": 1, "expires_ms": 1})
        if doc is not None:
            expire_at = doc.get("expire_at")
            if expire_at is None:
                return True
            if expire_at.tzinfo is None:
                expire_at = expire_at.replace(tzinfo=timezone.utc)
            if expire_at <= datetime.now(tz=timezone.utc):
                self._expire_queues()  # unused past x-expires: gone
                return False
            # A (passive) declare is a use: push the deadline forward.
            self.queues.update_one({"_id": queue}, {"$set": {"expire_at": self._deadline(
                int(doc.get("expires_ms") or 0) / 1000.0)}})
            return True
        return self.messages.find_one({"queue": queue}, {"_id": 1}) is not None

    def queue_size(self, queue: str) -> int:
        if not self.calc_queue_size:
            return 0
        return int(self.messages.count_documents({"queue": queue, "lease_until": 0}))

    def purge_queue(self, queue: str) -> int:
        return int(self.messages.delete_many({"queue": queue, "lease_until": 0}).deleted_count)

    def delete_queue(self, queue: str) -> int:
        waiting = int(self.messages.count_documents({"queue": queue, "lease_until": 0}))
        self.messages.delete_many({"queue": queue})
        exchanges = {d["exchange"] for d in self.routing.find(
            {"kind": "binding", "queue": queue}, {"exchange": 1})}
        self.routing.delete_many({"kind": "binding", "queue": queue})
        for exchange in exchanges:
            self._bump(exchange)
        self.queues.delete_one({"_id": queue})
        self._args.pop(queue, None)
        self._touched.pop(queue, None)
        return waiting

    # -- exchanges and bindings ------------------------------------------------------

    def _bump(self, exchange: str) -> None:
        self.routing.update_one(
            {"_id": _EXCHANGE + exchange},
            {"$inc": {"version": 1}, "$setOnInsert": {"kind": "exchange",
                                                      "exchange": exchange}},
            upsert=True)

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        try:  # first declaration wins: only an exchange without meta takes this one
            self.routing.update_one(
                {"_id": _EXCHANGE + exchange, "meta": {"$exists": False}},
                {"$set": {"meta": _args_json(meta), "kind": "exchange", "exchange": exchange},
                 "$inc": {"version": 1}},
                upsert=True)
        except DuplicateKeyError:
            pass  # declared already

    def delete_exchange(self, exchange: str) -> None:
        self.routing.delete_many({"kind": "binding", "exchange": exchange})
        # The document stays (without meta) so that its version keeps growing.
        self.routing.update_one({"_id": _EXCHANGE + exchange},
                                {"$unset": {"meta": ""}, "$inc": {"version": 1}})

    @staticmethod
    def _binding_id(binding: Binding) -> str:
        return _BINDING + json.dumps([binding.exchange, binding.queue, binding.routing_key,
                                      dict(binding.arguments or {})],
                                     sort_keys=True, separators=(",", ":"), default=str)

    def bind(self, binding: Binding) -> None:
        self.routing.update_one(
            {"_id": self._binding_id(binding)},
            {"$setOnInsert": {"kind": "binding", "exchange": binding.exchange,
                              "queue": binding.queue, "routing_key": binding.routing_key,
                              "arguments": _args_json(binding.arguments)}},
            upsert=True)
        self._bump(binding.exchange)

    def unbind(self, binding: Binding) -> None:
        if self.routing.delete_one({"_id": self._binding_id(binding)}).deleted_count:
            self._bump(binding.exchange)

    def route_table(self, exchange: str) -> RouteTable:
        doc = self.routing.find_one({"_id": _EXCHANGE + exchange})
        version = doc.get("version", 0) if doc else 0
        meta = None
        if doc and doc.get("meta"):
            try:
                meta = json.loads(doc["meta"])
            except ValueError:
                meta = None
        bindings = []
        for b in self.routing.find({"kind": "binding", "exchange": exchange}):
            try:
                args = json.loads(b.get("arguments") or "{}") or None
            except ValueError:
                args = None
            bindings.append(Binding(b["queue"], exchange, b.get("routing_key", ""), args))
        bindings.sort(key=lambda b: (b.queue, b.routing_key))
        return RouteTable(version, meta, tuple(bindings))

    def route_version(self, exchange: str) -> Hashable | None:
        doc = self.routing.find_one({"_id": _EXCHANGE + exchange}, {"version": 1})
        return doc.get("version", 0) if doc else 0

    def exchanges(self) -> list[str]:
        return sorted(d["exchange"] for d in self.routing.find(
            {"kind": "exchange", "meta": {"$exists": True}}, {"exchange": 1}))

    # -- messages -------------------------------------------------------------------

    def _expire_at(self, envelope: Mapping[str, Any], queue: str) -> datetime | None:
        """With ``ttl``: when the server may drop this copy (the smaller of both TTLs)."""
        try:
            ms = ttl_ms(envelope["properties"].get("expiration"))
        except (KeyError, TypeError, AttributeError):
            ms = None
        queue_ms = ttl_ms((self._arguments(queue) or {}).get("x-message-ttl"))
        if queue_ms is not None and (ms is None or queue_ms < ms):
            ms = queue_ms
        if ms is None:
            return None
        # A grace period: the engine drops (or dead-letters) expired messages on
        # fetch; the index only keeps unconsumed queues from growing.
        return self._deadline(ms / 1000.0 + 60.0)

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        payload = dumps_envelope(envelope)
        if len(payload) > MAX_DOCUMENT_PAYLOAD:
            limit = self.transport.max_message_size
            raise ValueError(
                f"message too large for the MongoDB transport: {len(payload)} bytes stored "
                f"(limit {limit} bytes of body; MongoDB documents are at most 16 MiB)")
        docs = []
        for queue, level in targets:
            doc = {"queue": queue, "priority": int(level), "seq": _SEQ.next(),
                   "payload": payload, "lease_until": 0}
            if self.use_ttl:
                when = self._expire_at(envelope, queue)
                if when is not None:
                    doc["expire_at"] = when
            docs.append(doc)
        if len(docs) == 1:
            self.messages.insert_one(docs[0])
        elif docs:
            self.messages.insert_many(docs, ordered=False)
        return True

    def _delivery(self, doc: Mapping[str, Any], token: str, leased: bool) -> Delivery:
        payload: Any = doc["payload"]
        if doc.get("redelivered"):
            try:
                envelope = loads_envelope(payload)
                envelope["properties"].setdefault("delivery_info", {})["redelivered"] = True
                payload = envelope
            except Exception:  # undecodable: the engine reports it on decode
                pass
        return Delivery(doc["queue"], f"{doc['_id']}.{token}", payload, leased,
                        int(doc.get("priority", 0)))

    def _take(self, queue: str, k: int, until: float, token: str) -> list[dict[str, Any]]:
        """Lease up to ``k`` waiting entries of ``queue`` to ``token``."""
        order = [("priority", pymongo.DESCENDING), ("seq", pymongo.ASCENDING)]
        query = {"queue": queue, "lease_until": 0}
        lease = {"$set": {"lease_until": until, "lease": token}}
        if k == 1:
            doc = self.messages.find_one_and_update(
                query, lease, sort=order, return_document=ReturnDocument.AFTER)
            return [doc] if doc is not None else []
        docs = list(self.messages.find(query, sort=order, limit=k))
        if not docs:
            return []
        ids = [d["_id"] for d in docs]
        taken = self.messages.update_many({"_id": {"$in": ids}, "lease_until": 0}, lease)
        if taken.modified_count == len(ids):
            return docs
        # Someone leased some in between: keep only what this receipt holds.
        mine = {d["_id"] for d in self.messages.find(
            {"_id": {"$in": ids}, "lease": token}, {"_id": 1})}
        return [d for d in docs if d["_id"] in mine]

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        if n <= 0:
            return out
        until = time.time() + float(self.lease_seconds or 0)
        for queue in queues:
            if len(out) >= n:
                break
            token = uuid.uuid4().hex[:16]
            docs = self._take(queue, n - len(out), until, token)
            if not docs:
                continue
            if queue in noack:
                self.messages.delete_many({"_id": {"$in": [d["_id"] for d in docs]},
                                           "lease": token})
            out.extend(self._delivery(d, token, queue not in noack) for d in docs)
        self._touch(queues)  # a queue being consumed from is in use (x-expires)
        return out

    @staticmethod
    def _by_receipt(tags: Sequence[Any]) -> dict[str, Any] | None:
        """A filter matching the entries ``tags`` hold (still leased to the same receipt)."""
        groups: dict[str, list[ObjectId]] = {}
        for tag in tags:
            oid, _, token = str(tag).partition(".")
            try:
                groups.setdefault(token, []).append(ObjectId(oid))
            except Exception:  # not one of ours
                continue
        if not groups:
            return None
        clauses = [{"_id": {"$in": ids}, "lease": token} for token, ids in groups.items()]
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}

    def ack(self, tags: Sequence[Any]) -> None:
        query = self._by_receipt(tags)
        if query is not None:
            self._acks.delete_many(query)

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        ops: list[Any] = []
        head = -time.time_ns()
        for pos, delivery in enumerate(deliveries):
            payload = delivery.payload
            if isinstance(payload, dict):
                payload = dumps_envelope(payload)
            elif isinstance(payload, (bytes, bytearray, memoryview)):
                payload = bytes(payload).decode("utf-8", "replace")
            fields = {"queue": delivery.queue, "priority": int(delivery.level),
                      "seq": head + pos, "payload": payload, "lease_until": 0,
                      "redelivered": True}
            if delivery.leased:
                query = self._by_receipt([delivery.tag])
                if query is None:
                    continue
                query["lease_until"] = {"$gt": 0}
                ops.append(UpdateOne(query, {"$set": fields, "$unset": {"lease": ""}}))
            else:
                ops.append(InsertOne(fields))
        if ops:
            self.messages.bulk_write(ops, ordered=True)

    def renew(self, tags: Sequence[Any]) -> None:
        query = self._by_receipt(tags)
        if query is not None:
            self.messages.update_many(
                query, {"$set": {"lease_until": time.time() + float(self.lease_seconds or 0)}})

    def restore_lapsed(self) -> int:
        now = time.time()
        restored = self.messages.update_many(
            {"lease_until": {"$gt": 0, "$lt": now}},
            {"$set": {"lease_until": 0, "redelivered": True}, "$unset": {"lease": ""}})
        self._expire_queues()
        return int(restored.modified_count)

    def _expire_queues(self) -> None:
        """Delete the queues whose ``x-expires`` passed unused (with their messages)."""
        now = datetime.now(tz=timezone.utc)
        try:
            expired = [d["_id"] for d in self.queues.find(
                {"expire_at": {"$lt": now}}, {"_id": 1}, limit=100)]
        except OperationFailure:
            return
        for queue in expired:
            if self.queues.delete_one({"_id": queue, "expire_at": {"$lt": now}}).deleted_count:
                self.messages.delete_many({"queue": queue})
                exchanges = {d["exchange"] for d in self.routing.find(
                    {"kind": "binding", "queue": queue}, {"exchange": 1})}
                self.routing.delete_many({"kind": "binding", "queue": queue})
                for exchange in exchanges:
                    self._bump(exchange)
                self._args.pop(queue, None)

    def close(self) -> None:
        """Nothing to release: the transport owns the pooled client."""

