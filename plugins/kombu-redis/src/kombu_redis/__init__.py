"""kombu-redis: the kombu-core plugin for Redis.

This module only answers the kernel's hooks; it imports no client library.
redis-py is imported when the transport is first used, by
:mod:`kombu_redis.transport` (which also answers ``kombu.transport.redis``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_redis.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``redis``, ``rediss`` (TLS), ``redis+socket``/``socket`` (unix socket), ``sentinel``."""
    return {
        "redis": f"{_MODULE}:Transport",
        "rediss": f"{_MODULE}:SSLTransport",
        "redis+socket": f"{_MODULE}:SocketTransport",
        "socket": f"{_MODULE}:SocketTransport",
        "sentinel": f"{_MODULE}:SentinelTransport",
    }


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the Redis transport."""
    return {"kombu.transport.redis": _MODULE}
