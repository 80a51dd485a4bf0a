"""redis-py connection settings from a kombu Connection, and the error classes."""

from __future__ import annotations

import inspect
import socket
import ssl
from collections.abc import Mapping
from functools import cache
from typing import Any

import redis
from redis import exceptions as rexc
from redis.backoff import NoBackoff
from redis.retry import Retry

from kombu import exceptions as kexc
from kombu.transport import base

from .options import (
    DEFAULT_DB,
    DEFAULT_HEALTH_CHECK_INTERVAL,
    DEFAULT_PORT,
    DEFAULT_SENTINEL_PORT,
    parse_db,
    parse_socket_url,
)

__all__ = (
    "DEFAULT_DB",
    "DEFAULT_HEALTH_CHECK_INTERVAL",
    "DEFAULT_PORT",
    "DEFAULT_SENTINEL_PORT",
    "GlobalKeyPrefixMixin",
    "PrefixedRedisPipeline",
    "PrefixedStrictRedis",
    "connection_kwargs",
    "default_user",
    "get_redis_error_classes",
    "parse_db",
    "parse_socket_url",
)


#: amqp-style ``ssl`` dict keys and the redis-py option each means.
_SSL_ALIASES = {
    "keyfile": "ssl_keyfile",
    "certfile": "ssl_certfile",
    "ca_certs": "ssl_ca_certs",
    "cert_reqs": "ssl_cert_reqs",
    "check_hostname": "ssl_check_hostname",
}
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL,
              "required": ssl.CERT_REQUIRED}


def get_redis_error_classes() -> tuple[tuple[type[BaseException], ...],
                                       tuple[type[BaseException], ...]]:
    """``(connection_errors, channel_errors)`` of the Redis transport."""
    connection_errors = (
        *base.Transport.connection_errors,
        kexc.InconsistencyError,
        OSError,
        rexc.ConnectionError,
        rexc.BusyLoadingError,
        rexc.AuthenticationError,
        rexc.TimeoutError,
        rexc.ReadOnlyError,
    )
    channel_errors = (
        *base.Transport.channel_errors,
        rexc.DataError,
        rexc.InvalidResponse,
        rexc.ResponseError,
    )
    return connection_errors, channel_errors


@cache
def _accepted(cls: type) -> frozenset[str] | None:
    """Keyword arguments ``cls`` accepts (None: anything)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            return None
        for p in params:
            if p.kind is p.VAR_KEYWORD and klass is cls and not names:
                continue
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                names.add(p.name)
    return frozenset(names)


def filter_kwargs(cls: type, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the options ``cls`` (a redis-py connection class) does not know."""
    accepted = _accepted(cls)
    out = {k: v for k, v in kwargs.items() if v is not None or k in ("password", "username")}
    if accepted is None:
        return out
    return {k: v for k, v in out.items() if k in accepted}


