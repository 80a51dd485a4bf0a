"""Round trips, waking and options of kombu-sql's delivery path."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sql_support import Db

from kombu import Connection, Queue


def _count_statements(engine: Any) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.upper())

    return seen


def test_one_round_trip_moves_up_to_prefetch_count(db: Db) -> None:
    with Connection(db.broker, transport_options=db.options) as conn:
        producer = conn.Producer()
        for n in range(250):
            producer.publish({"n": n}, routing_key="batch",
                             declare=[Queue("batch")] if not n else None)
        storage = conn.default_channel.storage
        got: list[int] = []
        with conn.Consumer([Queue("batch")], prefetch_count=100,
                           callbacks=[lambda body, msg: got.append(body["n"])]):
            seen = _count_statements(storage.db.engine)
            while len(got) < 100:
                conn.drain_events(timeout=5)
        # SQLite/PostgreSQL: one UPDATE ... RETURNING; MariaDB: one SELECT ... FOR UPDATE
        # SKIP LOCKED (and the UPDATE of the ids it locked, in the same transaction).
        marker = "FOR UPDATE" if db.name == "mysql" else "RETURNING"
        assert len([s for s in seen if marker in s]) == 1, seen
        assert got == list(range(100))


def test_acks_are_one_statement_each_and_final(db: Db) -> None:
    with Connection(db.broker, transport_options=db.options) as conn:
        q = conn.SimpleQueue("acks")
        for n in range(3):
            q.put({"n": n})
        messages = [q.get(timeout=5) for _ in range(3)]
        for message in messages:
            message.ack()
        q.close()
    with Connection(db.broker, transport_options=dict(db.options, visibility_timeout=0.2)) \
            as conn:
        time.sleep(0.4)
        conn.default_channel.storage.restore_lapsed()
        assert conn.SimpleQueue("acks").qsize() == 0


def test_postgresql_listen_notify_wakes_a_waiting_consumer(pg: Db) -> None:
    """With a 5 s polling interval, a message still arrives within a fraction of it."""
    options = dict(pg.options, polling_interval=5.0)
    with Connection(pg.broker, transport_options=options) as conn, \
            Connection(pg.broker, transport_options=options) as other:
        got: list[float] = []
        queue = Queue("wake")
        queue(conn.default_channel).declare()
        with conn.Consumer([queue], callbacks=[
                lambda body, msg: (got.append(time.monotonic()), msg.ack())]):
            try:
                conn.drain_events(timeout=0.3)  # the consumer now sleeps on LISTEN
            except TimeoutError:
                pass
            sent = []

            def publish() -> None:
                time.sleep(0.5)
                sent.append(time.monotonic())
                other.Producer().publish({"n": 1}, routing_key="wake")

            thread = threading.Thread(target=publish)
            thread.start()
            conn.drain_events(timeout=4)
            thread.join()
        assert got and got[0] - sent[0] < 0.5, got[0] - sent[0]


def test_listen_notify_can_be_turned_off(pg: Db) -> None:
    from kombu_sql.waiter import BackoffWaiter

    options = dict(pg.options, listen_notify=False)
    with Connection(pg.broker, transport_options=options) as conn:
        conn.connect()
        assert isinstance(conn.transport.waiter, BackoffWaiter)


def test_backoff_waiter_doubles_while_idle_and_resets_after_work() -> None:
    from kombu_sql.waiter import BackoffWaiter

    waiter = BackoffWaiter(0.001, 0.008)
    delays = []
    for _ in range(5):
        waiter.token()
        delays.append(waiter.delay)
        waiter.wait(None, None)
    assert delays == [0.001, 0.002, 0.004, 0.008, 0.008]
    waiter.token()
    waiter.token()  # a fetch found work in between
    waiter.wait(None, None)
    assert waiter.delay == 0.002


@pytest.mark.parametrize("durable", [True, False])
def test_durable_acks_option(pg: Db, durable: bool) -> None:
    from sqlalchemy import text

    options = dict(pg.options, durable_acks=durable)
    with Connection(pg.broker, transport_options=options) as conn:
        conn.connect()
        db = conn.default_channel.storage.db
        with db.relaxed.connect() as c:
            setting = c.execute(text("SHOW synchronous_commit")).scalar()
        assert setting == ("on" if durable else "off")
        with db.auto.connect() as c:
            assert c.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_visibility_timeout_is_the_lease(db: Db) -> None:
    options = dict(db.options, visibility_timeout=7)
    with Connection(db.broker, transport_options=options) as conn:
        assert conn.default_channel.storage.lease_seconds == 7.0
    with Connection(db.broker, transport_options=db.options) as conn:
        assert conn.default_channel.storage.lease_seconds == 120.0


def test_requeue_goes_to_the_head_flagged_redelivered(db: Db) -> None:
    with Connection(db.broker, transport_options=db.options) as conn:
        queue = Queue("head")(conn.default_channel)
        queue.declare()
        producer = conn.Producer()
        for n in range(3):
            producer.publish({"n": n}, routing_key="head")
        first, second = queue.get(), queue.get()
        second.requeue()
        first.requeue()
        got = [queue.get() for _ in range(3)]
        assert [m.payload["n"] for m in got] == [0, 1, 2]
        assert [m.delivery_info["redelivered"] for m in got] == [True, True, False]
        for m in got:
            m.ack()
