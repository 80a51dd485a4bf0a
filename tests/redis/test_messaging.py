"""kombu's Redis features against the real Redis."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue


def drain(conn: Connection, got: list, n: int, timeout: float = 5.0) -> list:
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=0.5)
        except TimeoutError:
            pass
    return got


def collect(conn: Connection, queues: list, n: int, ack: bool = True, **kw) -> list:
    got: list = []

    def on_message(body, message):
        got.append(body)
        if ack:
            message.ack()

    with Consumer(conn, queues, callbacks=[on_message], **kw):
        drain(conn, got, n)
    return got


def test_direct_publish_consume_ack(url: str, raw, prefix: str) -> None:
    ex = Exchange("orders", "direct")
    q = Queue("orders.new", ex, routing_key="new")
    with Connection(url) as conn:
        producer = Producer(conn)
        for i in range(10):
            producer.publish({"n": i}, exchange=ex, routing_key="new", declare=[q])
        assert q(conn.default_channel).queue_declare().message_count == 10
        got = collect(conn, [q], 10, prefetch_count=4)
        assert [b["n"] for b in got] == list(range(10))
    # acks are flushed at the latest on close: nothing left unacked
    assert raw.hlen(f"{prefix}unacked") == 0
    assert raw.llen(f"{prefix}orders.new") == 0


def test_wire_format_is_kombus_envelope(url: str, raw, prefix: str) -> None:
    with Connection(url) as conn:
        conn.SimpleQueue("fmt").put({"hello": "world"}, headers={"h": 1})
    item = json.loads(raw.lindex(f"{prefix}fmt", 0))
    assert item["content-type"] == "application/json"
    assert item["headers"] == {"h": 1}
    props = item["properties"]
    assert props["body_encoding"] == "base64"
    assert props["delivery_info"] == {"exchange": "fmt", "routing_key": "fmt"}
    assert json.loads(base64.b64decode(item["body"])) == {"hello": "world"}
    # and a message in kombu's format written by someone else is consumed
    body = base64.b64encode(b'{"from": "kombu"}').decode()
    raw.lpush(f"{prefix}fmt", json.dumps({
        "body": body, "content-encoding": "utf-8", "content-type": "application/json",
        "headers": {}, "properties": {"body_encoding": "base64", "delivery_tag": "x",
                                      "delivery_info": {"exchange": "", "routing_key": "fmt"},
                                      "priority": 0, "delivery_mode": 2}}))
    with Connection(url) as conn:
        q = conn.SimpleQueue("fmt")
        assert q.get(timeout=2).payload == {"hello": "world"}
        m = q.get(timeout=2)
        assert m.payload == {"from": "kombu"}
        m.ack()


def test_topic_and_headers_exchanges(url: str) -> None:
    topic = Exchange("logs", "topic")
    qa = Queue("logs.all", topic, routing_key="#")
    qe = Queue("logs.err", topic, routing_key="*.error")
    hx = Exchange("hx", "headers")
    qh = Queue("hq")
    with Connection(url) as conn:
        ch = conn.default_channel
        for q in (qa, qe):
            q(ch).declare()
        hx(ch).declare()
        qh(ch).declare()
        ch.queue_bind("hq", "hx", "", arguments={"x-match": "all", "kind": "a"})
        p = Producer(ch)
        p.publish("1", exchange=topic, routing_key="app.error")
        p.publish("2", exchange=topic, routing_key="app.info")
        p.publish("3", exchange=hx, routing_key="", headers={"kind": "a"})
        p.publish("4", exchange=hx, routing_key="", headers={"kind": "b"})
        assert qa(ch).queue_declare().message_count == 2
        assert qe(ch).queue_declare().message_count == 1
        assert ch._size("hq") == 1


def test_bindings_are_shared_between_clients(url: str) -> None:
    ex = Exchange("shared", "direct")
    with Connection(url) as a, Connection(url) as b:
        Queue("s1", ex, routing_key="k")(a.default_channel).declare()
        pa = Producer(a)
        pa.publish("first", exchange=ex, routing_key="k")  # a caches the table now
        # b binds a second queue: a's cached table is stale and must not be used
        Queue("s2", ex, routing_key="k")(b.default_channel).declare()
        pa.publish("second", exchange=ex, routing_key="k")
        ch = a.default_channel
        assert ch._size("s1") == 2
        assert ch._size("s2") == 1
        # a publisher that never declared the exchange sees b's declaration
        with Connection(url) as c:
            c.default_channel.basic_publish(
                c.default_channel.prepare_message("third"), "shared", "k")
        assert ch._size("s2") == 2
        b.default_channel.queue_unbind("s2", "shared", "k")
        pa.publish("fourth", exchange=ex, routing_key="k")
        assert ch._size("s2") == 2
        assert ch._size("s1") == 4


def test_fanout_across_two_connections(url: str) -> None:
    ex = Exchange("bcast", "fanout")
    with Connection(url) as c1, Connection(url) as c2, Connection(url) as pub:
        got1: list = []
        got2: list = []
        q1 = Queue("bc1", ex, exclusive=True)
        q2 = Queue("bc2", ex, exclusive=True)
        with Consumer(c1, [q1], callbacks=[lambda b, m: (got1.append(b), m.ack())]), \
                Consumer(c2, [q2], callbacks=[lambda b, m: (got2.append(b), m.ack())]):
            c1.drain_events(timeout=0.01) if False else None
            for conn in (c1, c2):
                try:
                    conn.drain_events(timeout=0.05)
                except TimeoutError:
                    pass
            p = Producer(pub, exchange=ex)
            p.publish({"v": 1})
            p.publish({"v": 2}, routing_key="anything")
            drain(c1, got1, 2)
            drain(c2, got2, 2)
    assert got1 == [{"v": 1}, {"v": 2}]
    assert got2 == [{"v": 1}, {"v": 2}]


def test_fanout_ignores_binding_keys_by_default(url: str) -> None:
    ex = Exchange("amqpfan", "fanout")
    with Connection(url) as c1, Connection(url) as pub:
        got: list = []
        q = Queue("af.x", ex, routing_key="x", exclusive=True)
        with Consumer(c1, [q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            try:
                c1.drain_events(timeout=0.05)
            except TimeoutError:
                pass
            p = Producer(pub, exchange=ex)
            p.publish("a", routing_key="")
            p.publish("b", routing_key="y.z")
            drain(c1, got, 2)
            c1.default_channel.queue_unbind("af.x", "amqpfan", "x")
            p.publish("c", routing_key="")
            with pytest.raises(socket.timeout):
                c1.drain_events(timeout=0.3)
    assert got == ["a", "b"]


def test_fanout_patterns_filter(url: str) -> None:
    ex = Exchange("events", "fanout")
    with Connection(url, transport_options={"fanout_patterns": True}) as c1, \
            Connection(url) as pub:
        got: list = []
        q = Queue("ev.user", ex, routing_key="user.#", exclusive=True)
        with Consumer(c1, [q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            try:
                c1.drain_events(timeout=0.05)
            except TimeoutError:
                pass
            p = Producer(pub, exchange=ex)
            p.publish("a", routing_key="user.created")
            p.publish("b", routing_key="order.created")
            p.publish("c", routing_key="user.deleted")
            drain(c1, got, 2)
            with pytest.raises(socket.timeout):
                c1.drain_events(timeout=0.3)
    assert got == ["a", "c"]


def test_priorities_auto_order_for_max_priority_queues(url: str) -> None:
    q = Queue("prio.amqp", max_priority=9)
    with Connection(url + "&priority_order=auto") as conn:
        p = Producer(conn)
        for pri in (0, 9, 5, 3):
            p.publish({"p": pri}, routing_key="prio.amqp", priority=pri, declare=[q])
        got = collect(conn, [q], 4, prefetch_count=1)
    assert [b["p"] for b in got] == [9, 5, 3, 0]


def test_priorities_kombu_order(url: str) -> None:
    q = Queue("prio")
    with Connection(url) as conn:
        p = Producer(conn)
        for pri in (9, 0, 5, 3):
            p.publish({"p": pri}, routing_key="prio", priority=pri, declare=[q])
        got = collect(conn, [q], 4, prefetch_count=1)
    # kombu's Redis order: lower step first (steps 0, 3, 6, 9; 5 and 3 share step 3)
    assert [b["p"] for b in got] == [0, 5, 3, 9]


def test_priorities_amqp_order_and_custom_steps(url: str) -> None:
    q = Queue("prio2")
    sep_url = url + "&priority_order=amqp&sep=:"
    with Connection(sep_url, transport_options={"priority_steps": list(range(10))}) as conn:
        p = Producer(conn)
        for pri in (1, 9, 0, 5):
            p.publish({"p": pri}, routing_key="prio2", priority=pri, declare=[q])
        assert conn.default_channel._q_for_pri("prio2", 5).endswith("prio2:5")
        got = collect(conn, [q], 4, prefetch_count=1)
    assert [b["p"] for b in got] == [9, 5, 1, 0]


def test_queue_order_strategy_round_robin(url: str) -> None:
    qa, qb = Queue("rr.a"), Queue("rr.b")
    with Connection(url) as conn:
        p = Producer(conn)
        for i in range(3):
            p.publish(f"a{i}", routing_key="rr.a", declare=[qa])
            p.publish(f"b{i}", routing_key="rr.b", declare=[qb])
        got = collect(conn, [qa, qb], 6, prefetch_count=1)
    assert sorted(got) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert {got[0][0], got[1][0]} == {"a", "b"}  # both queues served from the start


def test_global_keyprefix_isolation(url: str, prefix: str) -> None:
    other = url.replace(prefix, prefix + "other:")
    with Connection(url) as a, Connection(other) as b:
        a.SimpleQueue("iso").put("for a")
        assert b.SimpleQueue("iso").qsize() == 0
        assert a.SimpleQueue("iso").qsize() == 1
        b.SimpleQueue("iso").put("for b")
        assert a.SimpleQueue("iso").get(timeout=1).payload == "for a"
        assert b.SimpleQueue("iso").get(timeout=1).payload == "for b"


def test_purge_size_delete(url: str, raw, prefix: str) -> None:
    ex = Exchange("pd", "direct")
    q = Queue("pd.q", ex, routing_key="pd")
    with Connection(url) as conn:
        ch = conn.default_channel
        bound = q(ch)
        bound.declare()
        p = Producer(ch)
        for i in range(5):
            p.publish(i, exchange=ex, routing_key="pd", priority=i)
        assert bound.queue_declare().message_count == 5
        assert bound.purge() == 5
        assert bound.queue_declare(passive=False).message_count == 0
        p.publish("x", exchange=ex, routing_key="pd")
        assert ch.queue_delete("pd.q") == 1
        assert not raw.exists(f"{prefix}pd.q")
        assert raw.smembers(f"{prefix}_kombu.binding.pd") == set()
        assert ch.get_table("pd") == []


def test_reject_requeue_and_redelivered(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("rej")
        q.put("one")
        m = q.get(timeout=2)
        assert not m.delivery_info["redelivered"]
        m.requeue()
        m2 = q.get(timeout=2)
        assert m2.payload == "one" and m2.delivery_info["redelivered"]
        m2.reject()
        with pytest.raises(q.Empty):
            q.get(timeout=0.3)


def test_close_gives_back_unacked_and_prefetched(url: str, raw, prefix: str) -> None:
    q = Queue("giveback")
    with Connection(url) as conn:
        p = Producer(conn)
        for i in range(10):
            p.publish(i, routing_key="giveback", declare=[q])
        got: list = []
        c = Consumer(conn, [q], callbacks=[lambda b, m: got.append(b)], prefetch_count=5)
        c.consume()
        drain(conn, got, 2)
        # five moved to unacked at once (one round trip), none acked
        assert raw.hlen(f"{prefix}unacked") == 5
    assert raw.hlen(f"{prefix}unacked") == 0
    with Connection(url) as conn:
        got2 = collect(conn, [q], 10)
    assert sorted(got2) == list(range(10))


def test_no_ack_consumer(url: str, raw, prefix: str) -> None:
    q = Queue("noack")
    with Connection(url) as conn:
        p = Producer(conn)
        for i in range(3):
            p.publish(i, routing_key="noack", declare=[q])
        got = collect(conn, [q], 3, ack=False, no_ack=True)
        assert got == [0, 1, 2]
        assert raw.hlen(f"{prefix}unacked") == 0


def test_basic_get_and_ack(url: str, raw, prefix: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("bg")
        q.put("x")
        ch = conn.default_channel
        m = ch.basic_get("bg")
        assert m is not None and m.payload == "x"
        assert raw.hlen(f"{prefix}unacked") == 1
        m.ack()
        ch.flush_acks()
        assert raw.hlen(f"{prefix}unacked") == 0
        assert ch.basic_get("bg") is None


def test_wakes_up_without_polling(url: str) -> None:
    """A consumer waiting on an empty queue gets a new message at once."""
    q = Queue("wake")
    with Connection(url, transport_options={"polling_interval": 30}) as conn, \
            Connection(url) as pub:
        got: list = []
        with Consumer(conn, [q], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            with pytest.raises(socket.timeout):
                conn.drain_events(timeout=0.2)
            Producer(pub).publish("now", routing_key="wake", declare=[q])
            start = time.monotonic()
            conn.drain_events(timeout=5)
            assert time.monotonic() - start < 1.0
    assert got == ["now"]


def test_event_loop_hub(url: str) -> None:
    from kombu.asynchronous import Hub

    q = Queue("hubq")
    with Connection(url) as conn, Connection(url) as pub:
        got: list = []
        hub = Hub()
        with Consumer(conn, [q], callbacks=[lambda b, m: (got.append(b), m.ack())],
                      prefetch_count=10):
            conn.register_with_event_loop(hub)
            Producer(pub).publish("x0", routing_key="hubq", declare=[q])
            for i in range(1, 50):
                Producer(pub).publish(f"x{i}", routing_key="hubq")
            deadline = time.monotonic() + 5
            while len(got) < 50 and time.monotonic() < deadline:
                hub.run_once()
            conn.transport.unregister_from_event_loop(conn.connection, hub)
        hub.close()
    assert sorted(got, key=lambda s: int(s[1:])) == [f"x{i}" for i in range(50)]


def test_a_prefetch_larger_than_luas_unpack_limit(url: str, raw, prefix: str) -> None:
    # One fetch of 6,000 messages: Lua unpacks at most ~8,000 values at once, and a
    # fetch script that failed half-way had moved messages out of their queue.
    n = 6000
    with Connection(url) as conn:
        producer = Producer(conn)
        q = Queue("big.prefetch")
        for i in range(n):
            producer.publish({"n": i}, routing_key="big.prefetch", declare=[q] if not i else None)
        got = collect(conn, [q], n, prefetch_count=n)
        assert sorted(b["n"] for b in got) == list(range(n))
    assert raw.hlen(f"{prefix}unacked") == 0
    assert raw.zcard(f"{prefix}unacked_index") == 0


def test_a_fetched_batch_is_indexed_by_lease_time(url: str, raw, prefix: str) -> None:
    # Each fetched message has a lease entry; the batch's scores lie within a
    # millisecond of the server's time (a microsecond apart, falling).
    with Connection(url) as conn:
        producer = Producer(conn)
        q = Queue("lease.scores")
        for i in range(50):
            producer.publish({"n": i}, routing_key="lease.scores", declare=[q] if not i else None)
        held: list = []
        with Consumer(conn, [q], callbacks=[lambda b, m: held.append(m)], prefetch_count=50):
            drain(conn, held, 50)
            now = float(raw.time()[0]) + raw.time()[1] / 1e6
            scores = [s for _, s in raw.zrange(f"{prefix}unacked_index", 0, -1, withscores=True)]
            assert len(scores) == 50 and raw.hlen(f"{prefix}unacked") == 50
            assert all(now - 2 < s <= now for s in scores), (now, scores[:3])
            assert max(scores) - min(scores) < 0.001
            for message in held:
                message.ack()
    assert raw.zcard(f"{prefix}unacked_index") == 0