def ssl_options(client_ssl: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """redis-py ``ssl_*`` options from ``Connection(ssl=...)`` and transport options."""
    out: dict[str, Any] = {}
    if isinstance(client_ssl, Mapping):
        for key, value in client_ssl.items():
            out[_SSL_ALIASES.get(str(key), str(key))] = value
    for key, value in options.items():
        if key.startswith("ssl_"):
            out[key] = value
    reqs = out.get("ssl_cert_reqs")
    if isinstance(reqs, str):
        name = reqs.strip().lower().removeprefix("cert_")
        if name not in _CERT_REQS:
            raise ValueError(f"ssl_cert_reqs must be 'required', 'optional' or 'none', "
                             f"not {reqs!r}")
        out["ssl_cert_reqs"] = _CERT_REQS[name]
    return {k: v for k, v in out.items() if k.startswith("ssl_")}


def connection_kwargs(client: Any, options: Mapping[str, Any], *, use_ssl: bool,
                      socket_path: str | None = None) -> dict[str, Any]:
    """Keyword arguments for a redis-py connection pool from a kombu Connection."""
    retries = 1 if options.get("retry_on_timeout") else 0
    connect_timeout = options.get("socket_connect_timeout")
    if connect_timeout is None:
        connect_timeout = client.connect_timeout
    kwargs: dict[str, Any] = {
        "host": client.hostname or "127.0.0.1",
        "port": client.port or DEFAULT_PORT,
        "db": parse_db(client.virtual_host),
        "username": client.userid or None,
        "password": client.password or None,
        "socket_timeout": options.get("socket_timeout"),
        "socket_connect_timeout": connect_timeout,
        "socket_keepalive": options.get("socket_keepalive"),
        "socket_keepalive_options": options.get("socket_keepalive_options"),
        "retry_on_timeout": bool(options.get("retry_on_timeout", False)),
        "retry": Retry(NoBackoff(), retries),
        "health_check_interval": options.get("health_check_interval",
                                             DEFAULT_HEALTH_CHECK_INTERVAL),
        "client_name": options.get("client_name"),
        # The raw reply parser and the pubsub handling expect RESP2.
        "protocol": 2,
    }
    default_user(kwargs)
    if socket_path is not None:
        for key in ("host", "port", "socket_keepalive", "socket_keepalive_options"):
            kwargs.pop(key)
        kwargs["path"] = socket_path
        kwargs["connection_class"] = redis.UnixDomainSocketConnection
    elif use_ssl:
        kwargs.update(ssl_options(client.ssl, options))
        kwargs["connection_class"] = redis.SSLConnection
    else:
        kwargs["connection_class"] = redis.Connection
    return kwargs


def default_user(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Authenticate a bare password as Redis' ``default`` user (``AUTH default <password>``).

    That is what redis-py's RESP3 handshake (``HELLO 3 AUTH default ...``, used by
    kombu 5.7) sends: a Redis without a password accepts it, so a URL that carries
    one still connects (a bare ``AUTH <password>`` is refused there), while a Redis
    with another password refuses it (``WRONGPASS``).  Redis before 6 gets the bare
    form (redis-py retries with it).
    """
    if kwargs.get("password") and not kwargs.get("username"):
        kwargs["username"] = "default"
    return kwargs


def describe(kwargs: Mapping[str, Any]) -> str:
    """``redis at host:port/db`` (never a password) for error messages."""
    if "path" in kwargs:
        return f"redis at unix socket {kwargs['path']} (db {kwargs.get('db', 0)})"
    return f"redis at {kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"


def explain_connect_error(exc: BaseException, where: str) -> BaseException:
    """A connection failure rephrased to name the server and the likely fix."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, rexc.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text \
            or "invalid password" in text.lower():
        return rexc.AuthenticationError(
            f"Authentication to {where} failed ({text}): check the user name and password "
            f"in the broker URL (redis://user:password@host:port/db).")
    if isinstance(exc, (rexc.InvalidResponse,)) or "Protocol" in text:
        return rexc.ConnectionError(
            f"{where} did not answer like a Redis server ({text}): check the host and port.")
    if isinstance(exc, (rexc.TimeoutError, socket.timeout, TimeoutError)):
        return rexc.TimeoutError(
            f"Timed out connecting to {where} ({text}): is the server up and is this a "
            f"Redis port? Tune connect_timeout / socket_connect_timeout if it is slow.")
    if isinstance(exc, rexc.ResponseError):
        return rexc.ConnectionError(f"{where} refused the connection setup: {text}")
    return rexc.ConnectionError(f"Cannot connect to {where}: {text}")


class GlobalKeyPrefixMixin:
    """Prefixes the keys of commands with ``global_keyprefix`` (kombu's helper).

    kombu-core's transport prefixes its own keys itself; this mixin is kept
    for code that talks to ``channel.client`` directly.
    """

    #: Commands whose first argument is the only key.
    PREFIXED_SIMPLE_COMMANDS = (
        "HDEL", "HGET", "HLEN", "HSET", "HGETALL", "LLEN", "LPUSH", "PUBLISH", "RPUSH",
        "RPOP", "LPOP", "LRANGE", "SADD", "SREM", "SET", "GET", "SMEMBERS", "SCARD",
        "ZADD", "ZREM", "ZREVRANGEBYSCORE", "ZRANGEBYSCORE", "ZSCORE", "ZCARD", "EXISTS",
        "EXPIRE", "TYPE", "INCR",
    )
    #: Commands whose arguments are all keys (but a trailing timeout for BRPOP).
    PREFIXED_COMPLEX_COMMANDS = {"DEL": (0, None), "BRPOP": (0, -1), "MGET": (0, None)}

    global_keyprefix = ""

    def _prefix_args(self, args: Any) -> list[Any]:
        args = list(args)
        command = str(args[0]).upper()
        prefix = self.global_keyprefix
        if command in self.PREFIXED_SIMPLE_COMMANDS and len(args) > 1:
            args[1] = f"{prefix}{_text(args[1])}"
        elif command in self.PREFIXED_COMPLEX_COMMANDS:
            start, stop = self.PREFIXED_COMPLEX_COMMANDS[command]
            body = args[1:]
            end = len(body) + stop if stop is not None else len(body)
            body[start:end] = [f"{prefix}{_text(a)}" for a in body[start:end]]
            args[1:] = body
        return args

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        return super().execute_command(*self._prefix_args(args), **kwargs)  # type: ignore[misc]

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        return PrefixedRedisPipeline(self.connection_pool,  # type: ignore[attr-defined]
                                     self.response_callbacks,  # type: ignore[attr-defined]
                                     transaction, shard_hint,
                                     global_keyprefix=self.global_keyprefix)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class PrefixedStrictRedis(GlobalKeyPrefixMixin, redis.Redis):
    """A redis-py client whose keys all start with ``global_keyprefix``."""

    def __init__(self, *args: Any, global_keyprefix: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.global_keyprefix = global_keyprefix


class PrefixedRedisPipeline(GlobalKeyPrefixMixin, redis.client.Pipeline):
    """The pipeline of :class:`PrefixedStrictRedis`."""

    def __init__(self, *args: Any, global_keyprefix: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.global_keyprefix = global_keyprefix
