"""The Redis channel: kombu's options and attributes on the emulated broker's engine.

Everything a channel does (routing, prefetch, acks, leases, dead letters) is
the engine's; the Redis specifics are in :mod:`.storage` (the storage
contract), :mod:`.waiter` (Pub/Sub) and :mod:`.layout` (key names).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kombu.transport import virtual

from .routing import priority_step

if TYPE_CHECKING:
    from .storage import RedisStorage

__all__ = ("Channel", "Message", "QoS", "RedisQoS")

logger = logging.getLogger(__name__)

#: Most messages one fetch moves when no prefetch limit is set.
DEFAULT_FETCH_BATCH = 100
#: Default lease (seconds): a dead consumer's messages are back within about
#: two minutes; a live one renews every 30 s, so it keeps them through 90 s
#: without a successful renewal (a Redis failover, a long GIL-holding call).
DEFAULT_VISIBILITY_TIMEOUT = 120.0


class Message(virtual.Message):
    """A message delivered by the Redis transport."""


class RedisQoS(virtual.QoS):
    """Acknowledgement emulation: unacked messages live in Redis, under a lease.

    An ack is written to Redis before it returns; a message whose consumer
    stopped renewing its lease (it died, froze or lost Redis) goes back to
    its queue after ``visibility_timeout``.
    """

    def restore_visible(self, start: int = 0, num: int = 10, interval: int = 10) -> None:
        """Put back messages whose lease lapsed (any consumer's)."""
        self.channel.storage.restore_lapsed()

    # kombu's QoS attributes, read from the channel.
    @property
    def visibility_timeout(self) -> float:
        return float(self.channel.visibility_timeout)

    @property
    def unacked_key(self) -> str:
        return str(self.channel.unacked_key)

    @property
    def unacked_index_key(self) -> str:
        return str(self.channel.unacked_index_key)

    @property
    def unacked_mutex_key(self) -> str:
        return str(self.channel.unacked_mutex_key)

    @property
    def unacked_mutex_expire(self) -> int:
        return int(self.channel.unacked_mutex_expire)


class Channel(virtual.Channel):
    """Redis channel.  Options come from ``Connection.transport_options``."""

    QoS = RedisQoS
    Message = Message  # type: ignore[assignment]

    #: kombu clients sharing the Redis read the delivery tag from the message.
    stamp_delivery_tag = True
    ack_emulation = True
    #: Seconds an unacked message's lease lasts without renewal: a consumer that
    #: died or froze gets its messages redelivered this long after its last renewal.
    #: A live consumer renews every quarter of it (a thread, however long the task
    #: runs), so it bounds the renewal period, not the task.  kombu: 3600.
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
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
    #: ``'kombu'`` (the default, kombu's Redis order): lower numbers first, 0 the
    #: most urgent, in every queue; ``'amqp'``: higher first; ``'auto'``: higher
    #: first for queues declared with ``x-max-priority``, kombu's order elsewhere.
    priority_order = "kombu"
    #: Priorities work in every queue (kombu's Redis transport: 0..9).
    default_max_priority = 9
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
        "max_connections", "health_check_interval",
        "retry_on_timeout", "priority_steps", "priority_order", "client_name",
        "fetch_batch",
    )

    storage: RedisStorage

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.priority_steps = sorted({int(s) for s in self.priority_steps}) or [0]
        self.db = connection.db
        self._client: Any = None

    # -- kombu's attributes -----------------------------------------------------

    @property
    def client(self) -> Any:
        """A redis-py client on the connection's pool (keys prefixed with ``global_keyprefix``)."""
        if self._client is None:
            from .client import PrefixedStrictRedis

            pool = self.connection.pool
            gkp = self.connection.layout.gkp
            if gkp:
                self._client = PrefixedStrictRedis(connection_pool=pool, global_keyprefix=gkp)
            else:
                self._client = self.connection.redis_client()
        return self._client

    @property
    def pool(self) -> Any:
        return self.connection.pool

    @property
    def subclient(self) -> Any:
        """The Pub/Sub connection (fanout and wake-up notices) of this connection."""
        return self.connection.waiter.pubsub

    @property
    def active_queues(self) -> set[str]:
        """Queues being consumed from (fanout queues excluded)."""
        return {q for q in self.consuming_queues if q not in self.connection.fanout_queues}

    @property
    def active_fanout_queues(self) -> set[str]:
        return {q for q in self.consuming_queues if q in self.connection.fanout_queues}

    def priority(self, n: Any) -> int:
        """The priority step for priority ``n``."""
        return priority_step(n, self.priority_steps)

    def _q_for_pri(self, queue: str, pri: Any) -> str:
        return self.connection.layout.key_for_priority(queue, pri)

    def flush_acks(self) -> None:
        """Make sure every ack written so far is confirmed by Redis."""
        self.storage.wire.flush()


#: kombu's name for the Redis ack emulation.
QoS = RedisQoS
