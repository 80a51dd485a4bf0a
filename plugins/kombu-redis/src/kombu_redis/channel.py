"""The Redis channel: kombu's storage layout, one round trip per operation."""

from __future__ import annotations

import json
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any, NamedTuple

import redis

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.transport.virtual.base import NotFound, next_delivery_tag

from . import scripts
from .client import PrefixedStrictRedis
from .routing import binding_member, priority_step, table_from_members

__all__ = ("Channel", "Message", "QoS", "RedisQoS")

logger = logging.getLogger(__name__)

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads

#: Most messages one fetch moves when no prefetch limit is set.
DEFAULT_FETCH_BATCH = 100
#: Most expired leases one poll restores (it polls again soon for the rest).
DEFAULT_RESTORE_LIMIT = 1000


class _Entry(NamedTuple):
    """A fetched message not yet delivered."""

    queue: str
    tag: str
    raw: bytes
    tracked: bool  # in Redis' unacked set (False: fanout or no-ack)


class _Route(NamedTuple):
    version: bytes
    members: int
    table: Any
    meta: dict[str, Any] | None
    #: (routing key, priority step) -> packed publish command around the payload.
    plans: dict[Any, Any]


class Message(virtual.Message):
    """A message delivered by the Redis transport."""

    __slots__ = ("_tracked",)

    def __init__(self, payload: Any, channel: Any = None, **kwargs: Any) -> None:
        self._tracked = True
        super().__init__(payload, channel=channel, **kwargs)


class RedisQoS(virtual.QoS):
    """Ack emulation: unacked messages live in Redis until acked, under a lease.

    Acks are sent in batches (with the next fetch, or by the lease keeper
    within a fraction of ``visibility_timeout``); until then the message stays
    in ``unacked``, so a crash can only cause a redelivery, never a loss.
    """

    restore_at_shutdown = True

    def __init__(self, channel: Any, prefetch_count: int = 0) -> None:
        super().__init__(channel, prefetch_count)
        self._untracked: set[Any] = set()

    def append(self, message: Any, delivery_tag: Any) -> None:
        self._delivered[delivery_tag] = message

    def ack(self, delivery_tag: Any) -> None:
        if self._delivered.pop(delivery_tag, None) is None:
            return
        if delivery_tag in self._untracked:
            self._untracked.discard(delivery_tag)
        else:
            self.channel._pending_acks.append(delivery_tag)
        self.channel._on_capacity()

    def ack_multiple(self, delivery_tag: Any) -> None:
        delivered = self._delivered
        if delivery_tag not in delivered:
            return
        for tag in list(delivered):
            self.ack(tag)
            if tag == delivery_tag:
                break

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        message = self._delivered.pop(delivery_tag, None)
        if message is None:
            return
        untracked = delivery_tag in self._untracked
        self._untracked.discard(delivery_tag)
        if requeue:
            self.channel._requeue([message], untracked={delivery_tag} if untracked else ())
        elif not untracked:
            self.channel._pending_acks.append(delivery_tag)
        self.channel._on_capacity()

    def restore_unacked(self) -> list[tuple[BaseException, Any]]:
        delivered = self._delivered
        messages = list(delivered.values())
        untracked = set(self._untracked)
        delivered.clear()
        self._untracked.clear()
        if not messages:
            return []
        try:
            self.channel._requeue(messages, untracked=untracked)
        except Exception as exc:
            return [(exc, m) for m in messages]
        return []

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        """Put back messages whose lease expired (any consumer's): runs one poll."""
        self.channel._fetch(0, restore=True)

    # kombu's QoS attributes, read from the channel.
    @property
    def visibility_timeout(self) -> float:
        return self.channel.visibility_timeout

    @property
    def unacked_key(self) -> str:
        return self.channel.unacked_key

    @property
    def unacked_index_key(self) -> str:
        return self.channel.unacked_index_key

    @property
    def unacked_mutex_key(self) -> str:
        return self.channel.unacked_mutex_key

    @property
    def unacked_mutex_expire(self) -> int:
        return self.channel.unacked_mutex_expire


