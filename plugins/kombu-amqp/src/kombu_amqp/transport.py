"""The AMQP 0-9-1 transport over py-amqp: RabbitMQ's features, natively.

Nothing here is emulated: every channel method is py-amqp's own, so
exchange-to-exchange bindings, queue arguments (TTL, expiry, length limits,
priorities, dead-lettering, quorum and stream queues), consumer priorities,
publisher confirms, returned messages, heartbeats and TLS behave exactly as
the broker defines them.  The kombu layer adds two thin adapters,
:meth:`Channel.prepare_message` and :meth:`Channel.message_to_python`.

Transport options (``Connection(transport_options={...})``) are handed to
:class:`amqp.Connection`: ``confirm_publish``, ``read_timeout``,
``write_timeout``, ``socket_settings``, ``channel_max``, ``frame_max``,
``client_properties``, ``locale``, ``on_blocked``/``on_unblocked``, ...
"""

from __future__ import annotations

import math
import ssl as _ssl
from collections.abc import Mapping
from typing import Any

try:
    import amqp  # type: ignore[import-untyped]
    from amqp import sasl  # type: ignore[import-untyped]
    from amqp import transport as _amqp_transport  # type: ignore[import-untyped]
except ImportError as exc:  # pragma: no cover - exercised by packaging tests
    raise ImportError(
        "The AMQP transport (kombu-amqp) needs the py-amqp client library, which is "
        "not installed. Install it with: pip install 'kombu-core[amqp]'"
    ) from exc

from kombu.transport import base

from .channel import Channel, Message

__all__ = (
    "DEFAULT_PORT",
    "DEFAULT_SSL_PORT",
    "Channel",
    "Connection",
    "Message",
    "SSLTransport",
    "Transport",
)

DEFAULT_PORT = 5672
DEFAULT_SSL_PORT = 5671

#: ``transport_options`` kombu-core itself reads: never passed to py-amqp.
KOMBU_OPTIONS = frozenset({
    "max_retries",
    "interval_start",
    "interval_step",
    "interval_max",
    "connect_retries_timeout",
    "polling_interval",
})


class ContextSSLTransport(_amqp_transport.SSLTransport):
    """py-amqp's TLS socket transport, wrapping with a ready :class:`ssl.SSLContext`."""

    def __init__(self, host: str, connect_timeout: float | None = None,
                 context: _ssl.SSLContext | None = None,
                 server_hostname: str | None = None, **kwargs: Any) -> None:
        super().__init__(host, connect_timeout=connect_timeout, ssl={}, **kwargs)
        self.context = context
        self.server_hostname = server_hostname

    def _wrap_socket(self, sock: Any, context: Any = None, **sslopts: Any) -> Any:
        assert self.context is not None
        return self.context.wrap_socket(
            sock, server_hostname=self.server_hostname or self.host,
            do_handshake_on_connect=False,
        )


class Connection(amqp.Connection):
    """A py-amqp connection that opens kombu :class:`Channel` objects.

    ``ssl`` may also be an :class:`ssl.SSLContext`, used as it is.
    """

    Channel = Channel
    #: The :class:`kombu.Connection` this connection belongs to.
    client: Any = None

    def __init__(self, *args: Any, channel_max: int | None = None,
                 frame_max: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, channel_max=channel_max, frame_max=frame_max, **kwargs)
        self._wanted_limits = (channel_max, frame_max)

    def _on_tune(self, channel_max: int, frame_max: int, server_heartbeat: int,
                 argsig: str = "BlB") -> Any:
        # py-amqp takes the broker's limits as they are; honour lower ones asked
        # for in transport_options (the spec lets the client lower both).
        wanted_channels, wanted_frame = self._wanted_limits
        if wanted_channels:
            channel_max = min(channel_max or wanted_channels, wanted_channels)
        if wanted_frame:
            frame_max = min(frame_max or wanted_frame, wanted_frame)
        return super()._on_tune(channel_max, frame_max, server_heartbeat, argsig)

    def Transport(self, host: str, connect_timeout: float | None, ssl: Any = False,
                  read_timeout: float | None = None, write_timeout: float | None = None,
                  socket_settings: Mapping[int, int] | None = None, **kwargs: Any) -> Any:
        if isinstance(ssl, _ssl.SSLContext):
            return ContextSSLTransport(
                host, connect_timeout=connect_timeout, context=ssl,
                read_timeout=read_timeout, write_timeout=write_timeout,
                socket_settings=socket_settings, **kwargs,
            )
        return super().Transport(
            host, connect_timeout, ssl=ssl, read_timeout=read_timeout,
            write_timeout=write_timeout, socket_settings=socket_settings, **kwargs,
        )


