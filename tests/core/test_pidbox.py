"""kombu.pidbox: Mailbox and Node, broadcast and direct commands with replies over memory://."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection
from kombu.pidbox import Mailbox, Node
from kombu.transport.memory import MemoryState
from kombu.transport.memory import Transport as MemoryTransport


class NodeThread(threading.Thread):
    """A node answering its mailbox on its own connection."""

    def __init__(self, mailbox: Mailbox, hostname: str, delay: float = 0) -> None:
        super().__init__(daemon=True)
        self.mailbox = mailbox
        self.hostname = hostname
        self.delay = delay
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.casts: list[Any] = []

    def run(self) -> None:
        conn = Connection("memory://")
        state = {"hostname": self.hostname}
        node = self.mailbox.Node(self.hostname, state=state, channel=conn.channel())

        @node.handler
        def ping(state: dict[str, Any], **kwargs: Any) -> dict[str, str]:
            time.sleep(self.delay)
            return {"ok": "pong"}

        @node.handler
        def echo(state: dict[str, Any], value: Any = None) -> Any:
            return {"host": state["hostname"], "value": value}

        @node.handler
        def note(state: dict[str, Any], **kwargs: Any) -> None:
            self.casts.append(kwargs)

        @node.handler
        def fail(state: dict[str, Any], **kwargs: Any) -> None:
            raise ValueError("handler blew up")

        consumer = node.listen()
        self.ready.set()
        try:
            while not self.stop.is_set():
                try:
                    conn.drain_events(timeout=0.05)
                except TimeoutError:
                    pass
        finally:
            consumer.cancel()
            conn.close()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox(f"test-{time.monotonic_ns()}", type="fanout")


@pytest.fixture
def nodes(mailbox: Mailbox) -> Iterator[list[NodeThread]]:
    threads = [NodeThread(mailbox, "alpha"), NodeThread(mailbox, "beta")]
    for t in threads:
        t.start()
    for t in threads:
        assert t.ready.wait(5)
    yield threads
    for t in threads:
        t.stop.set()
    for t in threads:
        t.join(5)


@pytest.fixture
def client(mailbox: Mailbox) -> Iterator[Mailbox]:
    conn = Connection("memory://")
    yield mailbox(conn)
    conn.close()


def _merge(replies: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for reply in replies:
        merged.update(reply)
    return merged


def test_naming():
    box = Mailbox("celery", type="fanout")
    assert box.exchange.name == "celery.pidbox"
    assert box.exchange.type == "fanout"
    assert box.reply_exchange.name == "reply.celery.pidbox"
    assert box.reply_exchange.type == "direct"
    assert box.get_queue("w1").name == "w1.celery.pidbox"
    assert box.get_queue("w1").exchange.name == "celery.pidbox"
    reply_queue = box.get_reply_queue()
    assert reply_queue.name == f"{box.oid}.reply.celery.pidbox"
    assert reply_queue.routing_key == box.oid
    assert reply_queue.auto_delete
    assert Mailbox("x").type == "direct"
    assert box.accept == ["json"]
    assert box.reply_queue_expires == 10.0


def test_oid_is_stable_per_thread():
    box = Mailbox("oids")
    assert box.oid == box.oid
    other: list[str] = []
    t = threading.Thread(target=lambda: other.append(box.oid))
    t.start()
    t.join()
    assert other[0] != box.oid


def test_binding_to_a_connection_copies(mailbox: Mailbox):
    conn = Connection("memory://")
    bound = mailbox(conn)
    assert bound.connection is conn
    assert mailbox.connection is None
    assert bound.exchange == mailbox.exchange


def test_broadcast_ping_collects_every_reply(nodes, client):
    started = time.monotonic()
    replies = client.multi_call("ping", timeout=0.5)
    assert _merge(replies) == {"alpha": {"ok": "pong"}, "beta": {"ok": "pong"}}
    assert time.monotonic() - started < 1.5


def test_broadcast_with_limit_returns_as_soon_as_enough_replies(nodes, client):
    started = time.monotonic()
    replies = client.multi_call("ping", timeout=5, limit=2)
    assert len(replies) == 2
    assert time.monotonic() - started < 2


def test_call_reaches_only_the_destination(nodes, client):
    replies = client.call(["beta"], "echo", {"value": 7}, timeout=2)
    assert replies == [{"beta": {"host": "beta", "value": 7}}]


def test_call_with_no_reply_ends_with_empty_list_within_timeout(nodes, client):
    started = time.monotonic()
    assert client.call(["nobody"], "ping", timeout=0.3) == []
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 0.8


def test_call_with_no_nodes_at_all_ends_within_timeout(client):
    started = time.monotonic()
    assert client.multi_call("ping", timeout=0.3) == []
    assert time.monotonic() - started < 0.8


def test_slow_reply_after_timeout_is_not_waited_for(mailbox, client):
    slow = NodeThread(mailbox, "slow", delay=1.0)
    slow.start()
    assert slow.ready.wait(5)
    try:
        started = time.monotonic()
        assert client.call(["slow"], "ping", timeout=0.3) == []
        assert time.monotonic() - started < 0.8
    finally:
        slow.stop.set()
        slow.join(5)


def test_callback_is_called_per_reply(nodes, client):
    seen: list[Any] = []
    client.multi_call("ping", timeout=0.5, callback=seen.append)
    assert len(seen) == 2


def test_handler_errors_are_replied(nodes, client):
    (reply,) = client.call(["alpha"], "fail", timeout=2)
    assert "handler blew up" in reply["alpha"]["error"]


def test_cast_and_abcast_do_not_wait(nodes, client):
    client.cast(["alpha"], "note", {"n": 1})
    client.abcast("note", {"n": 2})
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (len(nodes[0].casts) < 2 or not nodes[1].casts):
        time.sleep(0.02)
    assert nodes[0].casts == [{"n": 1}, {"n": 2}]
    assert nodes[1].casts == [{"n": 2}]


def test_pattern_and_matcher_select_nodes(nodes, client):
    replies = client._broadcast(
        "ping", reply=True, timeout=1, limit=1, pattern="al*", matcher="glob"
    )
    assert _merge(replies) == {"alpha": {"ok": "pong"}}


def test_destination_must_be_a_list(client):
    with pytest.raises(ValueError, match="list"):
        client._broadcast("ping", destination="alpha")


def test_direct_mailbox(client):
    box = Mailbox(f"direct-{time.monotonic_ns()}", type="direct")
    node_thread = NodeThread(box, "solo")
    node_thread.start()
    assert node_thread.ready.wait(5)
    try:
        conn = Connection("memory://")
        # A direct exchange routes on the queue's (empty) routing key: nodes
        # get every command and filter on destination themselves.
        assert box(conn).call(["solo"], "echo", {"value": "d"}, timeout=2) == [
            {"solo": {"host": "solo", "value": "d"}}
        ]
        conn.close()
    finally:
        node_thread.stop.set()
        node_thread.join(5)


def test_node_dispatch_and_handle_message_without_a_broker():
    box = Mailbox("local")
    node = box.Node("n1", state={"count": 0})

    @node.handler
    def bump(state: dict[str, int], by: int = 1) -> int:
        state["count"] += by
        return state["count"]

    assert isinstance(node, Node)
    assert node.handlers["bump"] is bump
    assert node.dispatch("bump", {"by": 2}) == 2
    assert node.handle_message({"method": "bump", "arguments": {}, "destination": ["n1"]}) == 3
    assert (
        node.handle_message({"method": "bump", "arguments": {}, "destination": ["other"]}) is None
    )
    assert node.handle_message({"method": "bump", "arguments": {"by": 10}}) == 13
    with pytest.raises(KeyError):
        node.handle("missing")
    assert box.Node().hostname  # defaults to this host's name


def test_clock_moves_with_messages(nodes, client):
    before = client.clock.value
    client.multi_call("ping", timeout=0.3)
    assert client.clock.value > before


class NoFanout(MemoryTransport):
    state = MemoryState()
    driver_name = "nofanout"
    implements = MemoryTransport.implements.extend(exchange_type=frozenset({"direct"}))


def test_fanout_mailbox_on_transport_without_fanout_fails_clearly():
    conn = Connection("memory://", transport=NoFanout)
    box = Mailbox("nofan", type="fanout")
    with pytest.raises(NotImplementedError, match=r"NoFanout.*fanout"):
        box(conn).multi_call("ping", timeout=0.1)
    with pytest.raises(NotImplementedError, match="nofanout"):
        box.Node("n", channel=conn.channel()).listen()
    # A direct mailbox works there.
    Mailbox("direct-ok", type="direct")(conn).cast(["n"], "ping")
    conn.close()


def test_producer_pool_is_used_for_publishing(nodes, mailbox):
    from kombu import pools

    conn = Connection("memory://")
    used: list[Any] = []
    pool = pools.producers[conn]

    class Recording:
        def acquire(self, block: bool = False, timeout: float | None = None) -> Any:
            used.append(True)
            return pool.acquire(block=block, timeout=timeout)

    box = Mailbox(mailbox.namespace, type="fanout", producer_pool=Recording())
    replies = box(conn).multi_call("ping", timeout=0.5)
    assert len(replies) == 2
    assert used
    conn.close()
    pools.reset()
