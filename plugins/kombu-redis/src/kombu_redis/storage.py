"""The Redis storage: kombu's layout, one round trip per operation, leases in a sorted set.

- **put**: one Lua script stores the message in every target list and checks,
  in the same step, that the exchange's bindings are still at the version the
  route was computed from (else nothing is stored and the engine routes
  again).  Fanout exchanges broadcast over Pub/Sub, as kombu does.
- **fetch**: one script moves up to N messages from the lists into
  ``unacked`` with a lease starting at Redis' own clock.
- **ack**: ``HDEL``/``ZREM`` written to the socket before ``ack()`` returns,
  with no reply to wait for (see :mod:`.wire`).
- **renew** / **restore_lapsed**: the lease keeper renews what its process
  holds; whoever polls gives back what lapsed, kombu clients' entries included.
- **x-expires**: every key of such a queue (its lists, its exchange index and
  the key holding its arguments) expires after that many idle milliseconds;
  a put or a fetch renews them in the same round trip.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Collection, Hashable, Mapping, Sequence
from itertools import count
from typing import Any, cast

import redis

from kombu.transport.virtual import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps as dumps_envelope
from kombu.transport.virtual.exchange import STANDARD_EXCHANGE_TYPES

from . import scripts
from .layout import Layout
from .routing import binding_member, bindings_from_members
from .wire import pack

__all__ = ("RedisStorage",)

logger = logging.getLogger(__name__)

_loads = json.loads
#: Tags of entries the broker pushed (fanout broadcasts): never stored back.
PUSHED_PREFIX = "fanout."
_ROUTERS = {name: cls() for name, cls in STANDARD_EXCHANGE_TYPES.items()}
#: Seconds a queue's ``x-expires`` is trusted before it is read again (another
#: client may have redeclared the queue).
EXPIRES_RECHECK = 5.0


def queue_expires(arguments: Mapping[str, Any] | None) -> int | None:
    """The ``x-expires`` (ms) of queue ``arguments``, or None."""
    value = (arguments or {}).get("x-expires")
    if value is None:
        return None
    try:
        ms = int(value)
    except (TypeError, ValueError):
        ms = 0
    if ms <= 0 or isinstance(value, bool):
        raise ValueError(f"x-expires must be a positive number of milliseconds, not {value!r} "
                         f"(Queue(expires=seconds) sets it)")
    return ms


class RedisStorage:
    """The :class:`~kombu.transport.virtual.Storage` of the Redis transport."""

    blocking_fetch = False
    checks_route_version = True

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        self.layout: Layout = transport.layout
        self.lease_seconds: float | None = (
            self.layout.visibility_timeout if self.layout.ack_emulation else None)
        self.wire = transport.new_wire()
        self._plans: dict[Any, Any] = {}
        # HDEL/ZREM of one tag, packed but for the tag (see ack).
        self._hdel_one = pack(["HDEL", self.layout.hkey, ""])[:-len(b"$0\r\n\r\n")]
        self._zrem_one = pack(["ZREM", self.layout.zkey, ""])[:-len(b"$0\r\n\r\n")]
        self._tag_base = uuid.uuid4().hex[:16]
        #: queue -> (x-expires ms or None, when to read it again)
        self._expires: dict[str, tuple[int | None, float]] = {}
        #: (queue, ms) -> the packed PEXPIREs renewing the queue's keys
        self._renew_cmds: dict[tuple[str, int], bytes] = {}
        self._fetch_seq = count(1)
        try:
            self.wire.connect()
            self.wire.call("PING")  # fails now on a server that wants a password
        except BaseException:
            self.wire.close()
            raise

    # -- queues ---------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        layout = self.layout
        ms = queue_expires(arguments)
        args_json = json.dumps(dict(arguments or {}), sort_keys=True, default=str)
        *keys, args_key = layout.expiring_keys(queue)
        if ms is None:  # (re)declared without x-expires: its keys stay for good
            commands: list[tuple[Any, ...]] = [
                ("HSET", layout.queues_key, queue, args_json), ("DEL", args_key),
                *(("PERSIST", k) for k in keys)]
        else:
            commands = [("HDEL", layout.queues_key, queue),
                        ("SET", args_key, args_json, "PX", ms),
                        *(("PEXPIRE", k, ms) for k in keys)]
        result = self.wire.pipeline([("MULTI",), *commands, ("EXEC",)])[-1]
        if isinstance(result, Exception):
            raise result
        self._expires[queue] = (ms, time.monotonic() + EXPIRES_RECHECK)

    def _expires_ms(self, queue: str) -> int | None:
        found = self._expires.get(queue)
        now = time.monotonic()
        if found is not None and found[1] > now:
            return found[0]
        ms = None
        raw = self.wire.call("GET", self.layout.queue_args_key(queue))
        if raw:
            try:
                ms = queue_expires(_loads(raw))
            except ValueError:
                ms = None
        if len(self._expires) > 4096:
            self._expires.clear()
        self._expires[queue] = (ms, now + EXPIRES_RECHECK)
        return ms

    def _renewals(self, queues: Collection[str]) -> tuple[bytes, int]:
        """Packed PEXPIREs for the keys of those ``queues`` declared with x-expires."""
        out: list[bytes] = []
        count = 0
        for queue in queues:
            ms = self._expires_ms(queue)
            if ms is None:
                continue
            keys = self.layout.expiring_keys(queue)
            packed = self._renew_cmds.get((queue, ms))
            if packed is None:
                if len(self._renew_cmds) > 4096:
                    self._renew_cmds.clear()
                packed = self._renew_cmds[(queue, ms)] = b"".join(
                    pack(["PEXPIRE", k, ms]) for k in keys)
            out.append(packed)
            count += len(keys)
        return b"".join(out), count

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        raw, expiring = self.wire.pipeline([("HGET", self.layout.queues_key, queue),
                                            ("GET", self.layout.queue_args_key(queue))])
        raw = raw if raw is not None else expiring
        if raw is None or isinstance(raw, Exception):
            return {} if self.queue_exists(queue) else None
        try:
            args = _loads(raw)
        except ValueError:
            return {}
        return args if isinstance(args, dict) else {}

    def queue_exists(self, queue: str) -> bool:
        layout = self.layout
        commands: list[tuple[Any, ...]] = [("HEXISTS", layout.queues_key, queue)]
        commands += [("EXISTS", k) for k in layout.expiring_keys(queue)]
        return any(r == 1 for r in self.wire.pipeline(commands))

    def queue_size(self, queue: str) -> int:
        replies = self.wire.pipeline([("LLEN", k) for k in self.layout.queue_keys(queue)])
        return sum(r for r in replies if isinstance(r, int))

    def purge_queue(self, queue: str) -> int:
        keys = self.layout.queue_keys(queue)
        replies = self.wire.pipeline(
            [("MULTI",), *(("LLEN", k) for k in keys), ("DEL", *keys), ("EXEC",)])
        result = replies[-1]
        if isinstance(result, Exception):
            raise result
        return int(sum(result[:-1]))

    def delete_queue(self, queue: str) -> int:
        layout = self.layout
        size = self.wire.run(
            scripts.DELETE_QUEUE,
            [layout.rindex_key(queue), layout.version_key, *layout.queue_keys(queue)],
            [layout.binding_prefix, layout.sep, queue])
        self.wire.pipeline([("HDEL", layout.queues_key, queue),
                            ("DEL", layout.queue_args_key(queue))])
        self._expires.pop(queue, None)
        self.transport.fanout_queues.pop(queue, None)
        self.transport.subscriptions_changed()
        return int(size)

    # -- exchanges and bindings -------------------------------------------------

    def _meta(self, exchange: str) -> dict[str, Any] | None:
        raw = self.wire.call("HGET", self.layout.meta_key, exchange)
        if not raw:
            return None
        try:
            meta = _loads(raw)
        except ValueError:
            return None
        return meta if isinstance(meta, dict) else None

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        layout = self.layout
        self.wire.run(scripts.DECLARE_EXCHANGE, [layout.meta_key, layout.version_key],
                      [exchange, json.dumps(dict(meta), separators=(",", ":"),
                                            sort_keys=True, default=str)])

    def delete_exchange(self, exchange: str) -> None:
        layout = self.layout
        self.wire.run(scripts.DELETE_EXCHANGE,
                      [layout.binding_key(exchange), layout.version_key, layout.meta_key],
                      [exchange])

    def _member(self, binding: Binding) -> tuple[str, str]:
        meta = self._meta(binding.exchange)
        etype = meta["type"] if meta else "direct"
        return etype, binding_member(etype, binding.routing_key, binding.arguments,
                                     binding.queue, self.layout.sep)

    def bind(self, binding: Binding) -> None:
        layout = self.layout
        etype, member = self._member(binding)
        self.wire.run(scripts.BIND, [layout.binding_key(binding.exchange), layout.version_key,
                                     layout.rindex_key(binding.queue)],
                      [member, binding.exchange])
        if etype == "fanout":
            self.transport.fanout_queues.setdefault(binding.queue, set()).add(
                (binding.exchange, binding.routing_key))
            self.transport.subscriptions_changed()

    def unbind(self, binding: Binding) -> None:
        layout = self.layout
        _etype, member = self._member(binding)
        self.wire.run(scripts.UNBIND, [layout.binding_key(binding.exchange),
                                       layout.version_key], [member])
        bound = self.transport.fanout_queues.get(binding.queue)
        if bound is not None:
            bound.discard((binding.exchange, binding.routing_key))
            if not bound:
                del self.transport.fanout_queues[binding.queue]
            self.transport.subscriptions_changed()

    def route_table(self, exchange: str) -> RouteTable:
        layout = self.layout
        replies = self.wire.pipeline([
            ("MULTI",), ("GET", layout.version_key), ("SMEMBERS", layout.binding_key(exchange)),
            ("HGET", layout.meta_key, exchange), ("EXEC",)])
        result = replies[-1]
        if isinstance(result, Exception):
            raise result
        version, members, meta_raw = result
        meta = None
        if meta_raw:
            try:
                meta = _loads(meta_raw)
            except ValueError:
                meta = None
        etype = meta["type"] if isinstance(meta, dict) else "direct"
        bindings = bindings_from_members(members, exchange, etype, layout.sep)
        return RouteTable((version or b"0", len(members), etype), meta, bindings)

    def route_version(self, exchange: str) -> Hashable | None:
        return None  # put() checks the version itself

    def exchanges(self) -> list[str]:
        names = self.wire.call("HKEYS", self.layout.meta_key) or []
        return sorted(n.decode() if isinstance(n, bytes) else str(n) for n in names)

    # -- messages ---------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        payload = dumps_envelope(envelope).encode("utf-8")
        layout = self.layout
        wire = self.wire
        if version is None:  # the default exchange: straight into the queue
            queue, level = targets[0]
            key: Hashable = (queue, level)
            plan = self._plans.get(key)
            if plan is None:
                if len(self._plans) > 4096:
                    self._plans.clear()
                plan = self._plans[key] = wire.plan(
                    scripts.PUSH, [layout.key_for_level(queue, level)], [], [layout.wake(queue)])
            wire.run_plan(plan, payload, *self._renewals((queue,)))
            return True
        info = envelope["properties"]["delivery_info"]
        exchange = info["exchange"]
        ver, members, etype = cast(tuple[Any, int, str], version)
        if etype == "fanout":
            wire.call("PUBLISH", layout.fanout_topic(exchange, info.get("routing_key", "")),
                      payload)
            return True
        key = (exchange, version, targets)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 4096:
                self._plans.clear()
            plan = self._plans[key] = wire.plan(
                scripts.PUBLISH,
                [layout.version_key, layout.binding_key(exchange),
                 *(layout.key_for_level(q, lvl) for q, lvl in targets)],
                [ver, members], [layout.wake(q) for q, _ in targets])
        return wire.run_plan(plan, payload, *self._renewals({q for q, _ in targets})) != -1

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        fanout = self.transport.fanout_queues
        wanted = [q for q in queues if q not in fanout]
        if not wanted or n <= 0:
            return []
        layout = self.layout
        pairs = layout.steps_for(wanted)
        keys = [key for _, key in pairs]
        if not layout.ack_emulation:
            noack = wanted
        per_key: list[str] = []
        for queue, _ in pairs:
            per_key.append(layout.queue_json(queue))
            per_key.append("1" if queue in noack else "0")
        prefix = f"{self._tag_base}.{next(self._fetch_seq)}."
        reply = self.wire.run(scripts.FETCH, [layout.hkey, layout.zkey, *keys],
                              [n, prefix, *per_key], *self._renewals(wanted))
        out = []
        for pos, i in enumerate(range(0, len(reply), 2), 1):
            queue = pairs[reply[i] - 1][0]
            out.append(Delivery(queue, prefix + str(pos), reply[i + 1], queue not in noack))
        return out

    def ack(self, tags: Sequence[Any]) -> None:
        if len(tags) == 1:  # the hot path: one ack, packed from templates
            tag = tags[0]
            if not str(tag).startswith(PUSHED_PREFIX):
                data = tag.encode() if isinstance(tag, str) else bytes(tag)
                bulk = b"$%d\r\n%b\r\n" % (len(data), data)
                self.wire.send_packed_noreply([self._hdel_one + bulk, self._zrem_one + bulk])
            return
        layout = self.layout
        tags = [t for t in tags if not str(t).startswith(PUSHED_PREFIX)]
        commands = []
        for i in range(0, len(tags), 1000):
            chunk = tags[i:i + 1000]
            commands.append(("HDEL", layout.hkey, *chunk))
            commands.append(("ZREM", layout.zkey, *chunk))
        if commands:
            self.wire.send_noreply(commands)

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        layout = self.layout
        args: list[Any] = []
        for delivery in reversed(deliveries):  # the first given ends up at the head
            tag = str(delivery.tag)
            if not delivery.leased and tag.startswith(PUSHED_PREFIX):
                continue  # a broadcast: at-most-once, as kombu
            payload = delivery.payload
            if isinstance(payload, dict):
                payload = dumps_envelope(payload)
            args += [tag if delivery.leased else "",
                     layout.key_for_level(delivery.queue, delivery.level), payload,
                     layout.wake(delivery.queue)]
        if args:
            self.wire.run(scripts.RESTORE_TAGS, [layout.hkey, layout.zkey], args,
                          *self._renewals({d.queue for d in deliveries}))

    def renew(self, tags: Sequence[Any]) -> None:
        tags = [t for t in tags if not str(t).startswith(PUSHED_PREFIX)]
        if tags:
            self.wire.run(scripts.RENEW, [self.layout.zkey], tags)

    def restore_lapsed(self) -> int:
        layout = self.layout
        scanned, foreign = self.wire.run(
            scripts.RESTORE_EXPIRED, [layout.hkey, layout.zkey],
            [layout.visibility_timeout, layout.restore_limit, layout.gkp, layout.sep,
             layout.steps_csv, layout.wake_prefix])
        for tag in foreign:
            self._restore_foreign(tag)
        return int(scanned)

    def _restore_foreign(self, tag: bytes) -> None:
        """Restore a lapsed entry in kombu's routed form (exchange + routing key)."""
        layout = self.layout
        value = self.wire.call("HGET", layout.hkey, tag)
        if value is None:
            return
        try:
            payload, exchange, routing_key = _loads(value)
            props = payload["properties"]
            props.setdefault("delivery_info", {})["redelivered"] = True
            table = self.route_table(exchange)
            etype = table.meta["type"] if table.meta else "direct"
            queues = _ROUTERS[etype].route(table.bindings, routing_key, payload.get("headers"))
        except Exception as exc:  # unreadable: leave it, say so
            logger.warning("kombu-redis: cannot restore unacked entry %r: %r", tag, exc)
            return
        pairs: list[Any] = []
        for queue in queues:
            pairs += [layout.key_for_priority(queue, props.get("priority", 0)),
                      layout.wake(queue)]
        self.wire.run(scripts.RESTORE_ONE, [layout.hkey, layout.zkey],
                      [tag, layout.visibility_timeout, value, dumps_envelope(payload), *pairs],
                      *self._renewals(queues))

    def close(self) -> None:
        try:
            self.wire.flush()
        except (redis.RedisError, OSError):
            logger.debug("kombu-redis: could not confirm acks on close", exc_info=True)
        finally:
            self.wire.close()