def _host_port(hostname: str, port: int) -> str:
    if ":" in hostname and not hostname.startswith("["):
        hostname = f"[{hostname}]"  # a bare IPv6 address
    return f"{hostname}:{port}"


def _version_tuple(text: Any) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in str(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


class Transport(base.Transport):
    """AMQP 0-9-1 over py-amqp (``amqp://``, ``pyamqp://``)."""

    Connection = Connection

    default_port: int = DEFAULT_PORT
    default_ssl_port: int = DEFAULT_SSL_PORT
    #: TLS is used even when the kombu Connection does not ask for it.
    ssl_by_default = False

    connection_errors = amqp.Connection.connection_errors
    channel_errors = amqp.Connection.channel_errors
    recoverable_connection_errors = amqp.Connection.recoverable_connection_errors
    recoverable_channel_errors = amqp.Connection.recoverable_channel_errors

    driver_type = "amqp"
    driver_name = "py-amqp"
    supports_ev = True
    supports_heartbeats = True

    implements = base.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=True,
        priority=True,
        message_ttl=True,
        queue_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        # RabbitMQ requeues what a connection held when it dies; heartbeats
        # notice a frozen one.
        leases=True,
        # kombu.aio runs natively on the event loop (kombu_amqp.aio, over aiormq).
        asyncio=True,
    )
    #: The native kombu.aio side (imported only when kombu.aio is used).
    AsyncTransport = "kombu_amqp.aio:AsyncTransport"

    def __init__(self, client: Any, default_port: int | None = None,
                 default_ssl_port: int | None = None, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        if default_port:
            self.default_port = default_port
        if default_ssl_port:
            self.default_ssl_port = default_ssl_port

    # -- connections ----------------------------------------------------------

    def _use_ssl(self) -> Any:
        value = getattr(self.client, "ssl", None)
        return value or self.ssl_by_default

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {
            "userid": "guest",
            "password": "guest",
            "port": self.default_ssl_port if self._use_ssl() else self.default_port,
            "hostname": "localhost",
        }

    @staticmethod
    def _ssl_options(value: Any, hostname: str) -> Any:
        """py-amqp's ``ssl`` argument: False, an SSLContext, or a dict of options.

        ``ssl=True`` verifies the broker's certificate *and* hostname; a dict
        whose ``server_hostname`` is None gets the host being connected to
        (so failover across TLS brokers checks each one's name).
        """
        if not value:
            return False
        if isinstance(value, _ssl.SSLContext):
            return value
        if isinstance(value, Mapping):
            opts = dict(value)
            if "server_hostname" in opts and opts["server_hostname"] is None:
                opts["server_hostname"] = hostname
            return opts
        return {"server_hostname": hostname}

    def connection_options(self) -> dict[str, Any]:
        """Keyword arguments for :class:`amqp.Connection`, from the kombu Connection."""
        conninfo = self.client
        defaults = self.default_connection_params
        hostname = conninfo.hostname or defaults["hostname"]
        port = conninfo.port or defaults["port"]
        userid = conninfo.userid or defaults["userid"]
        password = conninfo.password if conninfo.password is not None else defaults["password"]
        options = conninfo.transport_options or {}
        opts: dict[str, Any] = {
            "host": _host_port(hostname, port),
            "userid": userid,
            "password": password,
            "virtual_host": conninfo.virtual_host or "/",
            "ssl": self._ssl_options(self._use_ssl(), hostname),
            "connect_timeout": conninfo.connect_timeout,
            "heartbeat": math.ceil(conninfo.heartbeat or 0),
        }
        for key, value in options.items():
            if key not in KOMBU_OPTIONS:
                opts[key] = value
        login_method = conninfo.login_method or opts.pop("login_method", None)
        if login_method:
            opts["login_method"] = login_method.upper()
        elif not opts.get("authentication"):
            # RabbitMQ's own mechanisms first; EXTERNAL (client certificate)
            # only when the broker offers neither.
            opts["authentication"] = (
                sasl.AMQPLAIN(userid, password),
                sasl.PLAIN(userid, password),
                sasl.EXTERNAL(),
            )
        return opts

    def establish_connection(self) -> amqp.Connection:
        """Connect (TCP, TLS, AMQP handshake) within ``connect_timeout``."""
        conn = self.Connection(**self.connection_options())
        conn.client = self.client
        conn.connect()
        return conn

    def close_connection(self, connection: amqp.Connection) -> None:
        """Close the connection (the broker requeues its unacked messages)."""
        connection.client = None
        connection.close()

    def _collect(self, connection: amqp.Connection | None) -> None:
        """Drop a connection without talking to the broker (after fork or loss)."""
        if connection is not None:
            connection.client = None
            connection.collect()

    def verify_connection(self, connection: amqp.Connection) -> bool:
        return bool(connection.connected)

    def create_channel(self, connection: amqp.Connection) -> Channel:
        return connection.channel()

    def drain_events(self, connection: amqp.Connection, timeout: float | None = None,
                     **kwargs: Any) -> Any:
        """Process frames until one event arrived; ``socket.timeout`` after ``timeout``.

        With a positive ``timeout`` the socket timeout is set once for the
        whole call instead of around every frame (py-amqp's way): a delivery
        is three frames, so this saves four system calls per message.
        """
        if not timeout:
            return connection.drain_events(timeout=timeout)
        sock = connection.transport.sock
        previous = sock.gettimeout()
        sock.settimeout(timeout)
        try:
            blocking_read = connection.blocking_read
            while not blocking_read(None):
                pass
        finally:
            try:
                sock.settimeout(previous)
            except OSError:  # closed while draining (e.g. the broker closed it)
                pass

    # -- heartbeats -----------------------------------------------------------

    def heartbeat_check(self, connection: amqp.Connection, rate: int = 2) -> None:
        """Send a heartbeat when due; raise ``ConnectionForced`` if the broker fell silent."""
        connection.heartbeat_tick(rate=rate)

    def get_heartbeat_interval(self, connection: amqp.Connection) -> float:
        """The heartbeat interval negotiated with the broker (0: off)."""
        return connection.heartbeat

    # -- event loop -----------------------------------------------------------

    def register_with_event_loop(self, connection: amqp.Connection, loop: Any) -> None:
        """Have a kombu Hub read frames whenever the socket is readable."""
        connection.transport.raise_on_initial_eintr = True
        loop.add_reader(connection.sock, self.on_readable, connection, loop)

    def unregister_from_event_loop(self, connection: amqp.Connection, loop: Any) -> None:
        # _transport, not transport: py-amqp's property reconnects a closed connection.
        sock = getattr(getattr(connection, "_transport", None), "sock", None)
        if sock is not None:
            loop.remove_reader(sock)

    # -- broker facts ---------------------------------------------------------

    def qos_semantics_matches_spec(self, connection: amqp.Connection) -> bool:
        """False on RabbitMQ >= 3.3, where global qos means per-channel."""
        props = connection.server_properties or {}
        if props.get("product") == "RabbitMQ":
            return _version_tuple(props.get("version", "0")) < (3, 3)
        return True

    def driver_version(self) -> str:
        return amqp.__version__


class SSLTransport(Transport):
    """``amqps://`` and ``pyamqps://``: TLS on by default, port 5671."""

    default_port = DEFAULT_SSL_PORT
    ssl_by_default = True

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        if client is not None and not client.ssl:
            client.ssl = True
