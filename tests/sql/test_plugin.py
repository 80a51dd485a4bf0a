"""kombu-sql's registration, URLs, options, tables and connection errors."""

from __future__ import annotations

import builtins
import importlib
import sys
from typing import Any

import pytest
from sql_support import MY_URL, PG_URL, Db

from kombu import Connection, Exchange, Queue
from kombu.exceptions import OperationalError


def test_schemes_and_kombu_module_path() -> None:
    import kombu_sql.transport

    from kombu.transport import get_transport_cls

    assert get_transport_cls("sqla") is kombu_sql.transport.Transport
    assert get_transport_cls("sqlalchemy") is kombu_sql.transport.Transport
    legacy = importlib.import_module("kombu.transport.sqlalchemy")
    assert legacy.Transport is kombu_sql.transport.Transport


def test_plugin_module_imports_no_sqlalchemy() -> None:
    import subprocess

    code = ("import sys, kombu_sql; from kombu import Connection; "
            "Connection('sqla+sqlite:///x.db').transport_cls; "
            "print('sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_quick_start_round_trip(db: Db) -> None:
    """The README's quick start, on each database."""
    with Connection(db.broker, transport_options=db.options) as conn:
        queue = conn.SimpleQueue("hello")
        queue.put({"hello": "world"})
        message = queue.get(timeout=5)
        assert message.payload == {"hello": "world"}
        message.ack()
        queue.close()


def test_both_prefixes_and_clones(db: Db) -> None:
    for prefix in ("sqla", "sqlalchemy"):
        with Connection(f"{prefix}+{db.url}", transport_options=db.options) as conn:
            conn.connect()
            clone = conn.clone()
            assert clone.hostname == db.url
            assert clone.as_uri() == conn.as_uri()
            clone.connect()
            clone.release()


def test_tables_are_created_with_the_given_names_and_indexes(db: Db) -> None:
    from sqlalchemy import inspect

    with Connection(db.broker, transport_options=db.options) as conn:
        conn.connect()
    engine = db.engine()
    try:
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
        q, m = db.options["queue_tablename"], db.options["message_tablename"]
        assert {q, m, f"{m}_exchange", f"{m}_binding"} <= tables
        indexes = {i["name"]: i for i in inspector.get_indexes(m)}
        fetch = indexes[f"ix_{m}_fetch"]
        assert fetch["column_names"] == ["queue", "state", "rank", "seq", "id"]
        assert indexes[f"ix_{m}_token"]["unique"]
        assert f"ix_{m}_lease" in indexes
    finally:
        engine.dispose()


def test_engine_options_reach_create_engine(server_db: Db) -> None:
    options = dict(server_db.options, pool_size=3, engine_options={"pool_recycle": 123})
    with Connection(server_db.broker, transport_options=options) as conn:
        conn.connect()
        engine = conn.default_channel.storage.db.engine
        assert engine.pool.size() == 3
        assert engine.pool._recycle == 123


def test_old_kombu_tables_are_named_in_the_error(db: Db) -> None:
    from sqlalchemy import text

    engine = db.engine()
    m = db.options["message_tablename"]
    with engine.begin() as c:
        c.execute(text(f"CREATE TABLE {m} (id INTEGER PRIMARY KEY, visible INTEGER)"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="message_tablename"):
        with Connection(db.broker, transport_options=db.options) as conn:
            conn.connect()


@pytest.mark.parametrize("url, match", [
    ("sqla+nosuchdb://x/y", "nosuchdb"),
    ("sqla+oracle://u@h/db", "SQLite, PostgreSQL and MySQL"),
    ("sqla+sqlite:////no/such/folder/x.db", "folder"),
])
def test_bad_urls(url: str, match: str) -> None:
    with pytest.raises(Exception, match=match):
        with Connection(url, transport_options={"max_retries": 0}) as conn:
            conn.ensure_connection(max_retries=1)


def test_missing_driver_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pymysql(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (),
                   level: int = 0) -> Any:
        if level == 0 and (name == "pymysql" or name.startswith("pymysql.")):
            raise ImportError(f"No module named {name!r}", name=name)
        return real_import(name, globals, locals, fromlist, level)

    for mod in [m for m in sys.modules if m == "pymysql" or m.startswith("pymysql.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_pymysql)
    url = "sqla+mysql+pymysql://root@127.0.0.1:3306/nodriver"
    with pytest.raises(ImportError, match=r"pip install 'kombu-core\[sql-mysql\]'"):
        Connection(url).connect()


def test_wrong_credentials(server_db: Db) -> None:
    url = (PG_URL.replace("postgres@", "nobody:secret@") if server_db.name == "postgresql"
           else MY_URL.replace("root@", "nobody:secret@"))
    conn = Connection(f"sqla+{url}", transport_options=server_db.options)
    with pytest.raises(OperationalError) as info:
        conn.ensure_connection(max_retries=1)
    text = str(info.value)
    assert "secret" not in text
    assert "user name and password" in text or "nobody" in text
    conn.release()


def test_missing_database(server_db: Db) -> None:
    url = server_db.url.rsplit("/", 1)[0] + "/no_such_db_kombu"
    conn = Connection(f"sqla+{url}", transport_options=server_db.options)
    with pytest.raises(OperationalError, match="create the database"):
        conn.ensure_connection(max_retries=1)
    conn.release()


def test_topic_fanout_priority_ttl_dead_letter(db: Db) -> None:
    """A smoke test of the emulated broker's features on each database (the kit has more)."""
    with Connection(db.broker, transport_options=db.options) as conn:
        dlx = Exchange("dlx", "fanout")
        dead = Queue("dead", dlx)
        ex = Exchange("ev", "topic")
        queue = Queue("ev.q", ex, "a.#", queue_arguments={
            "x-max-priority": 9, "x-dead-letter-exchange": "dlx"})
        producer = conn.Producer()
        producer.publish({"n": 0}, exchange=ex, routing_key="a.b", declare=[queue, dead],
                         priority=1)
        producer.publish({"n": 1}, exchange=ex, routing_key="a.b", priority=9)
        producer.publish({"n": 2}, exchange=ex, routing_key="a.b", expiration=0.01)
        bound = queue(conn.default_channel)
        import time

        time.sleep(0.1)
        first = bound.get(no_ack=False)
        assert first is not None and first.payload == {"n": 1}
        first.reject(requeue=False)
        second = bound.get(no_ack=True)
        assert second is not None and second.payload == {"n": 0}
        assert bound.get(no_ack=True) is None  # n=2 expired
        dead_bound = dead(conn.default_channel)
        got = sorted(m.payload["n"] for m in iter(lambda: dead_bound.get(no_ack=True), None))
        assert got == [1, 2]
