"""The SQLAlchemy transport (``sqla+<URL>``, ``sqlalchemy+<URL>``).

This module also answers ``import kombu.transport.sqlalchemy``.

Connection URL: ``sqla+`` followed by a SQLAlchemy database URL, e.g.
``sqla+postgresql+psycopg://user:pw@host/db``, ``sqla+mysql+pymysql://root@host/db``
or ``sqla+sqlite:////var/lib/app/broker.db``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import __version__ as sqlalchemy_version
from sqlalchemy import exc as sa_exc

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.utils.url import maybe_sanitize_url

from .channel import DEFAULT_VISIBILITY_TIMEOUT, Channel, Message
from .engine import Database, database_for, ping
from .storage import SqlStorage
from .waiter import BackoffWaiter

__all__ = ("Channel", "DatabaseConnectionError", "Message", "Transport")

#: Transport options kombu passed straight to ``create_engine`` (kombu's SQLAlchemy
#: transport gave it every option it did not know); here, only these names.
ENGINE_KEYWORDS = frozenset({
    "connect_args", "echo", "echo_pool", "execution_options", "hide_parameters",
    "isolation_level", "logging_name", "max_overflow", "pool_logging_name",
    "pool_pre_ping", "pool_recycle", "pool_reset_on_return", "pool_size", "pool_timeout",
    "pool_use_lifo", "poolclass", "query_cache_size", "insertmanyvalues_page_size",
    "json_serializer", "json_deserializer", "plugins",
})


class DatabaseConnectionError(ConnectionError):
    """The database refused or did not answer the connection (the message says why)."""


class Transport(virtual.Transport):
    """A database as the broker, through SQLAlchemy 2.x."""

    Channel = Channel
    Storage = SqlStorage
    can_parse_url = True
    driver_type = "sql"
    driver_name = "sqlalchemy"
    default_port = 0
    #: Longest sleep (seconds) between polls while idle (the back-off's ceiling).
    polling_interval: float | None = 1.0
    #: Shortest sleep between polls (the back-off starts here after work came).
    polling_interval_min = 0.005
    connection_errors = (sa_exc.OperationalError, sa_exc.InterfaceError,
                         sa_exc.DisconnectionError, sa_exc.TimeoutError, ConnectionError)
    channel_errors = (ChannelError, sa_exc.ProgrammingError, sa_exc.IntegrityError,
                      sa_exc.DataError, sa_exc.InternalError)
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
        self.options: dict[str, Any] = dict(getattr(client, "transport_options", None) or {})
        self.visibility_timeout = float(self.options.get(
            "visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))
        if "polling_interval_min" in self.options:
            self.polling_interval_min = float(self.options["polling_interval_min"])
        self._db: Database | None = None

    @property
    def url(self) -> str:
        url = self.client.hostname
        if not url or "://" not in str(url):
            raise ValueError(
                f"The sqla transport needs a SQLAlchemy database URL after 'sqla+', e.g. "
                f"'sqla+postgresql+psycopg://user@host/db' or 'sqla+sqlite:///path.db' "
                f"(got {maybe_sanitize_url(str(url or ''))!r})")
        return str(url)

    def engine_options(self) -> dict[str, Any]:
        options = {k: v for k, v in self.options.items() if k in ENGINE_KEYWORDS}
        options.update(self.options.get("engine_options") or {})
        return options

    def database(self) -> Database:
        """The process-wide engine for this URL and options (tables created)."""
        if self._db is None:
            opts = dict(self.options)
            opts["engine_options"] = self.engine_options()
            self._db = database_for(self.url, opts)
        return self._db

    def create_waiter(self) -> Any:
        db = self.database()
        maximum = self.polling_interval if self.polling_interval is not None else 1.0
        if db.is_postgresql and self.options.get("listen_notify", True):
            from .notify import NotifyWaiter

            return NotifyWaiter(db, maximum)
        return BackoffWaiter(self.polling_interval_min, maximum)

    def establish_connection(self) -> Any:
        db = self.database()
        try:
            ping(db)
        except sa_exc.DBAPIError as exc:
            raise _explain(exc, maybe_sanitize_url(self.url)) from exc
        return super().establish_connection()

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else maybe_sanitize_url(uri, mask)

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {"port": self.default_port, "hostname": None}

    def driver_version(self) -> str:
        return str(sqlalchemy_version)


def _explain(exc: sa_exc.DBAPIError, where: str) -> BaseException:
    """A connection failure rephrased to name the database and the likely fix."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    low = text.lower()
    hint = ""
    if "password" in low or "access denied" in low or "authentication" in low:
        hint = ": check the user name and password in the URL"
    elif "does not exist" in low or "unknown database" in low:
        hint = ": create the database first (the transport creates only its tables)"
    elif "unable to open" in low:
        hint = ": check that the SQLite file's folder exists and is writable"
    return DatabaseConnectionError(f"Cannot connect to {where} ({text}){hint}")
