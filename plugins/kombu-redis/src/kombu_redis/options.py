"""URL and database helpers that need no client library (imported before redis-py is)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse

__all__ = (
    "DEFAULT_BUSY_POLL",
    "DEFAULT_DB",
    "DEFAULT_HEALTH_CHECK_INTERVAL",
    "DEFAULT_PORT",
    "DEFAULT_SENTINEL_PORT",
    "parse_db",
    "parse_socket_url",
    "redis_py",
)

DEFAULT_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_DB = 0
DEFAULT_HEALTH_CHECK_INTERVAL = 25
#: Seconds a reply is polled for before the reading thread sleeps (transport
#: option ``busy_poll``; 0 turns polling off); see :mod:`kombu_redis.wire`.
DEFAULT_BUSY_POLL = 0.0001

MISSING_REDIS_PY = ("The Redis transport needs the redis-py client library, which is not "
                    "installed (or failed to import). Install it with: "
                    "pip install 'kombu-core[redis]'")


def require_redis_py() -> None:
    """Fail now, with the install command, if redis-py cannot be found (it is not imported)."""
    from importlib.util import find_spec

    try:
        found = find_spec("redis") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(MISSING_REDIS_PY)


def redis_py() -> Any:
    """The ``redis`` package, imported on first use (with the install command if missing)."""
    try:
        import redis
    except ImportError as exc:
        raise ImportError(MISSING_REDIS_PY) from exc
    return redis


def parse_db(vhost: Any) -> int:
    """The database number a virtual host names (``''``/``'/'`` is 0)."""
    if isinstance(vhost, int):
        return vhost
    text = str(vhost or "").strip()
    if text.startswith("/"):
        text = text[1:]
    if not text:
        return DEFAULT_DB
    try:
        return int(text)
    except ValueError:
        raise ValueError(
            f"Redis virtual host must be a database number (e.g. redis://host:6379/2), "
            f"not {vhost!r}") from None


def parse_socket_url(url: str) -> dict[str, Any]:
    """Path, password, database and options of ``redis+socket:///path?virtual_host=3``."""
    _, sep, rest = url.partition("://")
    if not sep:
        rest = url
    parts = urlparse("socket://" + rest)
    query = dict(parse_qsl(parts.query))
    db = query.pop("virtual_host", None) or query.pop("db", None)
    return {
        "path": unquote(parts.path) or None,
        "password": unquote(parts.password) if parts.password else None,
        "username": unquote(parts.username) if parts.username else None,
        "db": db,
        "query": query,
    }
