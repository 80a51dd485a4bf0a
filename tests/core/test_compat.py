"""kombu.compat: carrot's Publisher, Consumer and ConsumerSet, used as carrot code uses them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from kombu import Connection, Exchange, Producer, Queue, compat


@pytest.fixture
def conn() -> Iterator[Connection]:
    with Connection("memory://") as c:
        yield c


@pytest.fixture
def names() -> dict[str, str]:
    uid = uuid.uuid4().hex[:8]
    return {"exchange": f"feed-{uid}", "queue": f"feed-q-{uid}", "routing_key": f"rk-{uid}"}


def test_publisher_and_consumer_round_trip(conn: Connection, names: dict[str, str]) -> None:
    consumer = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                               routing_key=names["routing_key"], exchange_type="direct")
    publisher = compat.Publisher(conn, exchange=names["exchange"],
                                 routing_key=names["routing_key"])
    assert isinstance(publisher, Producer)
    assert publisher.exchange.name == names["exchange"] and publisher.exchange.type == "direct"
    assert publisher.backend is publisher.channel
    publisher.send({"import": "this"})
    publisher.publish({"import": "that"})
    message = consumer.fetch()
    assert message.payload == {"import": "this"}
    message.ack()
    got: list[Any] = []
    consumer.register_callback(lambda body, msg: (got.append(body), msg.ack()))
    assert consumer.fetch(enable_callbacks=True).payload == {"import": "that"}
    assert got == [{"import": "that"}]
    assert consumer.fetch() is None
    publisher.close()
    consumer.close()
    assert publisher._closed and consumer._closed
    assert consumer.backend.closed  # the consumer's own channel


def test_entities_follow_the_carrot_options(conn: Connection, names: dict[str, str]) -> None:
    consumer = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                               routing_key=names["routing_key"], exchange_type="topic",
                               durable=False, exclusive=True, auto_delete=True)
    (queue,) = consumer.queues
    assert (queue.name, queue.routing_key, queue.durable, queue.exclusive, queue.auto_delete) \
        == (names["queue"], names["routing_key"], False, True, True)
    assert (queue.exchange.name, queue.exchange.type, queue.exchange.durable) \
        == (names["exchange"], "topic", False)
    publisher = compat.Publisher(conn, exchange=Exchange(names["exchange"], "topic"),
                                 channel=conn.default_channel, durable=False)
    assert publisher.exchange.type == "topic" and publisher.channel is conn.default_channel
    consumer.close()


def test_wait_and_iterconsume_drain_events_to_the_callbacks(conn: Connection,
                                                          names: dict[str, str]) -> None:
    got: list[Any] = []
    with compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                         routing_key=names["routing_key"]) as consumer:
        consumer.register_callback(lambda body, msg: (got.append(body), msg.ack()))
        with compat.Publisher(conn, exchange=names["exchange"],
                              routing_key=names["routing_key"]) as publisher:
            publisher.send(0)
            assert len(consumer.wait(limit=1)) == 1  # one event drained
            assert got == [0]
            publisher.send(1)
            next(consumer.iterconsume(limit=1))
            assert got == [0, 1]


def test_iterqueue_process_next_and_discard_all(conn: Connection,
                                                names: dict[str, str]) -> None:
    consumer = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                               routing_key=names["routing_key"])
    publisher = compat.Publisher(conn, exchange=names["exchange"],
                                 routing_key=names["routing_key"])
    for n in range(6):
        publisher.send(n)
    assert [m.payload for m in consumer.iterqueue(limit=2)] == [0, 1]  # unacked: held
    seen: list[Any] = []
    consumer.register_callback(lambda body, msg: seen.append(body))
    assert consumer.process_next().payload == 2 and seen == [2]
    assert consumer.discard_all(filterfunc=lambda m: m.payload % 2 == 1) == 2  # 3 and 5
    assert [m.payload for m in consumer.iterqueue()] == [4]
    consumer.close()  # the unacked ones go back
    consumer = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                               routing_key=names["routing_key"])
    assert sorted(m.payload for m in consumer.iterqueue()) == [0, 1, 2, 4]
    consumer.close()
    consumer = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                               routing_key=names["routing_key"])
    assert consumer.discard_all() == 4
    assert list(consumer.iterqueue()) == []
    it = iter(consumer)  # infinite: yields None while the queue is empty
    assert next(it) is None
    consumer.close()


def test_consumer_set_consumes_from_consumers_and_dicts(conn: Connection,
                                                        names: dict[str, str]) -> None:
    first = compat.Consumer(conn, queue=names["queue"], exchange=names["exchange"],
                            routing_key=names["routing_key"])
    other = f"{names['queue']}-other"
    consumers = compat.ConsumerSet(conn, consumers=[first], from_dict={
        other: {"exchange": names["exchange"], "routing_key": other,
                "exchange_type": "direct"}})
    assert [q.name for q in consumers.queues] == [names["queue"], other]
    third = f"{names['queue']}-third"
    consumers.add_consumer_from_dict(third, exchange=names["exchange"], routing_key=third)
    got: list[Any] = []
    consumers.register_callback(lambda body, msg: (got.append(body), msg.ack()))
    producer = conn.Producer(exchange=Exchange(names["exchange"]))
    for key in (names["routing_key"], other, third):
        producer.publish(key, routing_key=key)
    # How many messages one event carries is the transport's business: drain
    # until all three arrived.
    for _ in consumers.iterconsume():
        if len(got) == 3:
            break
    assert sorted(got) == sorted([names["routing_key"], other, third])
    producer.publish("left", routing_key=other)
    assert consumers.discard_all() == 1
    consumers.close()
    assert consumers.channel.closed  # it opened the channel, so it closed it
    first.close()


def test_consumer_set_leaves_a_given_channel_open(conn: Connection,
                                                  names: dict[str, str]) -> None:
    channel = conn.channel()
    consumers = compat.ConsumerSet(conn, channel=channel)
    consumers.add_consumer(compat.Consumer(conn, queue=names["queue"],
                                           exchange=names["exchange"]))
    assert [q.name for q in consumers.queues] == [names["queue"]]
    consumers.close()
    assert not channel.closed
    channel.close()


def test_entry_to_queue_builds_a_queue_from_options() -> None:
    queue = compat.entry_to_queue("q", exchange="x", exchange_type="topic", routing_key="a.#")
    assert isinstance(queue, Queue)
    assert (queue.name, queue.exchange.name, queue.exchange.type, queue.routing_key) == (
        "q", "x", "topic", "a.#")
