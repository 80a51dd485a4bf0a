"""Redis transport (``redis://``, ``rediss://``, ``redis+socket://``, ``sentinel://``).

This module also answers ``import kombu.transport.redis``.

Connection URL: ``redis://[user:password@]host[:port][/db][?option=value]``;
the options are transport options (``visibility_timeout``,
``global_keyprefix``, ``ssl_cert_reqs``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kombu.transport import virtual
from kombu.utils.url import maybe_sanitize_url, query_value

from .channel import Channel, Message, QoS
from .channel import Channel as _RedisChannel
from .layout import Layout
from .options import (
    DEFAULT_BUSY_POLL,
    DEFAULT_PORT,
    DEFAULT_SENTINEL_PORT,
    parse_db,
    parse_socket_url,
    redis_py,
    require_redis_py,
)

if TYPE_CHECKING:
    from .storage import RedisStorage
    from .waiter import RedisWaiter
    from .wire import Wire

# redis-py (about 90 ms to import) is imported when the first connection is made,
# not when the transport class is loaded: see RedisErrors and __getattr__ below.

__all__ = (  # noqa: F822  (four names come from .client through __getattr__)
    "Channel",
    "GlobalKeyPrefixMixin",
    "Message",
    "PrefixedRedisPipeline",
    "PrefixedStrictRedis",
    "QoS",
    "SentinelChannel",
    "SentinelTransport",
    "SocketTransport",
    "Transport",
    "get_redis_error_classes",
)

#: Names this module answers (as kombu's kombu.transport.redis) from .client,
#: importing redis-py then.
_FROM_CLIENT = ("GlobalKeyPrefixMixin", "PrefixedRedisPipeline", "PrefixedStrictRedis",
                "get_redis_error_classes")


def __getattr__(name: str) -> Any:
    if name in _FROM_CLIENT:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RedisErrors:
    """``connection_errors`` / ``channel_errors``: redis-py's classes, read on first use.

    Works on the class (``Transport.connection_errors``) and on instances.
    """

    def __init__(self, index: int) -> None:
        self.index = index

    def __get__(self, obj: Any, objtype: Any = None) -> tuple[type[BaseException], ...]:
        from .client import get_redis_error_classes

        return get_redis_error_classes()[self.index]


class StorageClass:
    """``Transport.Storage``: :class:`~.storage.RedisStorage`, imported on first use."""

    def __get__(self, obj: Any, objtype: Any = None) -> type[RedisStorage]:
        from .storage import RedisStorage

        return RedisStorage


class Transport(virtual.Transport):
    """Redis transport."""

    Channel = Channel
    Storage = StorageClass()
    channels: list[_RedisChannel]  # type: ignore[assignment]

    #: Longest wait (seconds) between polls when no wake-up notice comes.
    polling_interval: float | None = 1.0
    default_port = DEFAULT_PORT
    driver_type = "redis"
    driver_name = "redis"
    supports_ev = True
    connection_errors = RedisErrors(0)  # type: ignore[assignment]
    channel_errors = RedisErrors(1)  # type: ignore[assignment]
    implements = virtual.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        message_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
        queue_ttl=True,
    )
    #: Whether the scheme itself asks for TLS (``rediss://``).
    force_ssl = False

    def __init__(self, client: Any, **kwargs: Any) -> None:
        require_redis_py()
        super().__init__(client, **kwargs)
        self.options: dict[str, Any] = dict(getattr(client, "transport_options", None) or {})
        #: queue -> {(exchange, routing_key)}: queues bound to fanout exchanges here.
        self.fanout_queues: dict[str, set[tuple[str, str]]] = {}
        self._pool: Any = None
        self._conn_kwargs: dict[str, Any] | None = None
        self.db = self._db()
        self.layout = Layout(self.Channel, self.options, self.db)

    def _db(self) -> int:
        """The database number (without building the redis-py settings)."""
        return parse_db(self.client.virtual_host)

    # -- connection settings ------------------------------------------------

    @property
    def connect_timeout(self) -> float:
        value = self.options.get("socket_connect_timeout") or getattr(
            self.client, "connect_timeout", None)
        return float(value) if value else 5.0

    @property
    def use_ssl(self) -> bool:
        return self.force_ssl or bool(getattr(self.client, "ssl", False))

    def connparams(self) -> dict[str, Any]:
        """redis-py connection keyword arguments (host, db, password, timeouts, TLS...)."""
        if self._conn_kwargs is None:
            from .client import connection_kwargs

            self._conn_kwargs = connection_kwargs(self.client, self.options,
                                                  use_ssl=self.use_ssl)
        return self._conn_kwargs

    def _make_pool(self) -> Any:
        from .client import filter_kwargs

        kwargs = dict(self.connparams())
        cls = kwargs.pop("connection_class")
        return redis_py().ConnectionPool(connection_class=cls,
                                    max_connections=self.options.get("max_connections", 10),
                                    **filter_kwargs(cls, kwargs))

    @property
    def pool(self) -> Any:
        """The redis-py connection pool of this connection."""
        if self._pool is None:
            self._pool = self._make_pool()
        return self._pool

    def redis_client(self) -> Any:
        return redis_py().Redis(connection_pool=self.pool)

    def _connection_factory(self) -> Callable[[], Any]:
        pool = self.pool
        cls = pool.connection_class
        kwargs = dict(pool.connection_kwargs)
        return lambda: cls(**kwargs)

    def new_wire(self) -> Wire:
        """A connection of its own for one channel's storage (or the lease keeper)."""
        from .client import describe
        from .wire import Wire

        return Wire(self._connection_factory(), describe(self.connparams()),
                    handshake_timeout=self.connect_timeout,
                    socket_timeout=self.options.get("socket_timeout"),
                    busy_poll=float(self.options.get("busy_poll", DEFAULT_BUSY_POLL)))

    def create_waiter(self) -> RedisWaiter:
        from .waiter import RedisWaiter

        return RedisWaiter(self)

    def subscriptions_changed(self) -> None:
        """Bindings to fanout exchanges changed: subscribe anew before the next read."""
        self.consumers_changed()

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else maybe_sanitize_url(uri, mask)

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": self.default_port, "hostname": "localhost"}

    def driver_version(self) -> str:
        return str(redis_py().__version__)

    # -- life cycle ---------------------------------------------------------

    def establish_connection(self) -> Any:
        from .client import explain_connect_error

        try:
            return super().establish_connection()
        except self.connection_errors as exc:
            raise explain_connect_error(exc, self._where()) from exc
        except redis_py().RedisError as exc:
            raise explain_connect_error(exc, self._where()) from exc

    def _where(self) -> str:
        from .client import describe

        return describe(self.connparams())

    def close_connection(self, connection: Any) -> None:
        try:
            super().close_connection(connection)
        finally:
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.disconnect()

    def _collect(self, connection: Any) -> None:
        """Drop everything without talking to Redis (after a connection loss)."""
        try:
            super()._collect(connection)
        finally:
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.disconnect()


