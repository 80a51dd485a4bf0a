"""x-expires on Redis queues: every key of the queue expires, renewed on put and get."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection, Exchange, Producer, Queue

SEP = "\x06\x16"
PLAIN_URL = "redis://127.0.0.1:6379/11"  # the group's database (conftest.TEST_DB)


class Target:
    """A URL, the global_keyprefix it uses ('' for none) and a queue name of the test's own."""

    def __init__(self, url: str, gkp: str) -> None:
        self.url = url
        self.gkp = gkp
        self.queue = f"kx{uuid.uuid4().hex[:10]}"
        self.exchange = Exchange(f"{self.queue}.ex", "direct")

    def keys(self) -> dict[str, str]:
        """Every key the queue can have: both priority lists used here, its exchange
        index, its arguments."""
        q, p = self.queue, self.gkp
        return {"list0": f"{p}{q}", "list9": f"{p}{q}{SEP}9",
                "index": f"{p}_kombu.queue_exchanges.{q}",
                "args": f"{p}_kombu.queue_args.{q}"}

    def declare(self, conn: Connection, expires: float | None) -> Queue:
        queue = Queue(self.queue, self.exchange, routing_key=self.queue, expires=expires)
        queue(conn.default_channel).declare()
        return queue

    def publish(self, conn: Connection, priority: int = 0) -> None:
        Producer(conn).publish({"p": priority}, exchange=self.exchange,
                               routing_key=self.queue, priority=priority)


@pytest.fixture(params=["global_keyprefix", "no_prefix"])
def target(request: pytest.FixtureRequest, url: str, prefix: str, raw: Any) -> Iterator[Target]:
    if request.param == "global_keyprefix":
        found = Target(url, prefix)
    else:
        found = Target(PLAIN_URL, "")
    yield found
    if not found.gkp:
        with Connection(found.url) as conn:
            conn.default_channel.queue_delete(found.queue)
            conn.default_channel.exchange_delete(found.exchange.name)
        raw.delete(*found.keys().values())


def ttls(raw: Any, target: Target) -> dict[str, int]:
    return {name: raw.pttl(key) for name, key in target.keys().items()}


def test_every_key_of_the_queue_gets_the_expiry(target: Target, raw: Any) -> None:
    with Connection(target.url) as conn:
        target.declare(conn, expires=30)
        target.publish(conn, 0)
        target.publish(conn, 9)
        got = ttls(raw, target)
        assert all(0 < ms <= 30_000 for ms in got.values()), got
        assert raw.hget(f"{target.gkp}_kombu.queues", target.queue) is None
        # still a declared queue with its arguments
        declared = conn.default_channel.queue_declare(target.queue, passive=True)
        assert declared.message_count == 2
        assert conn.default_channel._queue_arguments(target.queue)["x-expires"] == 30_000


def test_renewed_on_put_and_on_get(target: Target, raw: Any) -> None:
    with Connection(target.url) as conn:
        target.declare(conn, expires=60)
        target.publish(conn, 0)
        target.publish(conn, 9)

        def shorten() -> None:
            for key in target.keys().values():
                assert raw.pexpire(key, 5_000)

        shorten()
        target.publish(conn, 9)
        assert all(ms > 50_000 for ms in ttls(raw, target).values()), ttls(raw, target)
        shorten()
        queue = Queue(target.queue)(conn.default_channel)
        message = queue.get()
        assert message is not None and message.payload == {"p": 0}
        message.ack()
        got = ttls(raw, target)
        assert got.pop("list0") == -2  # emptied by the get: Redis dropped the list
        assert all(ms > 50_000 for ms in got.values()), got


def test_renewed_by_another_client_that_did_not_declare(target: Target, raw: Any) -> None:
    with Connection(target.url) as declarer:
        target.declare(declarer, expires=60)
    for key in target.keys().values():
        raw.pexpire(key, 5_000)
    with Connection(target.url) as other:
        Producer(other).publish("x", routing_key=target.queue)
    got = ttls(raw, target)
    assert got["list0"] > 50_000 and got["args"] > 50_000, got


def test_idle_queue_is_gone_after_the_expiry(target: Target, raw: Any) -> None:
    with Connection(target.url) as conn:
        target.declare(conn, expires=0.4)
        target.publish(conn, 0)
        target.publish(conn, 9)
        time.sleep(0.8)
        assert raw.exists(*target.keys().values()) == 0
        with pytest.raises(conn.channel_errors):
            conn.channel().queue_declare(target.queue, passive=True)


def test_redeclare_without_expires_clears_it(target: Target, raw: Any) -> None:
    with Connection(target.url) as conn:
        target.declare(conn, expires=30)
        target.publish(conn, 0)
        target.publish(conn, 9)
        target.declare(conn, expires=None)
        got = ttls(raw, target)
        assert got["list0"] == got["list9"] == got["index"] == -1, got
        assert got["args"] == -2  # the arguments are back in _kombu.queues
        assert raw.hexists(f"{target.gkp}_kombu.queues", target.queue)
        target.publish(conn, 9)
        assert ttls(raw, target)["list9"] == -1
        assert conn.default_channel.queue_declare(target.queue, passive=True).message_count == 3


def test_restored_message_keeps_the_queue_expiring(target: Target, raw: Any) -> None:
    """A message given back after its lease lapsed goes to a list that expires too."""
    with Connection(target.url) as conn:
        target.declare(conn, expires=60)
        target.publish(conn, 9)
        held = Queue(target.queue)(conn.default_channel).get()
        assert held is not None and raw.exists(target.keys()["list9"]) == 0
        # its lease lapsed long ago (as if its holder had died)
        raw.zadd(f"{target.gkp}unacked_index", {held.delivery_tag: 1})
        assert conn.default_channel.storage.restore_lapsed() >= 1
        assert 0 < raw.pttl(target.keys()["list9"]) <= 60_000
        assert conn.default_channel.queue_declare(target.queue, passive=True).message_count == 1


@pytest.mark.parametrize("bad", [0, -5, "soon"])
def test_bad_x_expires_is_refused(url: str, bad: Any) -> None:
    with Connection(url) as conn:
        queue = Queue("kxbad", queue_arguments={"x-expires": bad})
        with pytest.raises(ValueError, match="x-expires must be a positive number"):
            queue(conn.default_channel).declare()
