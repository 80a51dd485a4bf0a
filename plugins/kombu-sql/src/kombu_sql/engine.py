"""SQLAlchemy engines: one per process, database URL and engine options; tables on first use.

Per dialect:

- **SQLite**: WAL journal, ``busy_timeout``, ``synchronous=NORMAL`` and
  ``BEGIN IMMEDIATE`` transactions, so that several processes share one file
  and a writer waits (up to ``busy_timeout``) instead of failing.
- **PostgreSQL**: READ COMMITTED; single statements run in autocommit (one
  round trip each); a trigger sends ``NOTIFY`` when a message becomes ready.
- **MySQL / MariaDB**: READ COMMITTED (no gap locks between producers and
  consumers); single statements in autocommit.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from .schema import Schema

__all__ = ("Database", "database_for", "pip_hint")

_lock = threading.Lock()
_databases: dict[tuple[Any, ...], Database] = {}

#: Driver module -> the pip install that provides it.
_DRIVER_PACKAGES = {
    "psycopg": "'kombu-core[sql-postgresql]'  (or: pip install 'psycopg[binary]')",
    "psycopg2": "psycopg2-binary",
    "pymysql": "'kombu-core[sql-mysql]'  (or: pip install pymysql)",
    "MySQLdb": "mysqlclient",
    "mysqldb": "mysqlclient",
    "asyncpg": "asyncpg",
    "pg8000": "pg8000",
    "mariadb": "mariadb",
    "mysqlconnector": "mysql-connector-python",
}


def pip_hint(driver: str) -> str:
    return _DRIVER_PACKAGES.get(driver, driver)


def _busy_ms(options: dict[str, Any]) -> int:
    return int(float(options.get("sqlite_busy_timeout", 30.0)) * 1000)


class Database:
    """An engine (and its autocommit twin) with the tables created."""

    def __init__(self, url: str, engine_options: dict[str, Any], schema: Schema,
                 busy_timeout: float, durable_acks: bool = False) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ValueError(f"Malformed SQLAlchemy URL for the sqla transport: {exc} "
                             f"(expected e.g. 'sqla+postgresql+psycopg://user@host/db' or "
                             f"'sqla+sqlite:///path/to/file.db')") from None
        self.url = parsed
        self.backend = parsed.get_backend_name()
        self.driver = parsed.get_driver_name()
        if self.backend not in ("sqlite", "postgresql", "mysql", "mariadb"):
            raise ValueError(f"The sqla transport supports SQLite, PostgreSQL and "
                             f"MySQL/MariaDB, not {self.backend!r}")
        kwargs = dict(engine_options)
        if self.backend == "sqlite":
            kwargs.setdefault("connect_args", {}).setdefault("timeout", busy_timeout)
        else:
            kwargs.setdefault("isolation_level", "READ COMMITTED")
            kwargs.setdefault("pool_size", 10)
            kwargs.setdefault("max_overflow", 20)
        try:
            self.engine: Engine = create_engine(parsed, **kwargs)
        except NoSuchModuleError:
            raise ValueError(f"SQLAlchemy has no dialect for {parsed.drivername!r}") from None
        except ImportError as exc:
            driver = getattr(exc, "name", None) or self.driver
            raise ImportError(
                f"The sqla transport's {parsed.drivername!r} URL needs the database driver "
                f"{driver!r}, which is not installed: pip install {pip_hint(str(driver))}"
            ) from exc
        if self.backend == "sqlite":
            self._sqlite_setup(int(busy_timeout * 1000))
            self.auto = self.engine
        else:
            self.auto = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        #: Where acks, renewals and restores go: on PostgreSQL without ``durable_acks``,
        #: a small pool whose sessions commit with ``synchronous_commit = off``.
        self.relaxed = self.auto
        if self.is_postgresql and not durable_acks:
            self.relaxed = self._relaxed_engine(parsed, kwargs)
        self.schema = schema
        self._ready = False
        self._ready_lock = threading.Lock()

    def _relaxed_engine(self, url: Any, kwargs: dict[str, Any]) -> Engine:
        """An engine whose commits do not wait for the WAL flush (PostgreSQL).

        What such a commit changes is lost only if the database server itself
        crashes within ``wal_writer_delay`` (200 ms by default): for an ack,
        the message is then delivered once more, never lost.
        """
        options = dict(kwargs, pool_size=2, max_overflow=8)
        options.pop("isolation_level", None)
        engine = create_engine(url, isolation_level="AUTOCOMMIT", **options)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("SET synchronous_commit TO off")
            cursor.close()
            dbapi_connection.commit()

        return engine

    @property
    def is_postgresql(self) -> bool:
        return self.backend == "postgresql"

    @property
    def is_mysql(self) -> bool:
        return self.backend in ("mysql", "mariadb")

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    def _sqlite_setup(self, busy_ms: int) -> None:
        memory = self.url.database in (None, "", ":memory:")

        @event.listens_for(self.engine, "connect")
        def _connect(dbapi_connection: Any, record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def ensure_tables(self) -> None:
        """Create the tables (and PostgreSQL's notify trigger) if missing; check their shape."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            if self._tables_ready():
                self._ready = True
                return
            for attempt in range(3):
                try:
                    self._create()
                    break
                except DBAPIError:
                    # Another process created them between our check and our CREATE.
                    if attempt == 2:
                        raise
            self._ready = True

    def _tables_ready(self) -> bool:
        """One cheap query: the tables exist, in this layout (every later start)."""
        schema = self.schema
        checks = [select(schema.messages.c.token, schema.messages.c.lease_until).limit(1),
                  select(schema.queues.c.name).limit(1),
                  select(schema.exchanges.c.version).limit(1),
                  select(schema.bindings.c.args_key).limit(1)]
        try:
            with self.auto.connect() as conn:
                for check in checks:
                    conn.execute(check)
        except DBAPIError:
            return False
        return True

    def _create(self) -> None:
        schema = self.schema
        lock_name = f"kombu-sql:{schema.messages.name}"
        # One process at a time creates the tables (others then find them).
        with self.engine.begin() as conn:
            if self.is_postgresql:
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": lock_name})
            elif self.is_mysql:
                conn.execute(text("SELECT GET_LOCK(:n, 60)"), {"n": lock_name[:64]})
            try:
                schema.metadata.create_all(conn, checkfirst=True)
                self._check_shape(conn)
                if self.is_postgresql:
                    from .notify import install_trigger

                    install_trigger(conn, schema.messages.name)
            finally:
                if self.is_mysql:
                    conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": lock_name[:64]})

    def _check_shape(self, conn: Any) -> None:
        columns = {c["name"] for c in inspect(conn).get_columns(
            self.schema.messages.name)}
        missing = {"token", "state", "lease_until", "payload"} - columns
        if missing:
            raise RuntimeError(
                f"Table {self.schema.messages.name!r} exists but was not made by kombu-sql "
                f"(no column {sorted(missing)[0]!r}: kombu's SQLAlchemy transport uses the same "
                f"default names). Set the transport options 'queue_tablename' and "
                f"'message_tablename' to other names, or drop the old tables.")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.relaxed is not self.auto:
            self.relaxed.dispose()


def database_for(url: str, options: dict[str, Any]) -> Database:
    """The process's :class:`Database` for ``url`` and these transport options."""
    engine_options = dict(options.get("engine_options") or {})
    queue_table = str(options.get("queue_tablename") or "kombu_queue")
    message_table = str(options.get("message_tablename") or "kombu_message")
    busy = float(options.get("sqlite_busy_timeout", 30.0))
    durable = _flag(options.get("durable_acks", False))
    key = (os.getpid(), url, queue_table, message_table, busy, durable,
           json.dumps(engine_options, sort_keys=True, default=repr))
    db = _databases.get(key)
    if db is None:
        with _lock:
            db = _databases.get(key)
            if db is None:
                db = Database(url, engine_options, Schema(queue_table, message_table), busy,
                              durable)
                _databases[key] = db
    return db


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def reset() -> None:
    """Forget (and dispose) every engine of this process (for tests)."""
    with _lock:
        for db in _databases.values():
            db.dispose()
        _databases.clear()


def ping(db: Database) -> None:
    with db.auto.connect() as conn:
        conn.execute(text("SELECT 1"))