class SSLTransport(Transport):
    """``rediss://``: Redis over TLS (``ssl_*`` options from the URL or transport options)."""

    force_ssl = True


class SocketTransport(Transport):
    """``redis+socket:///path/to/redis.sock``: Redis over a unix socket."""

    can_parse_url = True

    def _db(self) -> int:
        return int(self.connparams().get("db", 0))

    def connparams(self) -> dict[str, Any]:
        if self._conn_kwargs is None:
            from .client import connection_kwargs, default_user

            url = self.client.hostname or ""
            parsed = parse_socket_url(url)
            for key, value in parsed["query"].items():
                self.options.setdefault(key, query_value(value))
            kwargs = connection_kwargs(self.client, self.options, use_ssl=False,
                                       socket_path=parsed["path"] or "/tmp/redis.sock")
            kwargs["db"] = parse_db(parsed["db"] or 0)
            kwargs["password"] = parsed["password"] or self.client.password or None
            kwargs["username"] = parsed["username"] or self.client.userid or None
            self._conn_kwargs = default_user(kwargs)
        return self._conn_kwargs


class SentinelChannel(Channel):
    """Channel of :class:`SentinelTransport`."""

    master_name: str | None = None
    min_other_sentinels = 0
    sentinel_kwargs: dict[str, Any] | None = None
    from_transport_options = (*Channel.from_transport_options, "master_name",
                              "min_other_sentinels", "sentinel_kwargs")


class SentinelTransport(Transport):
    """``sentinel://host:26379;sentinel://host2:26379`` with ``master_name``."""

    Channel = SentinelChannel
    default_port = DEFAULT_SENTINEL_PORT

    def _sentinels(self) -> list[tuple[str, int]]:
        from kombu.utils.url import url_to_parts

        hosts: list[tuple[str, int]] = []
        for url in [*(getattr(self.client, "alt", None) or [])]:
            parts = url_to_parts(url)
            if parts.scheme == "sentinel":
                hosts.append((parts.hostname or "127.0.0.1", parts.port or self.default_port))
        if not hosts:
            hosts.append((self.client.hostname or "127.0.0.1",
                          self.client.port or self.default_port))
        return hosts

    def _make_pool(self) -> Any:
        master_name = self.options.get("master_name")
        if not master_name:
            raise ValueError("The sentinel:// transport needs the 'master_name' transport "
                             "option (the name Sentinel monitors the master under).")
        from redis import sentinel as redis_sentinel

        from .client import filter_kwargs

        kwargs = dict(self.connparams())
        cls = kwargs.pop("connection_class")
        for key in ("host", "port"):
            kwargs.pop(key, None)
        managed = redis_sentinel.SentinelManagedSSLConnection if self.use_ssl \
            else redis_sentinel.SentinelManagedConnection
        kwargs = filter_kwargs(cls, kwargs)
        sentinel = redis_sentinel.Sentinel(
            self._sentinels(),
            min_other_sentinels=int(self.options.get("min_other_sentinels", 0)),
            sentinel_kwargs=self.options.get("sentinel_kwargs") or {
                "socket_timeout": self.connect_timeout,
                "socket_connect_timeout": self.connect_timeout},
            **kwargs)
        client = sentinel.master_for(master_name, redis_class=redis_py().Redis,
                                     connection_class=managed)
        return client.connection_pool

    def _where(self) -> str:
        hosts = ", ".join(f"{h}:{p}" for h, p in self._sentinels())
        return (f"redis master {self.options.get('master_name')!r} via sentinel "
                f"{hosts}")
