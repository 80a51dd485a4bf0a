"""PostgreSQL ``LISTEN/NOTIFY``: a consumer sleeps until a message lands in a queue it watches.

A trigger on the message table sends ``NOTIFY <message table>, '<queue>'`` for
each row that becomes ready (published, requeued, or given back after its
lease lapsed); :class:`NotifyWaiter` holds one connection of its own that
``LISTEN``\\s, and wakes the drain loop when a watched queue is named.  It
still returns after ``polling_interval`` so that lapsed leases are restored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

__all__ = ("NotifyWaiter", "install_trigger")

logger = logging.getLogger(__name__)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def install_trigger(conn: Connection, table: str) -> None:
    """Create the notify function and trigger on ``table`` unless they exist."""
    function = f"{table}_notify"
    trigger = f"{table}_ready"
    found = conn.execute(text(
        "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = :trigger AND c.oid = to_regclass(:table)"),
        {"trigger": trigger, "table": _ident(table)}).first()
    if found:
        return
    conn.execute(text(
        f"CREATE OR REPLACE FUNCTION {_ident(function)}() RETURNS trigger AS $$ "
        f"BEGIN PERFORM pg_notify({_literal(table)}, NEW.queue); RETURN NULL; END "
        f"$$ LANGUAGE plpgsql"))
    conn.execute(text(
        f"CREATE TRIGGER {_ident(trigger)} AFTER INSERT OR UPDATE OF state ON "
        f"{_ident(table)} FOR EACH ROW WHEN (NEW.state = 0) "
        f"EXECUTE FUNCTION {_ident(function)}()"))


class NotifyWaiter:
    """Waits on ``LISTEN`` (psycopg 3 or psycopg2) for news of the watched queues."""

    def __init__(self, db: Any, maximum: float) -> None:
        self.db = db
        self.channel = db.schema.messages.name
        self.maximum = maximum
        self.queues: frozenset[str] = frozenset()
        self.seq = 0
        self._conn: Any = None
        self._closed = False
        self._lock = threading.RLock()

    # -- the LISTEN connection ------------------------------------------------

    def _connect(self) -> Any:
        if self._closed:
            raise ConnectionError("the waiter is closed")
        with self._lock:
            return self._connect_locked()

    def _connect_locked(self) -> Any:
        if self._conn is None:
            # A connection of its own, outside the engine's pool.
            engine = self.db.engine
            cargs, cparams = engine.dialect.create_connect_args(engine.url)
            conn = engine.dialect.connect(*cargs, **cparams)
            try:
                conn.autocommit = True
                cursor = conn.cursor()
                cursor.execute(f"LISTEN {_ident(self.channel)}")
                cursor.close()
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def _receive(self, timeout: float) -> bool:
        """Read notices for up to ``timeout`` seconds; True if one named a watched queue."""
        conn = self._connect()
        hit = False
        deadline = time.monotonic() + timeout
        if hasattr(conn, "notifies") and callable(conn.notifies):  # psycopg 3
            while True:
                remaining = max(0.0, deadline - time.monotonic())
                got = False
                for notice in conn.notifies(timeout=remaining if not hit else 0.0):
                    got = True
                    if notice.payload in self.queues:
                        hit = True
                        break
                if hit or not got or time.monotonic() >= deadline:
                    return hit
        import select

        while True:  # psycopg2
            conn.poll()
            while conn.notifies:
                if conn.notifies.pop(0).payload in self.queues:
                    hit = True
            remaining = deadline - time.monotonic()
            if hit or remaining <= 0:
                return hit
            select.select([conn], [], [], remaining)

    # -- the Waiter protocol ----------------------------------------------------

    def watch(self, queues: Collection[str]) -> None:
        self.queues = frozenset(queues)
        try:
            self._connect()
        except Exception as exc:
            logger.debug("kombu-sql: LISTEN connection failed: %r", exc)
            self._drop()

    def token(self) -> Any:
        return self.seq

    def wait(self, token: Any, timeout: float | None) -> None:
        limit = self.maximum if timeout is None else min(self.maximum, timeout)
        try:
            if self._receive(max(0.0, limit)):
                self.seq += 1
        except Exception as exc:
            logger.debug("kombu-sql: LISTEN connection lost: %r", exc)
            self._drop()
            time.sleep(min(limit, 0.5))

    def fileno(self) -> int | None:
        try:
            return int(self._connect().fileno())
        except Exception:
            return None

    def close(self) -> None:
        self._closed = True
        self._drop()
