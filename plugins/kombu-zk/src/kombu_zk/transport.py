"""ZooKeeper transport (``zookeeper://``, ``zk://``) over kazoo.

This module also answers ``import kombu.transport.zookeeper``.

Connection URL: ``zookeeper://[user:password@]host[:port][,host[:port]...][/chroot]``:
several hosts form the ensemble; the path is the root of every znode this
transport writes (kombu's "virtual host").  Transport options:
``session_timeout`` (seconds, the lease), ``connect_timeout``,
``polling_interval``, ``randomize_hosts``, ``max_message_size``.
"""

from __future__ import annotations

import threading
from typing import Any

from kombu.exceptions import ConnectionError as KombuConnectionError
from kombu.transport import virtual

try:
    import kazoo.version
    from kazoo import exceptions as kex
    from kazoo.client import KazooClient
    from kazoo.handlers.threading import KazooTimeoutError
except ImportError as exc:  # pragma: no cover - exercised without kazoo installed
    raise ImportError("The ZooKeeper transport needs kazoo: "
                      "pip install 'kombu-core[zk]' (or: pip install kazoo)") from exc

from .channel import Channel, Message
from .layout import Layout
from .routes import RouteVersions
from .storage import MessageTooLarge, ZooKeeperStorage
from .waiter import ZooKeeperWaiter

__all__ = ("Channel", "Message", "MessageTooLarge", "Transport", "ZooKeeperUnreachable")

#: ZooKeeper's client port.
DEFAULT_PORT = 2181
#: Default session timeout (seconds): a dead consumer's messages are back this long
#: after its last heartbeat.  kazoo pings every third of it.
DEFAULT_SESSION_TIMEOUT = 10.0
#: Default seconds to wait for the first server to answer.
DEFAULT_CONNECT_TIMEOUT = 10.0
#: Largest stored message (bytes): ZooKeeper's jute.maxbuffer defaults to 1 MiB
#: (1048575 bytes) for a whole request; this leaves room for its path and framing.
DEFAULT_MAX_MESSAGE_SIZE = 1_000_000


class ZooKeeperUnreachable(KombuConnectionError):
    """No ZooKeeper server answered within the connect timeout."""


_Errors = tuple[type[BaseException], ...]


def _error_classes() -> tuple[_Errors, _Errors]:
    connection = (*virtual.Transport.connection_errors, ZooKeeperUnreachable,
                  KazooTimeoutError, kex.ConnectionLoss, kex.ConnectionClosedError,
                  kex.SessionExpiredError, kex.ZookeeperStoppedError, kex.OperationTimeoutError)
    channel = (*virtual.Transport.channel_errors, kex.NoAuthError, kex.AuthFailedError,
               kex.BadArgumentsError, kex.MarshallingError)
    return connection, channel


_CONNECTION_ERRORS, _CHANNEL_ERRORS = _error_classes()


def hosts_of(hostname: str | None, port: int | None) -> str:
    """kazoo's host list from the URL's host (or host list) and port."""
    if hostname and "," in hostname:
        hosts = [h.strip() for h in hostname.split(",") if h.strip()]
        return ",".join(h if h.rpartition(":")[2].isdigit() and not h.endswith("]")
                        else f"{h}:{port or DEFAULT_PORT}" for h in hosts)
    return f"{hostname or '127.0.0.1'}:{port or DEFAULT_PORT}"


class Transport(virtual.Transport):
    """ZooKeeper transport."""

    Channel = Channel
    Storage = ZooKeeperStorage
    polling_interval: float | None = 1.0
    default_port = DEFAULT_PORT
    driver_type = "zookeeper"
    driver_name = "kazoo"
    connection_errors = _CONNECTION_ERRORS
    channel_errors = _CHANNEL_ERRORS
    max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE
    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        message_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
        queue_ttl=False,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        options = dict(getattr(client, "transport_options", None) or {})
        self.options = options
        # The lease is the session: visibility_timeout (the project's name for a
        # lease) is accepted for it too.
        lease = options.get("session_timeout") or options.get("visibility_timeout")
        self.session_timeout = float(lease or DEFAULT_SESSION_TIMEOUT)
        connect = options.get("connect_timeout") or getattr(client, "connect_timeout", None)
        self.connect_timeout = float(connect) if connect else DEFAULT_CONNECT_TIMEOUT
        self.randomize_hosts = bool(options.get("randomize_hosts", True))
        if "max_message_size" in options:
            size = options["max_message_size"]
            self.max_message_size = int(size) if size else None
        self.hosts = hosts_of(client.hostname, client.port)
        self.layout = Layout(client.virtual_host or "")
        self._zk: Any = None
        self._zk_lock = threading.Lock()
        #: Route versions kept current by watches (see :mod:`.routes`).
        self.routes = RouteVersions()

    # -- the kazoo client (one per connection: its session holds the leases) ----

    def zk_client(self) -> Any:
        zk = self._zk
        if zk is not None:
            return zk
        with self._zk_lock:
            if self._zk is None:
                self._zk = self._connect()
            return self._zk

    def _connect(self) -> Any:
        client = self.client
        auth = None
        if client.userid:
            auth = [("digest", f"{client.userid}:{client.password or ''}")]
        zk = KazooClient(hosts=self.hosts, timeout=self.session_timeout, auth_data=auth,
                         randomize_hosts=self.randomize_hosts,
                         connection_retry={"max_tries": -1, "max_delay": 2.0})
        try:
            zk.start(timeout=self.connect_timeout)
        except KazooTimeoutError:
            zk.stop()
            zk.close()
            raise ZooKeeperUnreachable(
                f"No ZooKeeper server answered at {self.hosts} within "
                f"{self.connect_timeout:g}s (connect_timeout): is it running and reachable?"
            ) from None
        except Exception:
            zk.stop()
            zk.close()
            raise
        return zk

    def _drop_client(self) -> None:
        self.routes.forget_all()
        with self._zk_lock:
            zk, self._zk = self._zk, None
        if zk is not None:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass

    def establish_connection(self) -> Transport:
        self.zk_client()
        super().establish_connection()
        return self

    def close_connection(self, connection: Any) -> None:
        try:
            super().close_connection(connection)
        finally:
            self._drop_client()

    def _collect(self, connection: Any) -> None:
        super()._collect(connection)
        self._drop_client()

    def create_waiter(self) -> ZooKeeperWaiter:
        return ZooKeeperWaiter(self)

    def verify_connection(self, connection: Any) -> bool:
        zk = self._zk
        return zk is not None and bool(zk.connected)

    def driver_version(self) -> str:
        return str(kazoo.version.__version__)
