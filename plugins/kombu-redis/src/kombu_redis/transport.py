"""Redis transport (``redis://``, ``rediss://``, ``redis+socket://``, ``sentinel://``).

This module also answers ``import kombu.transport.redis``.

Connection URL: ``redis://[user:password@]host[:port][/db][?option=value]``;
the options are transport options (``visibility_timeout``,
``global_keyprefix``, ``ssl_cert_reqs``, ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

try:
    import redis
    from redis import sentinel as redis_sentinel
except ImportError as exc:  # pragma: no cover - exercised by the packaging tests
    raise ImportError(
        "The Redis transport needs the redis-py client library, which is not installed "
        "(or failed to import). Install it with: pip install 'kombu-core[redis]'") from exc

from kombu.transport import virtual
from kombu.utils.url import maybe_sanitize_url, query_value

from .channel import Channel, Message, QoS
from .channel import Channel as _RedisChannel
from .client import (
    DEFAULT_PORT,
    DEFAULT_SENTINEL_PORT,
    GlobalKeyPrefixMixin,
    PrefixedRedisPipeline,
    PrefixedStrictRedis,
    connection_kwargs,
    describe,
    explain_connect_error,
    filter_kwargs,
    get_redis_error_classes,
    parse_db,
    parse_socket_url,
)
from .lease import LeaseKeeper
from .poller import Poller
from .resp import Wire

__all__ = (
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

_connection_errors, _channel_errors = get_redis_error_classes()


class Transport(virtual.Transport):
    """Redis transport."""

    Channel = Channel
    channels: list[_RedisChannel]  # type: ignore[assignment]

    #: Longest wait (seconds) between polls when no wake-up notice comes.
    polling_interval: float | None = 1.0
    default_port = DEFAULT_PORT
    driver_type = "redis"
    driver_name = "redis"
    supports_ev = True
    connection_errors = _connection_errors
    channel_errors = _channel_errors
    implements = virtual.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
    )
    #: Whether the scheme itself asks for TLS (``rediss://``).
    force_ssl = False

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.options: dict[str, Any] = dict(getattr(client, "transport_options", None) or {})
        self.fanout_queues: dict[str, set[tuple[str, str]]] = {}
        self.restore_due = False
        self._pool: Any = None
        self._conn_kwargs: dict[str, Any] | None = None
        self.poller = Poller(self)
        self._lease: LeaseKeeper | None = None
        self._loop: Any = None
        self._tick: Any = None
        self._loop_fd: int | None = None
        self._drain_scheduled = False
        self._next_restore = 0.0
        self.db = self.connparams().get("db", 0)

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
            self._conn_kwargs = connection_kwargs(self.client, self.options,
                                                  use_ssl=self.use_ssl)
        return self._conn_kwargs

    def _make_pool(self) -> Any:
        kwargs = dict(self.connparams())
        cls = kwargs.pop("connection_class")
        return redis.ConnectionPool(connection_class=cls,
                                    max_connections=self.options.get("max_connections", 10),
                                    **filter_kwargs(cls, kwargs))

    @property
    def pool(self) -> Any:
        """The redis-py connection pool of this connection."""
        if self._pool is None:
            self._pool = self._make_pool()
        return self._pool

    def redis_client(self) -> Any:
        return redis.Redis(connection_pool=self.pool)

    def _connection_factory(self) -> Callable[[], Any]:
        pool = self.pool
        cls = pool.connection_class
        kwargs = dict(pool.connection_kwargs)
        # Handshake (AUTH, SELECT, ...) must not hang on a server that never answers.
        kwargs["socket_timeout"] = self.connect_timeout
        return lambda: cls(**kwargs)

    def new_wire(self) -> Wire:
        """A raw connection for one channel (or the lease keeper)."""
        return Wire(self._connection_factory(), self.options.get("socket_timeout"),
                    describe(self.connparams()))

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else maybe_sanitize_url(uri, mask)

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": self.default_port, "hostname": "localhost"}

    def driver_version(self) -> str:
        return str(redis.__version__)

    # -- life cycle ---------------------------------------------------------

    def establish_connection(self) -> Any:
        try:
            return super().establish_connection()
        except self.connection_errors as exc:
            raise explain_connect_error(exc, self._where()) from exc
        except redis.RedisError as exc:
            raise explain_connect_error(exc, self._where()) from exc

    def _where(self) -> str:
        return describe(self.connparams())

    def close_connection(self, connection: Any) -> None:
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.stop()
        if self._loop is not None:
            self.unregister_from_event_loop(connection, self._loop)
        try:
            super().close_connection(connection)
        finally:
            self.poller.close()
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.disconnect()

    def _collect(self, connection: Any) -> None:
        """Drop everything without talking to Redis (after a connection loss)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            lease.stop()
        for channel in [*self.channels, *self._avail_channels]:
            channel.closed = True
            wire = getattr(channel, "_wire", None)
            if wire is not None:
                wire.close()
        self.channels.clear()
        self._avail_channels.clear()
        self.poller.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.disconnect()

    def consumers_changed(self) -> None:
        self.poller.dirty = True
        if self._lease is None and any(c._consumers for c in self.channels):
            vt = float(self.options.get("visibility_timeout", Channel.visibility_timeout))
            self._lease = LeaseKeeper(self, max(0.05, vt / 4.0))
            self._lease.start()

    def capacity_freed(self, channel: Any) -> None:
        if self._loop is not None and not self._drain_scheduled and (
                channel._last_fetch_full or channel._buffer):
            self._drain_scheduled = True
            self._loop.call_soon(self._async_drain)

    # -- draining -----------------------------------------------------------

    def _deliver(self, message: Any, queue: str) -> None:
        callback = self._callbacks.get(queue)
        if callback is None:
            if getattr(message, "_tracked", False):
                message.channel._requeue([message])
            return
        callback(message)

    def _deliver_ready(self, limit: int) -> int:
        delivered = 0
        for channel in list(self.channels):
            buffer = channel._buffer
            if not buffer or channel.closed or not channel._flow_active:
                continue
            qos = channel.qos
            make = channel._make_message
            deliver = self._deliver
            while buffer and delivered < limit and not channel.closed:
                entry = buffer[0]
                if not entry.tracked and entry.tag.startswith("fanout.") \
                        and not qos.can_consume():
                    break
                buffer.popleft()
                deliver(make(entry), entry.queue)
                delivered += 1
        return delivered

    def _fetch_all(self, force_restore: bool = False) -> int:
        fetched = 0
        now = time.monotonic()
        restore = force_restore or self.restore_due or now >= self._next_restore
        for channel in list(self.channels):
            if channel.closed or not channel._consumers:
                continue
            n = channel._capacity() if channel._flow_active else 0
            if n or restore:
                fetched += channel._fetch(n, restore=True)
                if restore:
                    self.restore_due = False
                    self._next_restore = now + 1.0
                    restore = False
        return fetched

    def _flush_acks(self) -> None:
        for channel in list(self.channels):
            if channel._pending_acks and not channel.closed:
                channel.flush_acks()

    def drain_events(self, connection: Any, timeout: float | None = None,
                     **kwargs: Any) -> None:
        """Deliver ready messages to consumers; ``socket.timeout`` if none came in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = self.poller
        batch = self.drain_batch_size
        while True:
            if poller.dirty:
                poller.update()
            if self._deliver_ready(batch):
                return
            if self._fetch_all():
                continue
            self._flush_acks()
            if poller.read(0) and self._deliver_ready(batch):
                return
            wait = self.polling_interval or 1.0
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
                wait = min(wait, remaining)
            poller.read(wait)

    # -- event loop ---------------------------------------------------------

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Let a kombu Hub drive this connection (Pub/Sub socket + a poll timer)."""
        self._loop = loop
        self.poller.update()
        self._sync_reader()
        self._tick = loop.call_repeatedly(self.polling_interval or 1.0, self._on_tick)
        self._drain_scheduled = True
        loop.call_soon(self._async_drain)

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        if self._loop_fd is not None:
            try:
                loop.remove_reader(self._loop_fd)
            except Exception:
                pass
        tick, self._tick = self._tick, None
        if tick is not None:
            cancel = getattr(tick, "cancel", None)
            if cancel is not None:
                cancel()
        self._loop = None
        self._loop_fd = None

    def _sync_reader(self) -> None:
        loop = self._loop
        fd = self.poller.fileno()
        if loop is None or fd == self._loop_fd:
            return
        if self._loop_fd is not None:
            try:
                loop.remove_reader(self._loop_fd)
            except Exception:
                pass
        self._loop_fd = fd
        if fd is not None:
            loop.add_reader(fd, self.on_readable, fd)

    def on_readable(self, *args: Any) -> None:
        """The Pub/Sub socket is readable: handle notices and deliver what is ready."""
        self.poller.read(0)
        self._async_drain()

    def _on_tick(self) -> None:
        self._async_drain(force_restore=False)

    def _async_drain(self, force_restore: bool = False) -> None:
        self._drain_scheduled = False
        if self._loop is None:
            return
        if self.poller.dirty:
            self.poller.update()
            self._sync_reader()
        batch = self.drain_batch_size
        delivered = self._deliver_ready(batch)
        if delivered < batch and self._fetch_all(force_restore):
            delivered += self._deliver_ready(batch - delivered)
        self._flush_acks()
        more = any(c._buffer and c._flow_active for c in self.channels) or any(
            c._last_fetch_full and c._capacity() for c in self.channels if c._consumers)
        if more and not self._drain_scheduled and self._loop is not None:
            self._drain_scheduled = True
            self._loop.call_soon(self._async_drain)


class SSLTransport(Transport):
    """``rediss://``: Redis over TLS (``ssl_*`` options from the URL or transport options)."""

    force_ssl = True


class SocketTransport(Transport):
    """``redis+socket:///path/to/redis.sock``: Redis over a unix socket."""

    can_parse_url = True

    def connparams(self) -> dict[str, Any]:
        if self._conn_kwargs is None:
            url = self.client.hostname or ""
            parsed = parse_socket_url(url)
            for key, value in parsed["query"].items():
                self.options.setdefault(key, query_value(value))
            kwargs = connection_kwargs(self.client, self.options, use_ssl=False,
                                       socket_path=parsed["path"] or "/tmp/redis.sock")
            kwargs["db"] = parse_db(parsed["db"] or 0)
            kwargs["password"] = parsed["password"] or self.client.password or None
            kwargs["username"] = parsed["username"] or self.client.userid or None
            self._conn_kwargs = kwargs
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
        client = sentinel.master_for(master_name, redis_class=redis.Redis,
                                     connection_class=managed)
        return client.connection_pool

    def _where(self) -> str:
        hosts = ", ".join(f"{h}:{p}" for h, p in self._sentinels())
        return (f"redis master {self.options.get('master_name')!r} via sentinel "
                f"{hosts}")