class Channel(virtual.Channel):
    """Redis channel.  Options come from ``Connection.transport_options``."""

    QoS = RedisQoS
    Message = Message  # type: ignore[assignment]

    supports_fanout = True
    ack_emulation = True
    visibility_timeout: float = 3600
    unacked_key = "unacked"
    unacked_index_key = "unacked_index"
    unacked_mutex_key = "unacked_mutex"
    unacked_mutex_expire = 300
    unacked_restore_limit: int | None = None
    fanout_prefix: bool | str = True
    fanout_patterns = True
    global_keyprefix = ""
    sep = "\x06\x16"
    priority_steps: list[int] = [0, 3, 6, 9]
    #: ``'kombu'``: lower numbers first (kombu's Redis order); ``'amqp'``: higher
    #: first; ``'auto'``: higher first for queues declared with ``x-max-priority``
    #: (an AMQP priority queue), kombu's order for the others.
    priority_order = "auto"
    queue_order_strategy = "round_robin"
    keyprefix_queue = "_kombu.binding.%s"
    keyprefix_fanout = "/{db}."
    socket_timeout: float | None = None
    socket_connect_timeout: float | None = None
    socket_keepalive: bool | None = None
    socket_keepalive_options: dict[int, Any] | None = None
    retry_on_timeout: bool | None = None
    max_connections = 10
    health_check_interval = 25
    client_name: str | None = None
    fetch_batch = DEFAULT_FETCH_BATCH
    connection_class: Any = None

    from_transport_options = (
        *virtual.Channel.from_transport_options,
        "sep", "ack_emulation", "unacked_key", "unacked_index_key", "unacked_mutex_key",
        "unacked_mutex_expire", "visibility_timeout", "unacked_restore_limit",
        "fanout_prefix", "fanout_patterns", "global_keyprefix", "socket_timeout",
        "socket_connect_timeout", "socket_keepalive", "socket_keepalive_options",
        "queue_order_strategy", "max_connections", "health_check_interval",
        "retry_on_timeout", "priority_steps", "priority_order", "client_name",
        "fetch_batch",
    )

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.priority_steps = sorted({int(s) for s in self.priority_steps}) or [0]
        if self.queue_order_strategy not in ("round_robin", "sorted", "priority"):
            raise ValueError(
                f"queue_order_strategy must be 'round_robin', 'sorted' or 'priority', "
                f"not {self.queue_order_strategy!r}")
        transport = connection
        self.db = transport.db
        gkp = self.global_keyprefix or ""
        self._gkp = gkp
        self._hkey = gkp + self.unacked_key
        self._zkey = gkp + self.unacked_index_key
        self._version_key = gkp + "_kombu.binding_version"
        self._meta_key = gkp + "_kombu.exchanges"
        self._binding_prefix = gkp + self.keyprefix_queue.replace("%s", "")
        self._wake_prefix = f"{gkp}_kombu.wake/{self.db}."
        self._steps_csv = ",".join(str(s) for s in self.priority_steps)
        if self.priority_order not in ("auto", "kombu", "amqp"):
            raise ValueError(f"priority_order must be 'auto', 'kombu' or 'amqp', "
                             f"not {self.priority_order!r}")
        options = getattr(getattr(transport, "client", None), "transport_options", None) or {}
        #: Filter fanout deliveries by binding key (kombu's fanout_patterns) only
        #: when asked for explicitly; by default fanout ignores routing keys (AMQP).
        self._fanout_filter = bool(options.get("fanout_patterns", False)) \
            and bool(self.fanout_patterns)
        if self.fanout_prefix:
            prefix = self.fanout_prefix if isinstance(self.fanout_prefix, str) \
                else self.keyprefix_fanout
            self._fanout_prefix = gkp + prefix.format(db=self.db)
        else:
            self._fanout_prefix = gkp
        self._wire = transport.new_wire()
        self._routes: dict[str, _Route] = {}
        self._direct_plans: dict[tuple[str, int], Any] = {}
        self._keys: dict[str, tuple[str, ...]] = {}
        self._buffer: deque[_Entry] = deque()
        self._pending_acks: deque[str] = deque()
        self._tag_base = uuid.uuid4().hex[:16]
        self._fetch_seq = count(1)
        self._rotation = 0
        self._noack_queues: set[str] = set()
        self._last_fetch_full = False
        self._client: Any = None
        try:
            self._wire.connect()
            self._wire.call("PING")  # fails now on a server that wants a password
        except BaseException:
            self._wire.close()
            raise

    # -- clients ------------------------------------------------------------

    @property
    def client(self) -> Any:
        """A redis-py client on the connection's pool (keys prefixed with ``global_keyprefix``)."""
        if self._client is None:
            pool = self.connection.pool
            if self._gkp:
                self._client = PrefixedStrictRedis(connection_pool=pool,
                                                   global_keyprefix=self._gkp)
            else:
                self._client = redis.Redis(connection_pool=pool)
        return self._client

    @property
    def pool(self) -> Any:
        return self.connection.pool

    @property
    def qos(self) -> RedisQoS:
        """The acknowledgement state of this channel."""
        qos = self._qos
        if qos is None:
            qos = self._qos = RedisQoS(self)
        return qos  # type: ignore[return-value]

    @property
    def subclient(self) -> Any:
        """The Pub/Sub connection (fanout and wake-up notices) of this connection."""
        return self.connection.poller.pubsub

    @property
    def active_queues(self) -> set[str]:
        """Queues being consumed from (fanout queues excluded)."""
        return {q for q in self._active_queues if q not in self.connection.fanout_queues}

    @property
    def active_fanout_queues(self) -> set[str]:
        return {q for q in self._active_queues if q in self.connection.fanout_queues}

    # -- keys ---------------------------------------------------------------

    def priority(self, n: Any) -> int:
        """The priority step for priority ``n``."""
        return priority_step(n, self.priority_steps)

    def _q_for_pri(self, queue: str, pri: Any) -> str:
        step = self.priority(pri)
        return f"{self._gkp}{queue}{self.sep}{step}" if step else f"{self._gkp}{queue}"

    def _queue_keys(self, queue: str) -> tuple[str, ...]:
        keys = self._keys.get(queue)
        if keys is None:
            gkp, sep = self._gkp, self.sep
            keys = self._keys[queue] = tuple(
                f"{gkp}{queue}{sep}{s}" if s else f"{gkp}{queue}" for s in self.priority_steps)
        return keys

    def _wake(self, queue: str) -> str:
        return self._wake_prefix + queue

    def _binding_key(self, exchange: str) -> str:
        return self._binding_prefix + exchange

    def _fanout_topic(self, exchange: str, routing_key: str = "") -> str:
        if routing_key and self.fanout_patterns:
            return f"{self._fanout_prefix}{exchange}/{routing_key}"
        return f"{self._fanout_prefix}{exchange}"

    # -- exchanges and routing ----------------------------------------------

    def _route(self, exchange: str, refresh: bool = False) -> _Route:
        route = None if refresh else self._routes.get(exchange)
        if route is None:
            replies = self._wire.pipeline([
                ("MULTI",), ("GET", self._version_key),
                ("SMEMBERS", self._binding_key(exchange)),
                ("HGET", self._meta_key, exchange), ("EXEC",)])
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
            local = self.state.exchanges.get(exchange)
            if meta is None and local is not None:
                meta = {k: local[k] for k in ("type", "durable", "auto_delete", "arguments")}
            etype = meta["type"] if meta else "direct"
            table = table_from_members(members, etype, self.sep)
            route = _Route(version or b"0", len(members), table, meta, {})
            self._routes[exchange] = route
        return route

    def _exchange_meta(self, exchange: str) -> dict[str, Any] | None:
        meta = self.state.exchanges.get(exchange)
        if meta is None:
            meta = self._route(exchange).meta
        return meta

    def _declare_exchange(self, exchange: str, type: str, durable: bool, auto_delete: bool,
                          arguments: dict[str, Any] | None) -> None:
        self.state.declare_exchange(exchange, type, durable, auto_delete, arguments)
        meta = _dumps({"type": type, "durable": durable, "auto_delete": auto_delete,
                       "arguments": arguments or {}})
        if self._wire.run(scripts.DECLARE_EXCHANGE, [self._meta_key, self._version_key],
                          [exchange, meta]):
            self._routes.pop(exchange, None)

    def exchange_declare(self, exchange: str | None = None, type: str = "direct",
                         durable: bool = False, auto_delete: bool = False,
                         arguments: dict[str, Any] | None = None, nowait: bool = False,
                         passive: bool = False) -> None:
        """Declare an exchange; the declaration is stored in Redis for every client."""
        type = type or "direct"
        name = exchange or f"amq.{type}"
        if not passive and name not in self.state.exchanges:
            # Another client's declaration does not bind this one: ours is stored.
            self._routes.pop(name, None)
            if type not in self.exchange_types:
                super().exchange_declare(name, type, durable, auto_delete, arguments,
                                         nowait, passive)
            self._declare_exchange(name, type, durable, auto_delete, arguments)
            return
        super().exchange_declare(name, type, durable, auto_delete, arguments, nowait, passive)

    def exchange_delete(self, exchange: str, if_unused: bool = False,
                        nowait: bool = False) -> None:
        """Delete an exchange and all its bindings, for every client."""
        if if_unused and self._route(exchange, refresh=True).members:
            raise virtual.PreconditionFailed(
                f"Exchange {exchange!r} is in use: unbind its queues or delete with "
                f"if_unused=False.")
        self._wire.run(scripts.DELETE_EXCHANGE,
                       [self._binding_key(exchange), self._version_key, self._meta_key],
                       [exchange])
        self.state.delete_exchange(exchange)
        self._routes.pop(exchange, None)

    def get_table(self, exchange: str) -> Any:
        """The bindings of ``exchange`` as ``(routing_key, pattern, queue)`` (read from Redis)."""
        return list(self._route(exchange, refresh=True).table)

    def get_exchanges(self) -> list[str]:
        names = self._wire.call("HKEYS", self._meta_key) or []
        return sorted({*self.state.exchanges, *(n.decode() for n in names)})

    def queue_bind(self, queue: str, exchange: str | None = None, routing_key: str = "",
                   arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Bind ``queue`` to ``exchange``; stored in Redis so every client routes by it."""
        exchange = exchange or "amq.direct"
        meta = self._exchange_meta(exchange)
        if meta is None:
            if not exchange.startswith("amq."):
                raise NotFound(
                    f"Cannot bind queue {queue!r} to exchange {exchange!r}: the exchange "
                    f"does not exist (404 NOT_FOUND). Declare the exchange first.")
            etype = exchange[4:] if exchange[4:] in self.exchange_types else "direct"
            self._declare_exchange(exchange, etype, True, False, None)
            meta = self._exchange_meta(exchange)
        assert meta is not None
        etype = meta["type"]
        member = binding_member(etype, routing_key, arguments, queue, self.sep)
        self._wire.run(scripts.BIND,
                       [self._binding_key(exchange), self._version_key,
                        self._rindex_key(queue)], [member, exchange])
        self.state.binding_declare(queue, exchange, routing_key, arguments)
        if etype == "fanout":
            self.connection.fanout_queues.setdefault(queue, set()).add((exchange, routing_key))
            self.connection.poller.dirty = True
        self._routes.pop(exchange, None)

    def queue_unbind(self, queue: str, exchange: str | None = None, routing_key: str = "",
                     arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        exchange = exchange or "amq.direct"
        meta = self._exchange_meta(exchange)
        etype = meta["type"] if meta else "direct"
        member = binding_member(etype, routing_key, arguments, queue, self.sep)
        self._wire.run(scripts.UNBIND, [self._binding_key(exchange), self._version_key],
                       [member])
        self.state.binding_delete(queue, exchange, routing_key)
        self._routes.pop(exchange, None)
        bindings = self.connection.fanout_queues.get(queue)
        if bindings is not None:
            bindings.discard((exchange, routing_key))
            if not bindings:
                del self.connection.fanout_queues[queue]
            self.connection.poller.dirty = True

    def _rindex_key(self, queue: str) -> str:
        return f"{self._gkp}_kombu.queue_exchanges.{queue}"

    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                     **kwargs: Any) -> int:
        """Delete ``queue``: its messages and every binding to it."""
        if if_empty and self._size(queue):
            return 0
        if if_unused and self._consumer_count(queue):
            return 0
        exchanges = sorted({b.exchange for b in self.state.queue_bindings(queue)})
        size = self._wire.run(
            scripts.DELETE_QUEUE,
            [self._rindex_key(queue), self._version_key, *self._queue_keys(queue)],
            [self._binding_prefix, self.sep, queue, *exchanges])
        self.state.queue_bindings_delete(queue)
        self.state.queue_arguments.pop(queue, None)
        self.connection.fanout_queues.pop(queue, None)
        self._routes.clear()
        return int(size)

    # -- storage hooks ------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        """Queues are created by their first message."""

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        """A queue exists if it holds messages or is bound to an exchange."""
        if queue in self.state.queue_arguments:
            return True
        keys = (*self._queue_keys(queue), self._rindex_key(queue))
        replies = self._wire.pipeline([("EXISTS", k) for k in keys])
        return any(r == 1 for r in replies)

    def _size(self, queue: str) -> int:
        replies = self._wire.pipeline([("LLEN", k) for k in self._queue_keys(queue)])
        return sum(r for r in replies if isinstance(r, int))

    def _purge(self, queue: str) -> int:
        keys = self._queue_keys(queue)
        replies = self._wire.pipeline(
            [("MULTI",), *(("LLEN", k) for k in keys), ("DEL", *keys), ("EXEC",)])
        result = replies[-1]
        if isinstance(result, Exception):
            raise result
        return sum(result[:-1])

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self.queue_delete(queue)

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        priority = message["properties"].get("priority", 0)
        self._wire.run(scripts.PUSH, [self._q_for_pri(queue, priority)],
                       [_dumps(message), self._wake(queue)])

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        entries = self._fetch_from([queue], 1, noack={queue})
        if not entries:
            raise virtual.Empty()
        return _loads(entries[0].raw)

    # -- publishing ---------------------------------------------------------

    def basic_publish(self, message: dict[str, Any], exchange: str, routing_key: str,
                      mandatory: bool = False, immediate: bool = False, **kwargs: Any) -> None:
        """Publish ``message``: returns once Redis has stored it (one round trip)."""
        props = message["properties"]
        props["delivery_info"] = {"exchange": exchange, "routing_key": routing_key}
        props["delivery_tag"] = next_delivery_tag()
        encoding = self.body_encoding
        if encoding:
            message["body"] = self.codecs[encoding].encode(message["body"])
        props["body_encoding"] = encoding
        self._publish_envelope(message, exchange, routing_key, mandatory, **kwargs)

    def _publish_envelope(self, message: dict[str, Any], exchange: str, routing_key: str,
                          mandatory: bool = False, **kwargs: Any) -> None:
        payload = _dumps(message).encode("utf-8")
        step = self.priority(message["properties"].get("priority", 0))
        if not exchange:
            if mandatory and not self._has_queue(routing_key):
                self._unroutable(message, exchange, routing_key)
                return
            plan = self._direct_plans.get((routing_key, step))
            if plan is None:
                if len(self._direct_plans) > 4096:
                    self._direct_plans.clear()
                plan = self._direct_plans[(routing_key, step)] = self._wire.plan(
                    scripts.PUSH, [self._q_for_pri(routing_key, step)], [],
                    [self._wake(routing_key)])
            self._wire.run_plan(plan, payload)
            return
        for _ in range(10):
            route = self._route(exchange)
            meta = route.meta
            if meta is None:
                if exchange.startswith("amq."):
                    self.exchange_declare(exchange, exchange[4:] if exchange[4:] in
                                          self.exchange_types else "direct")
                    continue
                raise NotFound(
                    f"Cannot publish to exchange {exchange!r}: it does not exist "
                    f"(404 NOT_FOUND). Declare the exchange before publishing "
                    f"(e.g. publish(..., declare=[exchange])).")
            etype = meta["type"]
            if etype == "fanout":
                self._wire.call("PUBLISH", self._fanout_topic(exchange, routing_key), payload)
                return
            etype_obj = self.exchange_types[etype]
            plan = route.plans.get((routing_key, step)) if etype_obj.cacheable else None
            if plan is None:
                queues = etype_obj.lookup(route.table, exchange, routing_key,
                                          self.deadletter_queue, headers=message.get("headers"))
                plan = self._wire.plan(
                    scripts.PUBLISH,
                    [self._version_key, self._binding_key(exchange),
                     *(self._q_for_pri(q, step) for q in queues)],
                    [route.version, route.members], [self._wake(q) for q in queues])
                if etype_obj.cacheable:
                    if len(route.plans) > 4096:
                        route.plans.clear()
                    route.plans[(routing_key, step)] = plan
            routed = self._wire.run_plan(plan, payload)
            if routed == -1:  # another client changed the bindings: read them again
                self._routes.pop(exchange, None)
                continue
            if not routed and mandatory:
                self._unroutable(message, exchange, routing_key)
            return
        raise ChannelError(f"Bindings of exchange {exchange!r} keep changing: publish retried "
                           f"10 times without a stable routing table.")

    def _put_fanout(self, exchange: str, message: Any, routing_key: str,
                    **kwargs: Any) -> int | None:
        return self._wire.call("PUBLISH", self._fanout_topic(exchange, routing_key),
                               _dumps(message))

    # -- consuming ----------------------------------------------------------

    def basic_consume(self, queue: str, no_ack: bool, callback: Callable[..., Any],
                      consumer_tag: str, **kwargs: Any) -> str:
        """Start delivering messages of ``queue`` to ``callback``."""
        consumer_tag = consumer_tag or f"ctag-{uuid.uuid4().hex}"
        no_ack = bool(no_ack) or not self.ack_emulation
        self._tag_to_queue[consumer_tag] = queue
        self._active_queues.append(queue)
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
            self._noack_queues.add(queue)
        qos = self.qos

        def _callback(message: Any) -> Any:
            message.delivery_info["consumer_tag"] = consumer_tag
            if not no_ack:
                qos._delivered[message.delivery_tag] = message
                if not message._tracked:
                    qos._untracked.add(message.delivery_tag)
            return callback(message)

        self.connection._callbacks[queue] = _callback
        self._consumers.add(consumer_tag)
        self.state.consumer_added(queue)
        self.connection.consumers_changed()
        return consumer_tag

    def basic_cancel(self, consumer_tag: str) -> None:
        """Stop the consumer; its fetched but undelivered messages go back to Redis."""
        queue = self._tag_to_queue.get(consumer_tag)
        super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._noack_queues.discard(queue)
            try:
                self._give_back(lambda e: e.queue == queue)
            except self.connection.connection_errors:
                # Tracked ones come back when their lease expires.
                logger.debug("kombu-redis: could not give back prefetched messages",
                             exc_info=True)
        self.connection.consumers_changed()

    def basic_get(self, queue: str, no_ack: bool = False, **kwargs: Any) -> Any:
        """Fetch one message of ``queue`` (None if empty); acked like any other."""
        no_ack = no_ack or not self.ack_emulation
        entries = self._fetch_from([queue], 1, noack={queue} if no_ack else set())
        if not entries:
            return None
        message = self._make_message(entries[0])
        if not no_ack:
            self.qos._delivered[message.delivery_tag] = message
        return message

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        self.qos.prefetch_count = prefetch_count or 0

    def _make_message(self, entry: _Entry) -> Any:
        raw = entry.raw
        try:
            payload: Any = _loads(raw)
            payload["properties"]["delivery_tag"] = entry.tag
        except (ValueError, TypeError, KeyError, AttributeError):
            payload = raw
        message = self.Message(payload, channel=self, queue=entry.queue)
        if message.delivery_tag != entry.tag:
            message.delivery_tag = entry.tag
        message._tracked = entry.tracked
        return message

    def _capacity(self) -> int:
        """How many more messages this channel may fetch now."""
        pcount = self.qos.prefetch_count
        if not pcount:
            return max(0, self.fetch_batch - len(self._buffer))
        return max(0, pcount - len(self.qos._delivered) - len(self._buffer))

    def _ordered_queues(self) -> list[str]:
        fanout = self.connection.fanout_queues
        queues = [q for q in dict.fromkeys(self._active_queues) if q not in fanout]
        if len(queues) > 1:
            strategy = self.queue_order_strategy
            if strategy == "sorted":
                queues.sort()
            elif strategy == "round_robin":
                n = self._rotation % len(queues)
                self._rotation += 1
                queues = queues[n:] + queues[:n]
        return queues

    def _fetch(self, n: int | None = None, restore: bool = True) -> int:
        """One round trip: send acks, restore expired leases, fetch up to ``n`` messages."""
        if n is None:
            n = self._capacity() if self._flow_active else 0
        queues = self._ordered_queues() if n else []
        entries = self._fetch_from(queues, n, self._noack_queues, restore=restore)
        self._buffer.extend(entries)
        self._last_fetch_full = bool(n) and len(entries) >= n
        return len(entries)

    def _fetch_from(self, queues: Iterable[str], n: int, noack: set[str],
                    restore: bool = True) -> list[_Entry]:
        keys: list[str] = []
        owners: list[str] = []
        per_key: list[Any] = []
        steps = self.priority_steps
        queues = list(queues)
        orders = [steps[::-1] if self._highest_first(q) else steps for q in queues]
        for pos in range(len(steps)):
            for queue, order in zip(queues, orders, strict=True):
                keys.append(self._q_for_pri(queue, order[pos]))
                owners.append(queue)
                per_key.append(json.dumps(queue))
                per_key.append("1" if queue in noack else "0")
        acks = self._take_acks()
        prefix = f"{self._tag_base}.{next(self._fetch_seq)}."
        limit = (self.unacked_restore_limit or DEFAULT_RESTORE_LIMIT) if restore else 0
        try:
            reply = self._wire.run(
                scripts.FETCH, [self._hkey, self._zkey, *keys],
                [n, prefix, self.visibility_timeout, limit, self._gkp, self.sep,
                 self._steps_csv, self._wake_prefix, len(acks), *acks, *per_key])
        except BaseException:
            self._pending_acks.extendleft(reversed(acks))
            raise
        scanned, foreign = reply[0], reply[1]
        if foreign:
            self._restore_foreign(foreign)
        elif scanned >= limit > 0:
            self.connection.restore_due = True
        entries = []
        for pos, i in enumerate(range(2, len(reply), 2), 1):
            queue = owners[reply[i] - 1]
            entries.append(_Entry(queue, prefix + str(pos), reply[i + 1], queue not in noack))
        return entries

    def _highest_first(self, queue: str) -> bool:
        order = self.priority_order
        if order == "auto":
            args = self.state.queue_arguments.get(queue)
            return bool(args and args.get("x-max-priority"))
        return order == "amqp"

    def _take_acks(self) -> list[str]:
        acks: list[str] = []
        pop = self._pending_acks.popleft
        try:
            while True:
                acks.append(pop())
        except IndexError:
            pass
        return acks

    def flush_acks(self, renew: Iterable[str] = ()) -> None:
        """Send pending acks (and renew the leases of ``renew``) now."""
        acks = self._take_acks()
        renew = list(renew)
        if acks or renew:
            try:
                self._wire.run(scripts.ACK_RENEW, [self._hkey, self._zkey],
                               [len(acks), *acks, *renew])
            except BaseException:
                self._pending_acks.extendleft(reversed(acks))
                raise

    def held_tags(self) -> list[str]:
        """Delivery tags this channel holds in Redis' unacked set (lease to keep)."""
        qos = self._qos
        tags = [e.tag for e in tuple(self._buffer) if e.tracked]
        if isinstance(qos, RedisQoS):
            untracked = set(qos._untracked)
            for _ in range(3):
                try:
                    tags.extend(t for t in tuple(qos._delivered) if t not in untracked)
                    break
                except RuntimeError:  # changed under us by the consumer thread
                    continue
        return tags

    def _on_capacity(self) -> None:
        self.connection.capacity_freed(self)

    # -- restoring ----------------------------------------------------------

    def _requeue(self, messages: list[Any], untracked: Iterable[Any] = ()) -> None:
        """Put delivered messages back at the head of their queues, flagged redelivered."""
        untracked = set(untracked)
        args: list[Any] = []
        for message in reversed(messages):
            raw = message._raw
            if isinstance(raw, dict):
                props = raw.get("properties") or {}
                info = dict(props.get("delivery_info") or {})
                info.pop("consumer_tag", None)
                info["redelivered"] = True
                props = {**props, "delivery_info": info}
                payload = _dumps({**raw, "properties": props})
                priority = props.get("priority", 0)
            else:
                payload, priority = raw, 0
            queue = message._queue or message.delivery_info.get("routing_key", "")
            tag = message.delivery_tag
            args += ["" if tag in untracked else tag, self._q_for_pri(queue, priority),
                     payload, self._wake(queue)]
        if args:
            self._wire.run(scripts.RESTORE_TAGS, [self._hkey, self._zkey], args)

    def _give_back(self, select: Callable[[_Entry], bool] = lambda e: True) -> None:
        """Return fetched, undelivered messages to the head of their queues."""
        keep: list[_Entry] = []
        back: list[_Entry] = []
        for entry in self._buffer:
            (back if select(entry) else keep).append(entry)
        if not back:
            return
        self._buffer = deque(keep)
        args: list[Any] = []
        for entry in reversed(back):
            if entry.tracked:
                try:
                    priority = _loads(entry.raw)["properties"].get("priority", 0)
                except (ValueError, TypeError, KeyError, AttributeError):
                    priority = 0
                args += [entry.tag, self._q_for_pri(entry.queue, priority), entry.raw,
                         self._wake(entry.queue)]
            elif not self._is_fanout_entry(entry):
                args += ["", self._q_for_pri(entry.queue, 0), entry.raw,
                         self._wake(entry.queue)]
        if args:
            self._wire.run(scripts.RESTORE_TAGS, [self._hkey, self._zkey], args)

    def _is_fanout_entry(self, entry: _Entry) -> bool:
        return entry.tag.startswith("fanout.")

    def _restore_foreign(self, tags: list[bytes]) -> None:
        """Restore expired entries in kombu's routed form (exchange + routing key)."""
        for tag in tags:
            value = self._wire.call("HGET", self._hkey, tag)
            if value is None:
                continue
            try:
                payload, exchange, routing_key = _loads(value)
                props = payload["properties"]
                info = props.setdefault("delivery_info", {})
                info["redelivered"] = True
                queues = self._lookup(exchange, routing_key, message=payload)
            except Exception as exc:  # unreadable: leave it, say so
                logger.warning("kombu-redis: cannot restore unacked entry %r: %r", tag, exc)
                continue
            pri = props.get("priority", 0)
            pairs: list[Any] = []
            for q in queues:
                pairs += [self._q_for_pri(q, pri), self._wake(q)]
            self._wire.run(scripts.RESTORE_ONE, [self._hkey, self._zkey],
                           [tag, self.visibility_timeout, value, _dumps(payload), *pairs])

    def _lookup(self, exchange: str, routing_key: str, default: str | None = None,
                message: Any = None) -> list[str]:
        if default is None:
            default = self.deadletter_queue
        if not exchange:
            return [routing_key] if routing_key else ([default] if default else [])
        route = self._route(exchange)
        etype = route.meta["type"] if route.meta else "direct"
        headers = message.get("headers") if isinstance(message, dict) else None
        return self.exchange_types[etype].lookup(route.table, exchange, routing_key, default,
                                                 headers=headers)

    def _restore_raw(self, queue: str, raw: Any) -> None:
        if isinstance(raw, virtual.Message):
            self._requeue([raw], untracked=self.qos._untracked)
        else:
            super()._restore_raw(queue, raw)

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Cancel consumers, send pending acks and give unacked messages back."""
        if self.closed:
            return
        try:
            self.flush_acks()
        except Exception:
            logger.debug("kombu-redis: could not flush acks on close", exc_info=True)
        try:
            super().close()
        finally:
            self._buffer.clear()
            self._wire.close()


#: kombu's name for the Redis ack emulation.
QoS = RedisQoS
