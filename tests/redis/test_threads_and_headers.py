"""Headers kombu's JSON packs, and one connection shared by a publishing and a consuming thread."""

from __future__ import annotations

import datetime
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

from kombu import Connection, Consumer, Producer, Queue
from kombu.exceptions import EncodeError

HEADERS: dict[str, Any] = {
    "raw": b"\x00\xff\x80 not utf-8",
    "aware": datetime.datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=datetime.timezone.utc),
    "naive": datetime.datetime(2024, 1, 2, 3, 4, 5),
    "day": datetime.date(2024, 1, 2),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "amount": Decimal("1.10"),
    "nested": {"ids": [uuid.UUID(int=7), b"x"], "n": Decimal("-0.5")},
    "plain": "text",
}


def test_headers_round_trip_as_kombu_does(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("hdr.types")
        q.put({"n": 1}, headers=HEADERS)
        message = q.get(timeout=2)
        message.ack()
    assert message.headers == HEADERS
    for name, value in HEADERS.items():  # same types, not just equal values
        assert type(message.headers[name]) is type(value), name
    assert message.headers["aware"].tzinfo == datetime.timezone.utc


#: What kombu 5.7's Redis transport imports beyond kombu itself.
REDIS57 = ("redis", "packaging")


def test_headers_round_trip_through_kombu_57(url: str, prefix: str) -> None:
    """kombu 5.7 reads what we wrote, with the same types (and we read what it writes)."""
    from kombu57 import run57

    code = """
import sys, datetime, uuid
from decimal import Decimal
from kombu import Connection
opts = {"global_keyprefix": sys.argv[1]}
with Connection("redis://127.0.0.1:6379/11", transport_options=opts) as conn:
    q = conn.SimpleQueue("hdr.57")
    m = q.get(timeout=5)
    m.ack()
    print(sorted((k, type(v).__name__, repr(v)) for k, v in m.headers.items()))
    q.put("back", headers=m.headers)
"""
    with Connection(url) as conn:
        conn.SimpleQueue("hdr.57").put("to 5.7", headers=HEADERS)
        seen = run57(code, prefix, packages=REDIS57)
        expected = sorted((k, type(v).__name__, repr(v)) for k, v in HEADERS.items())
        assert seen.strip() == repr(expected)
        back = conn.SimpleQueue("hdr.57").get(timeout=5)
        back.ack()
    assert back.headers == HEADERS


def test_unpackable_header_raises_encode_error_naming_it(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("hdr.bad")
        with pytest.raises(EncodeError, match=r"'callback'.*object"):
            q.put("x", headers={"fine": 1, "callback": object()})
        assert q.qsize() == 0  # nothing half-published


def test_one_connection_publishing_and_consuming_threads(url: str, raw, prefix: str) -> None:
    """Replies stay in order on a connection shared by two threads: all 2,000 delivered."""
    total = 2000
    queue = Queue("threads.shared")
    got: list[int] = []
    errors: list[BaseException] = []
    with Connection(url) as conn:
        queue(conn.default_channel).declare()
        done = threading.Event()

        def on_message(body: Any, message: Any) -> None:
            got.append(body)
            message.ack()

        def consume() -> None:
            try:
                with Consumer(conn, [queue], callbacks=[on_message], prefetch_count=10):
                    deadline = time.monotonic() + 60
                    while len(got) < total and time.monotonic() < deadline:
                        try:
                            conn.drain_events(timeout=0.2)
                        except TimeoutError:
                            pass
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()

        def publish() -> None:
            try:
                producer = Producer(conn)
                for n in range(total):
                    producer.publish(n, routing_key=queue.name)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=consume), threading.Thread(target=publish)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert not errors, errors
        assert sorted(got) == list(range(total))
        conn.default_channel.flush_acks()
    assert raw.hlen(f"{prefix}unacked") == 0
    assert raw.llen(f"{prefix}threads.shared") == 0
