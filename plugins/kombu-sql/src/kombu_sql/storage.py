"""The SQL storage: the emulated broker's queues, leases and bindings in four tables.

A fetch moves up to ``n`` waiting rows of a queue to the leased state in one
statement (PostgreSQL, SQLite: ``UPDATE ... RETURNING``; MySQL/MariaDB: a
``SELECT ... FOR UPDATE SKIP LOCKED`` and an ``UPDATE`` in one transaction),
skipping rows another consumer is taking, and gives each a receipt (the
``token`` column) that ack, renew and requeue use.  A lease lasts
``visibility_timeout`` seconds from the last renewal; a lapsed one is put
back by whoever polls next (:meth:`SqlStorage.restore_lapsed`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from random import getrandbits
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, delete, func, insert, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from kombu.transport.virtual.contract import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps as dumps_envelope
from kombu.transport.virtual.envelope import loads as loads_envelope

from .engine import Database

__all__ = ("SqlStorage",)

READY, LEASED = 0, 1
MAX_LEVEL = 255
#: An INSERT's row count as the driver reports it: SQLAlchemy keeps it only for
#: UPDATE and DELETE unless asked, and psycopg's INSERT then reads as -1 (true),
#: so a publish through a stale routing table looked stored and was lost.
COUNT_ROWS = {"preserve_rowcount": True}


def _args_key(arguments: Mapping[str, Any] | None) -> str:
    if not arguments:
        return ""
    text = json.dumps(dict(arguments), sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)


class SqlStorage:
    """The :class:`~kombu.transport.virtual.Storage` of the sqla transport."""

    blocking_fetch = False
    checks_route_version = True

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        self.db: Database = transport.database()
        self.db.ensure_tables()
        schema = self.db.schema
        self.q = schema.queues
        self.m = schema.messages
        self.x = schema.exchanges
        self.b = schema.bindings
        self.lease_seconds: float | None = transport.visibility_timeout
        self._prefix = uuid.uuid4().hex[:12]
        self._batch = 0
        self._build_statements()

    # -- statements built once ------------------------------------------------

    def _build_statements(self) -> None:
        m = self.m
        self._ack = delete(m).where(m.c.token.in_(bindparam("tags", expanding=True)))
        self._renew = update(m).where(m.c.token.in_(bindparam("tags", expanding=True))) \
            .values(lease_until=bindparam("until"))
        self._insert = insert(m)
        self._ready_ids = (
            select(m.c.id)
            .where(m.c.queue == bindparam("queue"), m.c.state == READY)
            .order_by(m.c.rank, m.c.seq, m.c.id)
            .limit(bindparam("n", type_=None))
        )

    # -- queues ---------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        args = _json(dict(arguments)) if arguments else None
        q = self.q
        with self.db.engine.begin() as conn:
            row = conn.execute(select(q.c.arguments).where(q.c.name == queue)).first()
            if row is None:
                self._insert_ignore(conn, q, {"name": queue, "arguments": args})
            elif args is not None and row[0] != args:
                conn.execute(update(q).where(q.c.name == queue).values(arguments=args))

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        q = self.q
        with self.db.auto.connect() as conn:
            row = conn.execute(select(q.c.arguments).where(q.c.name == queue)).first()
        if row is None:
            return {} if self._has_messages(queue) else None
        return json.loads(row[0]) if row[0] else {}

    def _has_messages(self, queue: str) -> bool:
        m = self.m
        with self.db.auto.connect() as conn:
            return conn.execute(select(m.c.id).where(m.c.queue == queue).limit(1)).first() \
                is not None

    def queue_exists(self, queue: str) -> bool:
        q = self.q
        with self.db.auto.connect() as conn:
            found = conn.execute(select(q.c.id).where(q.c.name == queue)).first()
        return found is not None or self._has_messages(queue)

    def queue_size(self, queue: str) -> int:
        m = self.m
        with self.db.auto.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(m).where(
                m.c.queue == queue, m.c.state == READY)).scalar() or 0)

    def purge_queue(self, queue: str) -> int:
        m = self.m
        with self.db.engine.begin() as conn:
            return int(conn.execute(delete(m).where(m.c.queue == queue,
                                                    m.c.state == READY)).rowcount or 0)

    def delete_queue(self, queue: str) -> int:
        m, q, b = self.m, self.q, self.b
        with self.db.engine.begin() as conn:
            size = int(conn.execute(delete(m).where(m.c.queue == queue,
                                                    m.c.state == READY)).rowcount or 0)
            conn.execute(delete(m).where(m.c.queue == queue))
            exchanges = [r[0] for r in conn.execute(
                select(b.c.exchange).where(b.c.queue == queue).distinct())]
            conn.execute(delete(b).where(b.c.queue == queue))
            for exchange in exchanges:
                self._bump(conn, exchange)
            conn.execute(delete(q).where(q.c.name == queue))
        return size

    # -- exchanges and the binding table ---------------------------------------

    def _insert_ignore(self, conn: Connection, table: Any, values: dict[str, Any]) -> int:
        db = self.db
        if db.is_postgresql:
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt: Any = pg_insert(table).values(values).on_conflict_do_nothing()
        elif db.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).values(values).on_conflict_do_nothing()
        else:
            stmt = insert(table).values(values).prefix_with("IGNORE")
        return int(conn.execute(stmt, execution_options=COUNT_ROWS).rowcount or 0)

    def _bump(self, conn: Connection, exchange: str) -> None:
        """A new route version for ``exchange`` (its row made if missing)."""
        x = self.x
        version = getrandbits(62)
        done = conn.execute(update(x).where(x.c.name == exchange).values(version=version))
        if not done.rowcount:
            self._insert_ignore(conn, x, {"name": exchange, "meta": None, "version": version})

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        x = self.x
        text = _json(dict(meta))
        with self.db.engine.begin() as conn:
            if self._insert_ignore(conn, x, {"name": exchange, "meta": text,
                                             "version": getrandbits(62)}):
                return
            conn.execute(update(x).where(x.c.name == exchange, x.c.meta.is_(None))
                         .values(meta=text, version=getrandbits(62)))

    def delete_exchange(self, exchange: str) -> None:
        x, b = self.x, self.b
        with self.db.engine.begin() as conn:
            conn.execute(delete(b).where(b.c.exchange == exchange))
            conn.execute(delete(x).where(x.c.name == exchange))

    def bind(self, binding: Binding) -> None:
        queue, exchange, routing_key, arguments = binding
        with self.db.engine.begin() as conn:
            # The exchange row first: every bind of one exchange then queues on its lock.
            self._bump(conn, exchange)
            self._insert_ignore(conn, self.b, {
                "exchange": exchange, "queue": queue, "routing_key": routing_key or "",
                "args_key": _args_key(arguments),
                "arguments": _json(dict(arguments)) if arguments else None})

    def unbind(self, binding: Binding) -> None:
        queue, exchange, routing_key, arguments = binding
        b = self.b
        with self.db.engine.begin() as conn:
            gone = conn.execute(delete(b).where(
                b.c.exchange == exchange, b.c.queue == queue,
                b.c.routing_key == (routing_key or ""),
                b.c.args_key == _args_key(arguments))).rowcount
            if gone:
                self._bump(conn, exchange)

    def route_table(self, exchange: str) -> RouteTable:
        x, b = self.x, self.b
        with self.db.engine.begin() as conn:
            # The version first: a binding added meanwhile makes it stale, never the reverse.
            row = conn.execute(select(x.c.version, x.c.meta).where(x.c.name == exchange)).first()
            rows = conn.execute(select(b.c.queue, b.c.routing_key, b.c.arguments)
                                .where(b.c.exchange == exchange).order_by(b.c.id)).all()
        if row is None:
            return RouteTable(None, None, ())
        meta = json.loads(row[1]) if row[1] else None
        bindings = tuple(Binding(queue, exchange, key, json.loads(args) if args else None)
                         for queue, key, args in rows)
        return RouteTable(row[0], meta, bindings)

    def route_version(self, exchange: str) -> Hashable | None:
        return None  # put() checks it

    def exchanges(self) -> list[str]:
        x = self.x
        with self.db.auto.connect() as conn:
            return [r[0] for r in conn.execute(select(x.c.name).where(x.c.meta.is_not(None)))]

    def get_bindings(self) -> list[Binding]:
        b = self.b
        with self.db.auto.connect() as conn:
            rows = conn.execute(select(b.c.queue, b.c.exchange, b.c.routing_key,
                                       b.c.arguments).order_by(b.c.id)).all()
        return [Binding(q, e, k, json.loads(a) if a else None) for q, e, k, a in rows]

    # -- messages ---------------------------------------------------------------

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        text = dumps_envelope(envelope)
        m = self.m
        if version is None:
            rows = [{"queue": queue, "rank": MAX_LEVEL - level, "payload": text}
                    for queue, level in targets]
            with self.db.auto.begin() as conn:
                conn.execute(self._insert, rows)
            return True
        # INSERT ... SELECT guarded by the version (random, so it names its exchange's
        # table as it stands): nothing is stored if the table changed meanwhile.
        x = self.x
        selects = [
            select(literal(queue, String), literal(MAX_LEVEL - level),
                   literal(text, m.c.payload.type), literal(READY), literal(0), literal(0))
            .where(x.c.version == version)
            for queue, level in targets]
        source: Any = selects[0] if len(selects) == 1 else selects[0].union_all(*selects[1:])
        stmt = insert(m).from_select(
            ["queue", "rank", "payload", "state", "seq", "redelivered"], source)
        with self.db.auto.begin() as conn:
            stored = conn.execute(stmt, execution_options=COUNT_ROWS).rowcount
        if stored < 0:
            raise RuntimeError("the database driver did not report how many rows an INSERT "
                               "stored; kombu-sql needs SQLAlchemy >= 2.0.28 to publish safely")
        return stored > 0

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        for queue in queues:
            want = n - len(out)
            if want <= 0:
                break
            out.extend(self._fetch_queue(queue, want, queue in noack))
        return out

    def _next_prefix(self) -> str:
        self._batch += 1
        return f"{self._prefix}.{self._batch}."

    def _fetch_queue(self, queue: str, n: int, noack: bool) -> list[Delivery]:
        db = self.db
        m = self.m
        prefix = self._next_prefix()
        until = time.time() + (self.lease_seconds or 0.0)
        cols = (m.c.id, m.c.rank, m.c.redelivered, m.c.payload, m.c.seq)
        if db.is_mysql:
            with db.engine.begin() as conn:
                rows = conn.execute(
                    select(*cols).where(m.c.queue == queue, m.c.state == READY)
                    .order_by(m.c.rank, m.c.seq, m.c.id).limit(n)
                    .with_for_update(skip_locked=True)).all()
                if not rows:
                    return []
                ids = [r[0] for r in rows]
                if noack:
                    conn.execute(delete(m).where(m.c.id.in_(ids)))
                else:
                    conn.execute(update(m).where(m.c.id.in_(ids)).values(
                        state=LEASED, lease_until=until,
                        token=func.concat(prefix, m.c.id)))
        else:
            pick = (select(m.c.id).where(m.c.queue == queue, m.c.state == READY)
                    .order_by(m.c.rank, m.c.seq, m.c.id).limit(n))
            if db.is_postgresql:
                pick = pick.with_for_update(skip_locked=True)
            stmt: Any
            if noack:
                stmt = delete(m).where(m.c.id.in_(pick.scalar_subquery())).returning(*cols)
            else:
                stmt = (update(m).where(m.c.id.in_(pick.scalar_subquery()))
                        .values(state=LEASED, lease_until=until,
                                token=literal(prefix) + cast(m.c.id, String))
                        .returning(*cols))
            with db.auto.begin() as conn:
                rows = list(conn.execute(stmt).all())
            if not rows:
                return []
            rows.sort(key=lambda r: (r[1], r[4], r[0]))  # RETURNING has no order
        return [self._delivery(queue, prefix, row, noack) for row in rows]

    @staticmethod
    def _delivery(queue: str, prefix: str, row: Any, noack: bool) -> Delivery:
        ident, rank, redelivered, payload = row[0], row[1], row[2], row[3]
        if redelivered:
            try:
                envelope = loads_envelope(payload)
                envelope["properties"]["delivery_info"]["redelivered"] = True
                payload = envelope
            except Exception:
                pass  # the engine reports what it cannot decode
        return Delivery(queue, f"{prefix}{ident}", payload, not noack, MAX_LEVEL - rank)

    def ack(self, tags: Sequence[str]) -> None:
        if tags:
            with self.db.relaxed.begin() as conn:
                conn.execute(self._ack, {"tags": list(tags)})

    def renew(self, tags: Sequence[str]) -> None:
        if tags and self.lease_seconds:
            with self.db.relaxed.begin() as conn:
                conn.execute(self._renew, {"tags": list(tags),
                                           "until": time.time() + self.lease_seconds})

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        m = self.m
        # Ahead of everything waiting, in the order given.
        base = -time.time_ns() - len(deliveries)
        with self.db.engine.begin() as conn:
            for i, delivery in enumerate(deliveries):
                payload = delivery.payload
                text = dumps_envelope(payload) if isinstance(payload, dict) else (
                    payload.decode("utf-8", "replace") if isinstance(payload, bytes)
                    else str(payload))
                values = {"state": READY, "token": None, "lease_until": None,
                          "redelivered": 1, "seq": base + i, "payload": text,
                          "rank": MAX_LEVEL - delivery.level}
                if delivery.leased:
                    conn.execute(update(m).where(m.c.token == delivery.tag).values(values))
                    # (absent: its lease lapsed and someone gave it back already)
                else:
                    conn.execute(insert(m).values(queue=delivery.queue, **values))

    def restore_lapsed(self) -> int:
        if not self.lease_seconds:
            return 0
        m = self.m
        with self.db.relaxed.begin() as conn:
            return int(conn.execute(
                update(m).where(and_(m.c.state == LEASED, m.c.lease_until < time.time()))
                .values(state=READY, token=None, lease_until=None, redelivered=1)
            ).rowcount or 0)

    def close(self) -> None:
        pass



def _retry_stale(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``method`` again, once, when its pooled connection turned out to be dead.

    After a database restart every pooled connection is stale; SQLAlchemy
    notices on first use and drops the whole pool, so one retry on a fresh
    connection succeeds.  A retry is safe for every method under
    at-least-once: ack, renew, restore and requeue are idempotent; a fetch
    whose reply was lost leaves rows leased that come back when the lease
    lapses; a publish whose COMMIT reply was lost may be stored twice, as with
    kombu's ``retry=True``.
    """

    @functools.wraps(method)
    def retrying(self: SqlStorage, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        except self.db.driver_errors:
            # Raised by the driver outside a statement (e.g. setting autocommit on a
            # pooled connection that died): SQLAlchemy neither wraps it nor drops the pool.
            self.db.engine.dispose()
            if self.db.relaxed is not self.db.auto:
                self.db.relaxed.dispose()
            try:
                return method(self, *args, **kwargs)
            except self.db.driver_errors as again:
                raise OperationalError(None, None, again) from again
        return method(self, *args, **kwargs)

    return retrying


for _name in ("declare_queue", "queue_arguments", "queue_exists", "queue_size", "purge_queue",
              "delete_queue", "declare_exchange", "delete_exchange", "bind", "unbind",
              "route_table", "exchanges", "get_bindings", "put", "fetch", "ack", "renew",
              "requeue", "restore_lapsed"):
    setattr(SqlStorage, _name, _retry_stale(getattr(SqlStorage, _name)))
