"""Broker URLs: parse them, build them, and mask the password for display.

A broker URL is ``transport://userid:password@hostname:port/virtual_host?options``.
Everything after the scheme is parsed with HTTP URL rules, so
``sqla+postgresql://...`` and ``redis+socket:///tmp/redis.sock`` work too.
Percent-escapes are decoded (``amqp://host/%2F`` has the virtual host ``'/'``).
Failover lists (``'amqp://a;amqp://b'``) are the caller's business.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse

__all__ = (
    "query_value",
    "as_url",
    "maybe_sanitize_url",
    "parse_ssl_cert_reqs",
    "parse_url",
    "safequote",
    "sanitize_url",
    "ssl_available",
    "url_to_parts",
    "urlparse",
    "urlparts",
)



def _have_ssl() -> bool:
    # Look for the C extension without importing ssl (slow to import): a
    # Python built without OpenSSL has ssl.py but no _ssl.
    try:
        return importlib.util.find_spec("_ssl") is not None
    except (ImportError, ValueError, AttributeError):
        return False


#: Whether this Python has a working :mod:`ssl` module (TLS is possible).
ssl_available = _have_ssl()


#: Percent-encode everything that is not unreserved (``'/'`` included).
safequote = partial(quote, safe="")


class urlparts(NamedTuple):
    """The components of a broker URL (``None`` where absent; ``query`` a dict)."""

    scheme: str
    hostname: str | None
    port: int | None
    username: str | None
    password: str | None
    path: str | None
    query: dict[str, Any]


def url_to_parts(url: str) -> urlparts:
    """Split ``url`` into :class:`urlparts`, decoding percent-escapes.

    The path loses its leading ``'/'``: ``amqp://h//`` has the path ``'/'``.
    A host list (``zookeeper://h1:2181,h2:2182/``) is kept whole as the hostname
    (ports included, case kept) and the port is None.
    Raises ``ValueError`` for a port that is not a number.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:  # no scheme: the whole string is host, port and path
        scheme, rest = "", url
    parts = urlparse("http://" + rest)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    hostname, port = parts.hostname, None
    hostlist = parts.netloc.rpartition("@")[2]
    if "," in hostlist:  # several hosts (h1:2181,h2:2181): kept whole, each with its port
        hostname = hostlist
    else:
        port = parts.port
    return urlparts(
        scheme,
        unquote(hostname or "") or None,
        port,
        unquote(parts.username or "") or None,
        unquote(parts.password or "") or None,
        unquote(path) or None,
        dict(parse_qsl(parts.query)),
    )


#: Alias of :func:`url_to_parts`.
_parse_url = url_to_parts


def parse_ssl_cert_reqs(query_value: str) -> Any:
    """The :mod:`ssl` constant an ``ssl_cert_reqs`` URL option names.

    ``'required'``, ``'optional'`` and ``'none'`` (any case, with or without
    the ``CERT_`` prefix) give ``ssl.CERT_REQUIRED`` and so on.  Returns
    ``None`` when Python has no :mod:`ssl`; anything else raises ValueError.
    """
    if not ssl_available:
        return None
    import ssl

    key = str(query_value).strip().upper()
    key = key if key.startswith("CERT_") else f"CERT_{key}"
    if key not in ("CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED"):
        raise ValueError(
            f"Unknown ssl_cert_reqs {query_value!r}: use 'required', 'optional' or 'none' "
            f"(or CERT_REQUIRED, CERT_OPTIONAL, CERT_NONE)")
    return getattr(ssl, key)


def _ssl_options(query: dict[str, Any]) -> None:
    keys = [key for key in query if key.startswith("ssl_")]
    if not keys:
        return
    ssl_opts = query.get("ssl")
    if not isinstance(ssl_opts, dict):
        ssl_opts = {}
    for key in keys:
        value = query.pop(key)
        if key == "ssl_check_hostname":
            value = value.lower() not in ("false", "0", "no", "off")
        elif key == "ssl_cert_reqs":
            value = parse_ssl_cert_reqs(value)
            if value is None:
                _logger().warning("No ssl module: defaulting to insecure SSL behaviour.")
        ssl_opts[key] = value
    query["ssl"] = ssl_opts


def parse_url(url: str) -> dict[str, Any]:
    """Parse a broker URL into :class:`~kombu.Connection` keyword arguments.

    Returns ``transport``, ``hostname``, ``port``, ``userid``, ``password`` and
    ``virtual_host``, plus one key per query option.  ``ssl_*`` options are
    gathered into an ``ssl`` dict (``ssl_cert_reqs`` becoming an :mod:`ssl`
    constant and ``ssl_check_hostname`` a bool).
    """
    scheme, host, port, user, password, path, query = url_to_parts(url)
    _ssl_options(query)
    return {
        **query,
        "transport": scheme,
        "hostname": host,
        "port": port,
        "userid": user,
        "password": password,
        "virtual_host": path,
    }


_SECRET_KEYS = ("password", "passwd", "secret", "token")


def _mask_query(query: Mapping[str, Any], mask: str) -> dict[str, Any]:
    return {
        key: (mask if any(word in key.lower() for word in _SECRET_KEYS) else value)
        for key, value in query.items()
    }


def as_url(
    scheme: str,
    host: str | None = None,
    port: int | str | None = None,
    user: str | None = None,
    password: str | None = None,
    path: str | None = None,
    query: Mapping[str, Any] | None = None,
    sanitize: bool = False,
    mask: str = "**",
) -> str:
    """Build a URL from its parts; with ``sanitize`` the password is replaced by ``mask``.

    ``path`` is used as is (quote it yourself: the virtual host ``'/'`` is
    ``path='/'`` giving ``amqp://host//``).  Secret-looking query options are
    masked too when sanitizing.
    """
    out = [f"{scheme}://"]
    if user or password:
        if user:
            out.append(safequote(user))
        if password:
            if sanitize:
                out.append(f":{mask}" if mask else ":")
            else:
                out.append(":" + safequote(password))
        out.append("@")
    if host:
        out.append(f"[{host}]" if ":" in host and not host.startswith("[") else safequote(host))
    if port:
        out.append(f":{port}")
    out.append("/")
    if path:
        out.append(path)
    if query:
        out.append("?" + urlencode(_mask_query(query, mask) if sanitize else dict(query), safe="*"))
    return "".join(out)


def sanitize_url(url: str, mask: str = "**") -> str:
    """``url`` with its password (and secret-looking query options) replaced by ``mask``."""
    scheme, host, port, user, password, path, query = url_to_parts(url)
    return as_url(
        scheme,
        host,
        port,
        user,
        password,
        quote(path, safe="/") if path else path,
        query,
        sanitize=True,
        mask=mask,
    )


def maybe_sanitize_url(url: Any, mask: str = "**") -> Any:
    """:func:`sanitize_url` for URL strings; anything else is returned unchanged."""
    if isinstance(url, str) and "://" in url:
        try:
            return sanitize_url(url, mask)
        except ValueError:
            scheme = url.partition("://")[0]
            return f"{scheme}://{mask}"  # unparseable: show nothing that could be secret
    return url


def query_value(value: Any) -> Any:
    """A URL query-string value as the literal it spells.

    ``"true"``/``"yes"``/``"on"`` and their opposites become booleans, numbers
    become ``int`` or ``float``; anything else is returned unchanged.
    """
    if not isinstance(value, str):
        return value
    lowered = value.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    for convert in (int, float):
        try:
            return convert(value)
        except ValueError:
            pass
    return value


def _logger() -> Any:
    import logging

    return logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    # kombu's module logger, made on first use: importing logging costs more
    # than the rest of this module.
    if name == "logger":
        return _logger()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
