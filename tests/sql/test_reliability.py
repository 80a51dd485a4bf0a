"""At-least-once on a database: killed consumers, concurrent consumers, a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sql_support import Db

from kombu import Connection, Queue

WORKER = str(Path(__file__).resolve().parent / "sql_worker.py")


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, WORKER, *args], env=dict(os.environ))


def _lines(path: Path) -> list[tuple[int, int]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((int(parts[0]), int(parts[1])))
    return out


def _wait(cond: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def _publish(db: Db, queue: str, count: int) -> None:
    with Connection(db.broker, transport_options=db.options) as conn:
        producer = conn.Producer()
        for n in range(count):
            producer.publish({"n": n}, routing_key=queue, declare=[Queue(queue)] if not n else None)


def test_sigkilled_consumer_messages_come_back_never_twice_while_it_lives(
        db: Db, tmp_path: Path) -> None:
    options = dict(db.options, visibility_timeout=1.5)
    _publish(db, "killme", 50)
    held_log, other_log = tmp_path / "held.txt", tmp_path / "other.txt"
    holder = _spawn("consume", db.broker, json.dumps(options), "killme", str(held_log), "20",
                    "hold")
    try:
        assert _wait(lambda: len(_lines(held_log)) >= 20, 30), "the holder got nothing"
        other = _spawn("consume", db.broker, json.dumps(options), "killme", str(other_log), "10")
        try:
            # The holder lives (its lease keeper renews) for two leases: nothing of its comes here.
            assert _wait(lambda: len(_lines(other_log)) >= 30, 30)
            time.sleep(2 * 1.5)
            held = {n for n, _ in _lines(held_log)}
            assert len(held) == 20
            assert not held & {n for n, _ in _lines(other_log)}
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
            assert _wait(lambda: len(_lines(other_log)) >= 50, 1.5 + 15), _lines(other_log)
            time.sleep(0.5)
        finally:
            other.kill()
            other.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    got = _lines(other_log)
    counts = Counter(n for n, _ in got)
    assert sorted(counts) == list(range(50)) and max(counts.values()) == 1, counts
    assert {n for n, redelivered in got if redelivered} == held


def test_four_consumers_two_producers_every_message_once(db: Db, tmp_path: Path) -> None:
    per_producer = 400
    logs = [tmp_path / f"c{i}.txt" for i in range(4)]
    consumers = [_spawn("consume", db.broker, json.dumps(db.options), "crowd", str(log), "10")
                 for log in logs]
    try:
        assert _wait(lambda: all("ready" in (log.read_text() if log.exists() else "")
                                 for log in logs), 30)
        started = time.monotonic()
        producers = [_spawn("produce", db.broker, json.dumps(db.options), "crowd",
                            str(i * per_producer), str(per_producer)) for i in range(2)]
        for p in producers:
            assert p.wait(120) == 0
        total = 2 * per_producer
        assert _wait(lambda: sum(len(_lines(log)) for log in logs) >= total, 60)
        elapsed = time.monotonic() - started
        time.sleep(0.5)
    finally:
        for c in consumers:
            c.kill()
            c.wait(10)
    counts = Counter(n for log in logs for n, _ in _lines(log))
    assert sorted(counts) == list(range(total)), "lost messages"
    assert max(counts.values()) == 1, [n for n, c in counts.items() if c > 1]
    shares = [len(_lines(log)) for log in logs]
    assert sum(1 for s in shares if s) >= 2, f"one consumer took everything: {shares}"
    assert elapsed < 60, elapsed


def test_a_locked_row_does_not_block_other_consumers(server_db: Db) -> None:
    """SKIP LOCKED: rows another transaction holds are passed over, not waited for."""
    from sqlalchemy import create_engine, text

    _publish(server_db, "locks", 20)
    m = server_db.options["message_tablename"]
    engine = create_engine(server_db.url)
    try:
        with engine.connect() as other:
            trans = other.begin()
            locked = [r[0] for r in other.execute(text(
                f"SELECT id FROM {m} ORDER BY id LIMIT 10 FOR UPDATE"))]
            assert len(locked) == 10
            with Connection(server_db.broker, transport_options=server_db.options) as conn:
                queue = conn.SimpleQueue("locks")
                started = time.monotonic()
                got = [queue.get(timeout=2) for _ in range(10)]
                assert time.monotonic() - started < 1.5
                assert sorted(msg.payload["n"] for msg in got) == list(range(10, 20))
                for msg in got:
                    msg.ack()
                trans.rollback()
                rest = [queue.get(timeout=5) for _ in range(10)]
                assert sorted(msg.payload["n"] for msg in rest) == list(range(10))
                for msg in rest:
                    msg.ack()
                queue.close()
    finally:
        engine.dispose()


def test_sqlite_writer_waits_for_another_process_transaction(tmp_path: Path) -> None:
    """WAL + busy_timeout: a short write transaction of another process delays, never fails."""
    import sqlite3

    path = tmp_path / "busy.db"
    url = f"sqla+sqlite:///{path}"
    with Connection(url) as conn:
        conn.SimpleQueue("busy").put({"n": 0})
        blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        threading.Timer(0.5, blocker.execute, ("COMMIT",)).start()
        started = time.monotonic()
        conn.SimpleQueue("busy").put({"n": 1})
        assert time.monotonic() - started >= 0.4
        blocker.close()
        q = conn.SimpleQueue("busy")
        assert [q.get(timeout=2).payload["n"] for _ in range(2)] == [0, 1]
        journal = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert journal == "wal"


@pytest.mark.timeout(180)
def test_postgresql_restart_mid_stream_loses_nothing(private_pg: object) -> None:
    server = private_pg
    url = f"sqla+{server.url}"  # type: ignore[attr-defined]
    options = {"polling_interval": 0.1, "visibility_timeout": 5}
    total = 300
    received: Counter[int] = Counter()
    published: list[int] = []
    stop = threading.Event()

    def produce() -> None:
        with Connection(url, transport_options=options) as conn:
            producer = conn.Producer()
            publish = conn.ensure(producer, producer.publish, max_retries=60,
                                  interval_start=0.2, interval_step=0.2, interval_max=1)
            for n in range(total):
                publish({"n": n}, routing_key="restart", declare=[Queue("restart")])
                published.append(n)
                time.sleep(0.005)

    def consume() -> None:
        conn = Connection(url, transport_options=options)
        while not stop.is_set():
            try:
                conn.ensure_connection(max_retries=60, interval_start=0.2, interval_max=1)
                with conn.Consumer([Queue("restart")], prefetch_count=10, callbacks=[
                        lambda body, msg: (received.update([body["n"]]), msg.ack())]):
                    while not stop.is_set():
                        try:
                            conn.drain_events(timeout=0.5)
                        except TimeoutError:
                            pass
            except conn.connection_errors + conn.channel_errors:
                conn.collect()
                time.sleep(0.2)
        conn.release()

    producer_thread = threading.Thread(target=produce)
    consumer_thread = threading.Thread(target=consume)
    producer_thread.start()
    consumer_thread.start()
    assert _wait(lambda: len(published) >= total // 3, 60)
    server.stop()  # type: ignore[attr-defined]
    time.sleep(1.0)
    server.start()  # type: ignore[attr-defined]
    producer_thread.join(120)
    assert len(published) == total, "the producer did not finish after the restart"
    assert _wait(lambda: set(range(total)) <= set(received), 60), \
        sorted(set(range(total)) - set(received))[:20]
    stop.set()
    consumer_thread.join(30)


@pytest.mark.timeout(120)
def test_stale_pooled_connections_after_a_restart_are_replaced(private_pg: object) -> None:
    """The first operation after a restart runs on a fresh connection, without an error."""
    url = f"sqla+{private_pg.url}"  # type: ignore[attr-defined]
    with Connection(url, transport_options={"polling_interval": 0.1}) as conn:
        queue = conn.SimpleQueue("stale")
        queue.put({"n": 1})
        private_pg.stop()  # type: ignore[attr-defined]
        private_pg.start()  # type: ignore[attr-defined]
        queue.put({"n": 2})
        assert [queue.get(timeout=5).payload["n"] for _ in range(2)] == [1, 2]
        queue.close()
