"""Connection: a broker connection, its URL, failover and retry machinery."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import count, cycle
from typing import Any
from urllib.parse import quote

from . import exceptions
from .utils.functional import dictfilter, retry_over_time
from .utils.url import as_url, maybe_sanitize_url, parse_url, query_value

__all__ = (  # + ChannelPool, ConnectionPool (lazy, from kombu.resource)
    "BrokerConnection",
    "Connection",
    "is_connection",
    "maybe_channel",
)


def _logger() -> Any:
    # logging, socket and random are imported where they are used: the first
    # log line, collect(), a shuffled failover, not by ``import kombu.connection``.
    import logging

    return logging.getLogger(__name__)

#: The parts of a URL that are connection parameters (the rest is the query).
_URL_PARTS = ("hostname", "port", "userid", "password", "virtual_host")
#: Options in ``transport_options`` that tune connection retries.
_FAILOVER_OPTS = ("max_retries", "interval_start", "interval_step", "interval_max")


def shufflecycle(it: Iterable[Any]) -> Iterator[Any]:
    """Cycle through ``it`` in a new random order each time round."""
    import random

    items = list(it)
    while True:
        random.shuffle(items)
        yield from items


FAILOVER_STRATEGIES: dict[str, Callable[[Iterable[Any]], Iterator[Any]]] = {
    "round-robin": cycle,
    "shuffle": shufflecycle,
}


def _split_alternates(hostname: Any, alternates: Iterable[str] | None) -> tuple[Any, list[Any]]:
    alt = list(alternates or [])
    if hostname and not isinstance(hostname, str):
        hosts = list(hostname)
        alt = hosts + alt
        hostname = hosts[0] if hosts else None
    elif isinstance(hostname, str) and ";" in hostname:
        hosts = [h.strip() for h in hostname.split(";") if h.strip()]
        alt = hosts + alt
        hostname = hosts[0] if hosts else None
    elif alt and hostname:
        alt = [hostname, *alt]
    return hostname, alt


class Connection:
    """A connection to a broker, established lazily.

    ``hostname`` is a URL (``transport://userid:password@hostname:port/virtual_host``),
    a ``;``-separated list of URLs, or a list of them, tried in turn by
    ``failover_strategy`` (``'round-robin'`` or ``'shuffle'``).  Keyword
    arguments override what the URL gives.
    """

    port: int | None = None
    virtual_host = "/"
    connect_timeout: float | None = 5
    uri_prefix: str | None = None
    declared_entities: set[Any]
    cycle: Iterator[Any] | None = None
    failover_strategies = FAILOVER_STRATEGIES
    _connection: Any = None
    _default_channel: Any = None
    _transport: Any = None
    _closed: bool | None = None
    hostname: str | None = None
    userid: str | None = None
    password: str | None = None
    ssl: Any = None
    login_method: str | None = None
    insist = False
    heartbeat: float = 0
    transport_cls: Any = None
    transport_options: dict[str, Any]
    #: Picks the next alternate URL on failover (see ``failover_strategies``).
    failover_strategy: Callable[[Iterable[Any]], Iterator[Any]]
    #: Transport names that info() and as_uri() report under another name.
    resolve_aliases: dict[str, str] = {"pyamqp": "amqp", "librabbitmq": "amqp"}
    #: Supplies credentials at connect time (e.g. redis-py's CredentialProvider).
    credential_provider: Any = None
    #: The ConnectionPool this connection was made by (None: not pooled).
    _pool: Any = None

    def __init__(self, hostname: Any = "localhost", userid: str | None = None,
                 password: str | None = None, virtual_host: str | None = None,
                 port: int | None = None, insist: bool = False, ssl: Any = False,
                 transport: Any = None, connect_timeout: float | None = 5,
                 transport_options: dict[str, Any] | None = None,
                 login_method: str | None = None, uri_prefix: str | None = None,
                 heartbeat: float = 0, failover_strategy: Any = "round-robin",
                 alternates: Iterable[str] | None = None, credential_provider: Any = None,
                 **kwargs: Any) -> None:
        hostname, alt = _split_alternates(hostname, alternates)
        params: dict[str, Any] = {
            "hostname": hostname, "userid": userid, "password": password,
            "virtual_host": virtual_host, "port": port, "insist": insist, "ssl": ssl,
            "transport": transport, "connect_timeout": connect_timeout,
            "login_method": login_method, "heartbeat": heartbeat,
        }
        self.uri_prefix = uri_prefix
        self.credential_provider = credential_provider
        self.declared_entities = set()
        if isinstance(hostname, str) and "://" in hostname:
            params.update(self._params_from_url(hostname, transport))
        self._initial_params = dict(params, uri_prefix=self.uri_prefix)
        self._init_params(**params)
        # URL query options (``?visibility_timeout=30``) are transport options;
        # explicit ``transport_options`` win.
        self.transport_options = {**_coerce_query(self.query), **(transport_options or {})}
        self.alt = alt
        self._failover_strategy = failover_strategy or "round-robin"
        strategy = (
            self.failover_strategies.get(self._failover_strategy)
            if isinstance(self._failover_strategy, str) else self._failover_strategy
        )
        if strategy is None:
            raise ValueError(
                f"Unknown failover_strategy {failover_strategy!r}: use one of "
                f"{sorted(self.failover_strategies)} or pass a callable")
        self.failover_strategy = strategy
        if self.alt:
            self.cycle = self.failover_strategy(self.alt)
            next(self.cycle)  # the first entry is the current host

    # -- parameters ---------------------------------------------------------

    def _params_from_url(self, url: str, transport: Any) -> dict[str, Any]:
        scheme = url[: url.index("://")]
        if not scheme:
            raise ValueError(f"Malformed broker URL {maybe_sanitize_url(url)!r}: no scheme "
                             f"before '://' (expected e.g. 'redis://localhost:6379/0')")
        params: dict[str, Any] = {}
        if "+" in scheme and transport in (None, scheme.split("+", 1)[0]) \
                and not _is_registered(scheme):
            # e.g. sqla+postgresql://user@host/db: the transport takes the rest
            # (also when clone() passes the transport along with that URL).
            params["transport"], params["hostname"] = url.split("+", 1)
            self.uri_prefix = params["transport"]
            return params
        transport = transport or scheme
        params["transport"] = transport
        if not getattr(_transport_cls(transport), "can_parse_url", False):
            params.update(self._parsed(url))
        return params

    @staticmethod
    def _parsed(url: str) -> dict[str, Any]:
        try:
            url_params = parse_url(url)
        except ValueError as exc:
            raise ValueError(f"Malformed broker URL {maybe_sanitize_url(url)!r}: {exc}") \
                from exc
        url_params.pop("transport", None)
        parts = {key: url_params.pop(key, None) for key in _URL_PARTS}
        out = dictfilter(parts)
        out["hostname"] = parts["hostname"]
        out["query"] = url_params  # what is left: the query-string options
        return out

    def _init_params(self, hostname: str | None, userid: str | None, password: str | None,
                     virtual_host: str | None, port: int | None, insist: bool, ssl: Any,
                     transport: Any, connect_timeout: float | None, login_method: str | None,
                     heartbeat: float, **extra: Any) -> None:
        transport = transport or "amqp"
        self.hostname = hostname
        self.userid = userid
        self.password = password
        self.login_method = login_method
        self.virtual_host = virtual_host or self.virtual_host
        self.port = int(port) if port else self.port
        self.insist = insist
        self.connect_timeout = connect_timeout
        query = extra.get("query") or {}
        # ``?ssl=true`` in the URL turns TLS on unless ssl was given explicitly.
        if not ssl and "ssl" in query:
            ssl = query_value(query["ssl"])
        self.ssl = ssl
        self.transport_cls = transport
        self.heartbeat = float(heartbeat) if heartbeat else 0
        self.query = dict(query)  # query-string options from the URL

    # -- failover -----------------------------------------------------------

    def switch(self, conn_str: str) -> None:
        """Switch to another URL; the current connection is closed."""
        self.close()
        self.declared_entities.clear()
        self._closed = False
        params = dict(self._initial_params)
        params.pop("uri_prefix", None)
        params["hostname"] = conn_str
        params["transport"] = self.transport_cls if "://" not in conn_str else None
        if "://" in conn_str:
            for key in ("userid", "password", "virtual_host", "port"):
                params[key] = None
            params.update(self._params_from_url(conn_str, None))
        self._init_params(**params)

    def maybe_switch_next(self) -> None:
        """Switch to the next alternate URL, if there are alternates."""
        if self.cycle:
            self.switch(next(self.cycle))

    def completes_cycle(self, retries: int) -> bool:
        """True when ``retries`` attempts have tried every alternate once more."""
        return not (retries + 1) % len(self.alt) if self.alt else True

    # -- life cycle ---------------------------------------------------------

    def connect(self) -> Any:
        """Establish the connection now (one attempt per alternate)."""
        return self._ensure_connection(max_retries=1, reraise_as_library_errors=False)

    def channel(self) -> Any:
        """Create and return a new channel."""
        return self.transport.create_channel(self.connection)

    def heartbeat_check(self, rate: int = 2) -> Any:
        """Verify/send heartbeats; call about ``heartbeat / rate`` seconds apart."""
        return self.transport.heartbeat_check(self.connection, rate=rate)

    def drain_events(self, **kwargs: Any) -> Any:
        """Wait for one event (delivery) from the broker.

        ``timeout`` (seconds) raises :class:`socket.timeout` when nothing
        arrived in time.
        """
        conn = self._connection
        if conn is None or self._transport is None:
            return self.transport.drain_events(self.connection, **kwargs)
        # Hot path: already connected; a dropped connection raises from the transport.
        return self._transport.drain_events(conn, **kwargs)

    def maybe_close_channel(self, channel: Any) -> None:
        """Close ``channel``, ignoring errors from a connection already gone."""
        ignored: tuple[type[BaseException], ...] = (
            *self.connection_errors, *self.channel_errors, AttributeError, OSError)
        try:
            channel.close()
        except ignored:
            pass

    def _do_close_self(self) -> None:
        self._closed = True
        self.declared_entities.clear()
        if self._default_channel is not None:
            self.maybe_close_channel(self._default_channel)
        self._default_channel = None
        if self._connection is not None:
            ignored: tuple[type[BaseException], ...] = (
                *self.connection_errors, AttributeError, OSError)
            try:
                self.transport.close_connection(self._connection)
            except ignored:
                pass
            self._connection = None

    def _do_close_transport(self) -> None:
        if self._transport is not None:
            self._transport.client = None
            self._transport = None

    def collect(self, socket_timeout: float | None = None) -> None:
        """Drop the connection without a broker handshake (e.g. after fork)."""
        gc = getattr(self._transport, "_collect", None) if self._transport else None
        if gc is None:
            import socket

            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(socket_timeout)
            try:
                self._do_close_self()
            except TimeoutError:
                pass
            finally:
                socket.setdefaulttimeout(previous)
        else:
            gc(self._connection)
            self._connection = None
            self._default_channel = None
        self._do_close_transport()
        self.declared_entities.clear()
        self._connection = None

    def close(self) -> None:
        """Close the connection (if open).  Unacked messages go back to their queues."""
        self._do_close_self()
        self._do_close_transport()
        _logger().debug("closed %s", self)

    def release(self) -> None:
        """Close the connection (pooled connections return to their pool instead)."""
        self.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if exc_type is not None and self._pool is not None:
            # A pooled connection that raised may hold a dead channel: close it
            # before the pool takes it back, so the next user reconnects.
            self.close()
        self.release()

    # -- retries ------------------------------------------------------------

    @contextmanager
    def _reraise_as_library_errors(
        self,
        ConnectionError: type[Exception] = exceptions.OperationalError,
        ChannelError: type[Exception] = exceptions.OperationalError,
    ) -> Iterator[None]:
        try:
            yield
        except (ConnectionError, ChannelError):
            raise
        except self.recoverable_connection_errors as exc:
            raise ConnectionError(f"{exc} ({maybe_sanitize_url(self.as_uri())})") from exc
        except self.recoverable_channel_errors as exc:
            raise ChannelError(str(exc)) from exc

    def ensure_connection(self, errback: Callable[..., Any] | None = None,
                          max_retries: int | None = None, interval_start: float = 2,
                          interval_step: float = 2, interval_max: float = 30,
                          callback: Callable[[], Any] | None = None,
                          reraise_as_library_errors: bool = True,
                          timeout: float | None = None) -> Connection:
        """Connect, retrying on recoverable errors; returns self.

        ``max_retries`` None retries forever (bounded by ``timeout`` seconds
        if given); ``errback(exc, interval)`` is told of each failure;
        ``callback()`` is called periodically while sleeping.  When it gives
        up it raises :exc:`kombu.exceptions.OperationalError` (or the
        transport's own error with ``reraise_as_library_errors=False``).
        """
        self._ensure_connection(errback, max_retries, interval_start, interval_step,
                                interval_max, callback, reraise_as_library_errors, timeout)
        return self

    def _ensure_connection(self, errback: Callable[..., Any] | None = None,
                           max_retries: int | None = None, interval_start: float = 2,
                           interval_step: float = 2, interval_max: float = 30,
                           callback: Callable[[], Any] | None = None,
                           reraise_as_library_errors: bool = True,
                           timeout: float | None = None) -> Any:
        if self.connected:
            return self._connection

        def on_error(exc: Exception, intervals: Iterator[float], retries: int) -> float:
            full_round = self.completes_cycle(retries)
            interval = next(intervals) if full_round else 0
            if errback:
                errback(exc, interval)
            self.maybe_switch_next()
            return interval

        ctx: Any = (self._reraise_as_library_errors() if reraise_as_library_errors
                    else _nullcontext())
        with ctx:
            return retry_over_time(
                self._connection_factory, self.recoverable_connection_errors, (), {},
                on_error, max_retries, interval_start, interval_step, interval_max,
                callback, timeout=timeout,
            )

    def revive(self, new_channel: Any) -> None:
        """Revive the connection after a connection loss (replace the default channel)."""
        if self._default_channel and new_channel is not self._default_channel:
            self.maybe_close_channel(self._default_channel)
            self._default_channel = None

    def ensure(self, obj: Any, fun: Callable[..., Any], errback: Callable[..., Any] | None = None,
               max_retries: int | None = None, interval_start: float = 1,
               interval_step: float = 1, interval_max: float = 1,
               on_revive: Callable[[Any], Any] | None = None,
               retry_errors: tuple[type[BaseException], ...] | None = None
               ) -> Callable[..., Any]:
        """Wrap ``fun`` so it is retried after reconnecting on connection errors.

        ``obj`` (a Producer, Consumer, ...) is revived with the new channel
        before each retry.  Irrecoverable channel errors propagate at once.
        """
        if retry_errors is None:
            retry_errors = ()

        def _ensured(*args: Any, **kwargs: Any) -> Any:
            got_connection = 0
            conn_errors = self.recoverable_connection_errors
            chan_errors = self.recoverable_channel_errors
            has_modern_errors = hasattr(self.transport, "recoverable_connection_errors")
            for retries in count(0):
                try:
                    return fun(*args, **kwargs)
                except retry_errors as exc:
                    if max_retries is not None and retries >= max_retries:
                        raise
                    _logger().debug("ensure retry policy error: %r", exc, exc_info=True)
                except conn_errors as exc:
                    if got_connection and not has_modern_errors:
                        raise
                    if max_retries is not None and retries >= max_retries:
                        raise
                    _logger().debug("ensure connection error: %r", exc, exc_info=True)
                    self.collect()
                    if errback:
                        errback(exc, 0)
                    remaining = None if max_retries is None else max(max_retries - retries, 1)
                    self._ensure_connection(errback, remaining, interval_start, interval_step,
                                            interval_max, reraise_as_library_errors=False)
                    channel = self.default_channel
                    obj.revive(channel)
                    if on_revive:
                        on_revive(channel)
                    got_connection += 1
                except chan_errors as exc:
                    if max_retries is not None and retries > max_retries:
                        raise
                    _logger().debug("ensure channel error: %r", exc, exc_info=True)
                    if errback:
                        errback(exc, 0)
            raise AssertionError("unreachable")

        _ensured.__name__ = f"{getattr(fun, '__name__', 'fun')}(ensured)"
        _ensured.__doc__ = getattr(fun, "__doc__", None)
        _ensured.__module__ = getattr(fun, "__module__", __name__)
        return _ensured

    def autoretry(self, fun: Callable[..., Any], channel: Any = None,
                  **ensure_options: Any) -> Callable[..., Any]:
        """Wrap ``fun(*args, channel=...)`` to retry on connection loss.

        The wrapped call returns ``(result, channel)``, the channel being the
        one finally used.
        """
        channels = [channel]
        connection = self

        class Revival:
            __name__ = getattr(fun, "__name__", "autoretry")
            __module__ = getattr(fun, "__module__", "kombu.connection")
            __doc__ = getattr(fun, "__doc__", None)

            def revive(self, channel: Any) -> None:
                channels[0] = channel

            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                if channels[0] is None:
                    self.revive(connection.default_channel)
                return fun(*args, channel=channels[0], **kwargs), channels[0]

        revive = Revival()
        return self.ensure(revive, revive, **ensure_options)

    def _connection_factory(self) -> Any:
        self.declared_entities.clear()
        self._default_channel = None
        self._connection = self._establish_connection()
        self._closed = False
        return self._connection

    def _establish_connection(self) -> Any:
        _logger().debug("establishing connection to %s", self.as_uri())
        return self.transport.establish_connection()

    # -- factories ----------------------------------------------------------

    def create_transport(self) -> Any:
        return self.get_transport_cls()(client=self)

    def get_transport_cls(self) -> type:
        """The transport class this connection uses."""
        return _transport_cls(self.transport_cls)

    def clone(self, **kwargs: Any) -> Connection:
        """A new, unconnected Connection with the same settings."""
        return self.__class__(**dict(self._info(resolve=False), **kwargs))

    __copy__ = clone

    def get_heartbeat_interval(self) -> float:
        return self.transport.get_heartbeat_interval(self.connection)

    def _info(self, resolve: bool = True) -> list[tuple[str, Any]]:
        transport_cls = self.transport_cls
        if resolve:
            transport_cls = _alias_of(transport_cls)
            transport_cls = self.resolve_aliases.get(transport_cls, transport_cls)
        defaults = self.transport.default_connection_params
        hostname = self.hostname or defaults.get("hostname")
        if self.uri_prefix:
            hostname = f"{self.uri_prefix}+{hostname}"
        return [
            ("hostname", hostname),
            ("userid", self.userid or defaults.get("userid")),
            ("password", self.password or defaults.get("password")),
            ("virtual_host", self.virtual_host or defaults.get("virtual_host")),
            ("port", self.port or defaults.get("port")),
            ("insist", self.insist),
            ("ssl", self.ssl),
            ("transport", transport_cls),
            ("connect_timeout", self.connect_timeout),
            ("transport_options", self.transport_options),
            ("login_method", self.login_method or defaults.get("login_method")),
            ("uri_prefix", self.uri_prefix),
            ("heartbeat", self.heartbeat),
            ("failover_strategy", self._failover_strategy),
            ("alternates", self.alt),
            ("credential_provider", self.credential_provider),
        ]

    def info(self) -> dict[str, Any]:
        """Connection settings as a dict (the password is included; don't log it)."""
        return dict(self._info())

    def __eqhash__(self) -> Any:
        from .utils.collections import HashedSeq

        return HashedSeq(self.transport_cls, self.hostname, self.userid, self.password,
                         self.virtual_host, self.port, repr(self.transport_options))

    def as_uri(self, include_password: bool = False, mask: str = "**",
               getfields: Any = None) -> str:
        """The connection URL, with the password masked unless asked for."""
        hostname = self.hostname or "localhost"
        if getattr(self.transport, "can_parse_url", False):
            url = hostname
            if self.uri_prefix:
                url = f"{self.uri_prefix}+{url}"
            try:
                return self.transport.as_uri(url, include_password, mask)
            except NotImplementedError:
                pass
            return url if include_password else maybe_sanitize_url(url, mask)
        if self.uri_prefix:
            url = f"{self.uri_prefix}+{hostname}"
            return url if include_password else maybe_sanitize_url(url, mask)
        info = self.info()
        if getfields is not None:
            port, userid, password, vhost, transport = getfields(info)
        else:
            port, userid, password, vhost, transport = (
                info["port"], info["userid"], info["password"], info["virtual_host"],
                info["transport"])
        return as_url(transport, hostname, port, userid, password, quote(vhost or ""),
                      sanitize=not include_password, mask=mask)

    def Pool(self, limit: int | None = None, **kwargs: Any) -> Any:
        """A pool of connections like this one (at most ``limit``)."""
        from .resource import ConnectionPool

        return ConnectionPool(self, limit=limit, **kwargs)

    def ChannelPool(self, limit: int | None = None, **kwargs: Any) -> Any:
        """A pool of channels on this connection (at most ``limit``)."""
        from .resource import ChannelPool

        return ChannelPool(self, limit=limit, **kwargs)

    def Producer(self, channel: Any = None, *args: Any, **kwargs: Any) -> Any:
        """A :class:`kombu.Producer` on ``channel`` (default: this connection)."""
        from .messaging import Producer

        return Producer(channel or self, *args, **kwargs)

    def Consumer(self, queues: Any = None, channel: Any = None, *args: Any,
                 **kwargs: Any) -> Any:
        """A :class:`kombu.Consumer` on ``channel`` (default: the default channel)."""
        from .messaging import Consumer

        return Consumer(channel or self, queues, *args, **kwargs)

    def SimpleQueue(self, name: Any, no_ack: bool | None = None,
                    queue_opts: dict[str, Any] | None = None,
                    queue_args: dict[str, Any] | None = None,
                    exchange_opts: dict[str, Any] | None = None, channel: Any = None,
                    **kwargs: Any) -> Any:
        """A persistent queue with a ``queue.Queue``-like API (see :mod:`kombu.simple`)."""
        from .simple import SimpleQueue

        return SimpleQueue(channel or self, name, no_ack, queue_opts, queue_args,
                           exchange_opts, **kwargs)

    def SimpleBuffer(self, name: Any, no_ack: bool | None = None,
                     queue_opts: dict[str, Any] | None = None,
                     queue_args: dict[str, Any] | None = None,
                     exchange_opts: dict[str, Any] | None = None, channel: Any = None,
                     **kwargs: Any) -> Any:
        """A transient, auto-deleted queue with a Queue-like API."""
        from .simple import SimpleBuffer

        return SimpleBuffer(channel or self, name, no_ack, queue_opts, queue_args,
                            exchange_opts, **kwargs)

    def _extract_failover_opts(self) -> dict[str, Any]:
        conn_opts: dict[str, Any] = {"timeout": self.connect_timeout}
        opts = self.transport_options
        if opts:
            for key in _FAILOVER_OPTS:
                if key in opts:
                    conn_opts[key] = opts[key]
            if "connect_retries_timeout" in opts:
                conn_opts["timeout"] = opts["connect_retries_timeout"]
        return conn_opts

    def supports_exchange_type(self, exchange_type: str) -> bool:
        return exchange_type in self.transport.implements.exchange_type

    def register_with_event_loop(self, loop: Any) -> None:
        self.transport.register_with_event_loop(self.connection, loop)

    def __repr__(self) -> str:
        return f"<Connection: {self.as_uri()} at {id(self):#x}>"

    def __reduce__(self) -> Any:
        return self.__class__, tuple(self.info().values()), None

    # -- properties ---------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True if the connection is established."""
        return self._connection is not None and self.transport.verify_connection(
            self._connection)

    @property
    def connection(self) -> Any:
        """The transport's underlying connection, established on first use."""
        if not self._closed and not self.connected:
            return self._ensure_connection(max_retries=1, reraise_as_library_errors=False)
        return self._connection

    @property
    def default_channel(self) -> Any:
        """A channel created (and connected) on first use, closed with the connection.

        Connecting retries per ``transport_options`` (``max_retries``,
        ``interval_start``, ...) for at most ``connect_timeout`` seconds.
        """
        self._ensure_connection(**self._extract_failover_opts())
        if self._default_channel is None:
            self._default_channel = self.channel()
        return self._default_channel

    @property
    def host(self) -> str:
        """``hostname:port``."""
        return ":".join([self.hostname or "", str(self.port)])

    @property
    def transport(self) -> Any:
        if self._transport is None:
            self._transport = self.create_transport()
        return self._transport

    @property
    def manager(self) -> Any:
        return self.transport.manager

    def get_manager(self, *args: Any, **kwargs: Any) -> Any:
        return self.transport.get_manager(*args, **kwargs)

    @property
    def recoverable_connection_errors(self) -> tuple[type[BaseException], ...]:
        """Errors after which reconnecting may help."""
        errors = getattr(self.transport, "recoverable_connection_errors", None)
        return tuple(errors) if errors is not None else tuple(self.connection_errors)

    @property
    def recoverable_channel_errors(self) -> tuple[type[BaseException], ...]:
        """Channel errors after which a new channel may help."""
        errors = getattr(self.transport, "recoverable_channel_errors", None)
        return tuple(errors) if errors is not None else ()

    @property
    def connection_errors(self) -> tuple[type[BaseException], ...]:
        """The transport's connection error classes."""
        return tuple(self.transport.connection_errors)

    @property
    def channel_errors(self) -> tuple[type[BaseException], ...]:
        """The transport's channel error classes."""
        return tuple(self.transport.channel_errors)

    @property
    def supports_heartbeats(self) -> bool:
        return bool(self.transport.implements.heartbeats)

    @property
    def is_evented(self) -> bool:
        return bool(self.transport.implements.asynchronous)

    @property
    def qos_semantics_matches_spec(self) -> bool:
        return self.transport.qos_semantics_matches_spec(self.connection)


BrokerConnection = Connection


def is_connection(obj: Any) -> bool:
    """True if ``obj`` is a :class:`Connection`."""
    return isinstance(obj, Connection)


def maybe_channel(channel: Any) -> Any:
    """The default channel of a Connection; anything else unchanged."""
    if is_connection(channel):
        return channel.default_channel
    return channel


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        return None


def _coerce_query(query: dict[str, Any]) -> dict[str, Any]:
    return {key: query_value(value) for key, value in query.items()}


# The kernel is imported on the first transport lookup, not with this module:
# ``from kombu import Connection`` loads no plugin machinery.


def _transport_cls(transport: Any) -> type:
    from .plugins import resolve_transport

    return resolve_transport(transport)


def _is_registered(name: str) -> bool:
    from .plugins import get_registry

    return name in get_registry().transports()


def _alias_of(transport: Any) -> Any:
    return transport if isinstance(transport, str) else getattr(
        transport, "__name__", transport)


def __getattr__(name: str) -> Any:
    # ConnectionPool and ChannelPool live in kombu.resource; kombu exported
    # them from here.
    if name in ("ConnectionPool", "ChannelPool"):
        from . import resource

        return getattr(resource, name)
    if name == "logger":
        return _logger()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

