"""Options, defaults and URL handling that need no client library (imported before pymongo)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = (
    "DEFAULTS",
    "MongoSettings",
    "pymongo_module",
    "require_pymongo",
    "settings_for",
)

MISSING_PYMONGO = ("The MongoDB transport needs the pymongo client library, which is not "
                   "installed (or failed to import). Install it with: "
                   "pip install 'kombu-core[mongo]'")

#: kombu's MongoDB transport options with kombu's defaults.
DEFAULTS: dict[str, Any] = {
    "connect_timeout": None,
    "ssl": False,
    "ttl": False,
    "capped_queue_size": 100000,
    "calc_queue_size": True,
    "default_hostname": "127.0.0.1",
    "default_port": 27017,
    "default_database": "kombu_default",
    "messages_collection": "messages",
    "routing_collection": "messages.routing",
    "broadcast_collection": "messages.broadcast",
    "queues_collection": "messages.queues",
}
#: Options of this transport only.
EXTRA_DEFAULTS: dict[str, Any] = {
    #: Seconds a fetched message stays leased without renewal (kombu: no lease).
    "visibility_timeout": 60.0,
}
#: Seconds to find the server when ``connect_timeout`` is not set.
FALLBACK_CONNECT_TIMEOUT = 5.0
_BOOLEANS = {"ssl", "ttl", "calc_queue_size"}
_NUMBERS = {"connect_timeout": float, "capped_queue_size": int, "default_port": int,
            "visibility_timeout": float}


def require_pymongo() -> None:
    """Fail now, with the install command, if pymongo cannot be found (it is not imported)."""
    from importlib.util import find_spec

    try:
        found = find_spec("pymongo") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ImportError(MISSING_PYMONGO)


def pymongo_module() -> Any:
    """The ``pymongo`` package, imported on first use (with the install command if missing)."""
    try:
        import pymongo
    except ImportError as exc:
        raise ImportError(MISSING_PYMONGO) from exc
    return pymongo


def _coerce(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _BOOLEANS:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(f"MongoDB transport option {name} must be a boolean, not {value!r}")
        return bool(value)
    if name in _NUMBERS:
        try:
            return _NUMBERS[name](value)
        except (TypeError, ValueError):
            raise ValueError(f"MongoDB transport option {name} must be a number, "
                             f"not {value!r}") from None
    return value


@dataclass
class MongoSettings:
    """Everything the transport needs to connect: the pymongo URI, keyword arguments, names."""

    uri: str
    database: str
    options: dict[str, Any]
    client_kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """The server(s) for messages, without credentials."""
        parts = urlsplit(self.uri)
        host = parts.netloc.rpartition("@")[2]
        return f"{parts.scheme}://{host}/{self.database}"


def _split_query(query: str, options: dict[str, Any]) -> str:
    """Move our options out of a URL query; return what is left for pymongo."""
    keep = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in DEFAULTS or key in EXTRA_DEFAULTS or key == "polling_interval":
            options.setdefault(key, value)
        else:
            keep.append((key, value))
    return urlencode(keep)


def settings_for(client: Any) -> MongoSettings:
    """Connection settings from a :class:`kombu.Connection` (URL, options, parts)."""
    options: dict[str, Any] = dict(getattr(client, "transport_options", None) or {})
    hostname = str(getattr(client, "hostname", None) or "")
    if "://" in hostname:
        parts = urlsplit(hostname)
        if parts.scheme not in ("mongodb", "mongodb+srv"):
            raise ValueError(f"MongoDB transport: URL scheme must be mongodb:// or "
                             f"mongodb+srv://, not {parts.scheme}://")
        query = _split_query(parts.query, options)
        path_db = unquote(parts.path.lstrip("/"))
        netloc = parts.netloc
        if not netloc.rpartition("@")[2]:
            netloc = netloc + _host_port(options)
    else:
        path_db = ""
        query = ""
        netloc = hostname or ""
        if netloc and ":" not in netloc and getattr(client, "port", None):
            netloc = f"{netloc}:{client.port}"
        if not netloc:
            netloc = _host_port(options)
        userid = getattr(client, "userid", None)
        password = getattr(client, "password", None)
        if userid:
            creds = quote(str(userid), safe="")
            if password:
                creds += ":" + quote(str(password), safe="")
            netloc = f"{creds}@{netloc}"
        vhost = str(getattr(client, "virtual_host", None) or "").strip("/")
        path_db = vhost
        parts = urlsplit("mongodb://x")
    merged = {**DEFAULTS, **EXTRA_DEFAULTS}
    for key in merged:
        if key in options:
            merged[key] = _coerce(key, options[key])
    database = path_db or str(merged["default_database"])
    if any(ch in database for ch in '/\\. "$') or len(database) > 63:
        raise ValueError(f"MongoDB transport: {database!r} is not a valid database name")
    if merged["visibility_timeout"] is None or merged["visibility_timeout"] <= 0:
        raise ValueError("MongoDB transport: visibility_timeout must be a positive number of "
                         "seconds")
    uri = urlunsplit((parts.scheme, netloc, "/" + quote(database), query, ""))
    timeout = merged["connect_timeout"] or getattr(client, "connect_timeout", None) \
        or FALLBACK_CONNECT_TIMEOUT
    ms = max(1, int(float(timeout) * 1000))
    kwargs: dict[str, Any] = {"connectTimeoutMS": ms, "serverSelectionTimeoutMS": ms,
                              "appname": "kombu-mongo"}
    if merged["ssl"] or getattr(client, "ssl", False):
        kwargs["tls"] = True
        if isinstance(getattr(client, "ssl", None), dict):
            kwargs.update(_tls_kwargs(client.ssl))
    return MongoSettings(uri, database, merged, kwargs)


def _host_port(options: dict[str, Any]) -> str:
    host = options.get("default_hostname") or DEFAULTS["default_hostname"]
    port = options.get("default_port") or DEFAULTS["default_port"]
    return f"{host}:{int(port)}"


def _tls_kwargs(ssl: dict[str, Any]) -> dict[str, Any]:
    """pymongo TLS keyword arguments from kombu's ``ssl`` dict (``ca_certs``, ``certfile``...)."""
    out: dict[str, Any] = {}
    if ssl.get("ca_certs"):
        out["tlsCAFile"] = ssl["ca_certs"]
    if ssl.get("certfile"):
        out["tlsCertificateKeyFile"] = ssl["certfile"]
    if ssl.get("cert_reqs") in (0, "CERT_NONE", "none"):
        out["tlsAllowInvalidCertificates"] = True
    return out
