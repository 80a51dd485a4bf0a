"""kombu's options, fanout without loss, priorities, batches and indexes on the real server."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue


def _drain(conn: Connection, queues: list[Queue], want: int, timeout: float = 30.0,
           prefetch: int = 100) -> list[Any]:
    got: list[Any] = []

    def on_message(body: Any, message: Any) -> None:
        got.append(body)
        message.ack()

    with Consumer(conn, queues, callbacks=[on_message], prefetch_count=prefetch):
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.5)
            except TimeoutError:
                pass
    return got


def test_collection_names_are_kombus_options(url: str, raw) -> None:
    options = {"messages_collection": "msgs", "routing_collection": "routes",
               "queues_collection": "qs", "broadcast_collection": "bc"}
    with Connection(url, transport_options=options) as conn:
        q = Queue("named", Exchange("named-x", "topic"), "a.#")
        with Producer(conn) as p:
            p.publish("hello", exchange=q.exchange, routing_key="a.b", declare=[q])
        assert _drain(conn, [q], 1) == ["hello"]
    names = set(raw.list_collection_names())
    assert {"msgs", "routes", "qs"} <= names
    assert "bc" not in names  # fanout needs no broadcast collection any more
    assert not {"messages", "messages.routing", "messages.queues"} & names


def test_default_collection_names(url: str, raw) -> None:
    with Connection(url) as conn:
        conn.SimpleQueue("d").put(1)
    assert {"messages", "messages.routing", "messages.queues"} <= set(
        raw.list_collection_names())


def test_fanout_burst_reaches_every_bound_queue(url: str) -> None:
    """1,000 messages published at once to a fanout exchange: all in both queues.

    capped_queue_size is kombu's size of its capped broadcast collection, which
    overwrote messages under load; it is accepted and caps nothing here.
    """
    exchange = Exchange("burst", "fanout")
    q1, q2 = Queue("burst-1", exchange), Queue("burst-2", exchange)
    with Connection(url, transport_options={"capped_queue_size": 10}) as conn:
        for q in (q1, q2):
            q(conn.default_channel).declare()
        with Producer(conn) as p:
            for i in range(1000):
                p.publish(i, exchange=exchange)
        assert conn.SimpleQueue(q1).qsize() == 1000
        for q in (q1, q2):
            got = _drain(conn, [q], 1000)
            assert sorted(got) == list(range(1000))


def test_fanout_across_connections(url: str) -> None:
    exchange = Exchange("bcast", "fanout")
    q = Queue("bcast-q", exchange)
    with Connection(url) as consumer_conn, Connection(url) as producer_conn:
        q(consumer_conn.default_channel).declare()
        with Producer(producer_conn) as p:
            p.publish("one", exchange=exchange)
        assert _drain(consumer_conn, [q], 1) == ["one"]


def test_calc_queue_size(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("sized")
        for i in range(3):
            q.put(i)
        assert q.qsize() == 3
        q.close()
    with Connection(url, transport_options={"calc_queue_size": False}) as conn:
        q = conn.SimpleQueue("sized")
        assert q.qsize() == 0  # kombu: not counted when calc_queue_size is False
        assert q.get(timeout=5).payload == 0
        q.close()


def test_priorities_higher_first_in_every_queue(url: str) -> None:
    with Connection(url) as conn:
        q = Queue("prio")
        with Producer(conn) as p:
            for pri in (0, 3, 9, 5, 1):
                p.publish(pri, routing_key="prio", priority=pri, declare=[q])
        got = _drain(conn, [q], 5, prefetch=1)
        assert got == [9, 5, 3, 1, 0]


def test_exchange_types(url: str) -> None:
    with Connection(url) as conn:
        direct = Queue("t-direct", Exchange("ex-d", "direct"), "k")
        topic = Queue("t-topic", Exchange("ex-t", "topic"), "a.*")
        headers = Queue("t-headers", Exchange("ex-h", "headers"),
                        binding_arguments={"x-match": "all", "kind": "x"})
        with Producer(conn) as p:
            p.publish("d", exchange=direct.exchange, routing_key="k", declare=[direct])
            p.publish("t", exchange=topic.exchange, routing_key="a.b", declare=[topic])
            p.publish("no", exchange=topic.exchange, routing_key="b.a")
            p.publish("h", exchange=headers.exchange, headers={"kind": "x"},
                      declare=[headers])
        assert _drain(conn, [direct, topic, headers], 3) == ["d", "t", "h"]
        assert conn.SimpleQueue(topic).qsize() == 0


def test_ttl_option_sets_expire_at_and_a_ttl_index(url: str, raw) -> None:
    with Connection(url, transport_options={"ttl": True}) as conn:
        q = Queue("ttl-q", message_ttl=30)
        with Producer(conn) as p:
            p.publish("short", routing_key="ttl-q", declare=[q], expiration=5)
            p.publish("queue-ttl", routing_key="ttl-q")
        docs = list(raw.messages.find(sort=[("seq", 1)]))
        assert len(docs) == 2
        now = time.time()
        short = docs[0]["expire_at"].timestamp() - now
        long = docs[1]["expire_at"].timestamp() - now
        assert 5 < short < long <= 30 + 61  # the smaller TTL, plus a grace period
    index = raw.messages.index_information()["kombu_message_ttl"]
    assert index["expireAfterSeconds"] == 0


def test_without_ttl_option_no_ttl_index(url: str, raw) -> None:
    with Connection(url) as conn:
        q = Queue("nottl", message_ttl=30)
        with Producer(conn) as p:
            p.publish("x", routing_key="nottl", declare=[q])
    assert "kombu_message_ttl" not in raw.messages.index_information()
    assert "expire_at" not in raw.messages.find_one()


def test_message_ttl_expires_on_fetch(url: str) -> None:
    with Connection(url, transport_options={"ttl": True}) as conn:
        q = conn.SimpleQueue("expiring")
        q.put("gone", expiration=0.2)
        q.put("kept")
        time.sleep(0.4)
        assert q.get(timeout=5).payload == "kept"
        q.close()


def test_queue_expires(url: str, raw) -> None:
    with Connection(url) as conn:
        q = Queue("idle", expires=0.5)
        q(conn.default_channel).declare()
        assert raw["messages.queues"].find_one({"_id": "idle"})["expire_at"]
        time.sleep(1.0)
        with pytest.raises(conn.channel_errors):
            conn.default_channel.queue_declare("idle", passive=True)


def test_fetch_and_ack_in_batches(url: str, database: str) -> None:
    """Under prefetch, a fetch of 100 messages takes three commands, not 100."""
    from pymongo import monitoring

    commands: list[str] = []

    class Listener(monitoring.CommandListener):
        def started(self, event: Any) -> None:
            commands.append(event.command_name)

        def succeeded(self, event: Any) -> None:
            pass

        def failed(self, event: Any) -> None:
            pass

    with Connection(url) as conn:
        conn.transport.settings.client_kwargs["event_listeners"] = [Listener()]
        q = Queue("batched")
        with Producer(conn) as p:
            for i in range(100):
                p.publish(i, routing_key="batched", declare=[q])
        storage = conn.default_channel.storage
        commands.clear()
        deliveries = storage.fetch(["batched"], 100)
        assert len(deliveries) == 100
        assert commands.count("find") <= 2 and commands.count("update") == 1, commands
        commands.clear()
        storage.ack([d.tag for d in deliveries])
        assert commands == ["delete"]
        assert storage.queue_size("batched") == 0


def test_indexes_keep_the_hot_path_an_index_lookup(url: str, raw) -> None:
    with Connection(url) as conn:
        conn.SimpleQueue("idx").put(1)
    fetch = raw.messages.index_information()["kombu_fetch"]["key"]
    assert [tuple(k) for k in fetch] == [("queue", 1), ("lease_until", 1), ("priority", -1),
                                          ("seq", 1)]
    assert "kombu_leases" in raw.messages.index_information()


def test_requeue_goes_to_the_head_flagged_redelivered(url: str) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue("rq")
        for i in range(3):
            q.put(i)
        channel = conn.default_channel
        m = channel.basic_get("rq")
        assert m.payload == 0 and not m.delivery_info["redelivered"]
        m.requeue()
        again = channel.basic_get("rq")
        assert again.payload == 0 and again.delivery_info["redelivered"]
        again.ack()
        assert channel.basic_get("rq").payload == 1
        q.close()


def test_oversized_message_is_refused_naming_the_limit(url: str) -> None:
    from kombu_mongo.transport import Transport

    with Connection(url) as conn:
        q = conn.SimpleQueue("big")
        with pytest.raises(Exception, match=str(Transport.max_message_size)):
            q.put(b"x" * (Transport.max_message_size + 2 * 1024 * 1024),
                  serializer="raw" if False else None)
        assert q.qsize() == 0
        q.close()
