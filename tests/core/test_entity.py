"""Exchange, Queue and binding: arguments, declaration, binding, pickling, equality."""

from __future__ import annotations

import pickle

import pytest

from kombu import Connection, Exchange, Queue, binding
from kombu.entity import PERSISTENT_DELIVERY_MODE, TRANSIENT_DELIVERY_MODE, maybe_delivery_mode
from kombu.exceptions import NotBoundError


@pytest.fixture
def conn():
    with Connection("memory://") as c:
        yield c


def test_exchange_defaults_and_arguments():
    e = Exchange("ex")
    assert (e.name, e.type, e.durable, e.auto_delete, e.passive) == (
        "ex", "direct", True, False, False)
    assert e.delivery_mode is None
    e2 = Exchange("t", type="topic", durable=False, auto_delete=True,
                  delivery_mode="transient", arguments={"alternate-exchange": "ae"})
    assert e2.delivery_mode == TRANSIENT_DELIVERY_MODE
    assert e2.arguments == {"alternate-exchange": "ae"}
    assert Exchange("p", delivery_mode="persistent").delivery_mode == PERSISTENT_DELIVERY_MODE


def test_maybe_delivery_mode():
    assert maybe_delivery_mode("persistent") == 2
    assert maybe_delivery_mode("transient") == 1
    assert maybe_delivery_mode(1) == 1
    assert maybe_delivery_mode(None) == 2
    with pytest.raises(ValueError, match="delivery_mode"):
        maybe_delivery_mode("sometimes")


def test_queue_rabbitmq_extensions_become_arguments():
    q = Queue("q", expires=1.5, message_ttl=2, max_length=10, max_length_bytes=1024,
              max_priority=9, queue_arguments={"x-other": 1})
    args = q._queue_arguments()
    assert args == {"x-expires": 1500, "x-message-ttl": 2000, "x-max-length": 10,
                    "x-max-length-bytes": 1024, "x-max-priority": 9, "x-other": 1}


def test_queue_defaults_and_exclusive_implies_auto_delete():
    q = Queue("q")
    assert q.exchange == Exchange("")
    assert (q.durable, q.exclusive, q.auto_delete, q.no_ack) == (True, False, False, False)
    assert Queue("x", exclusive=True).auto_delete is True
    assert Queue("e", "exname").exchange.name == "exname"


def test_unbound_entity_raises_not_bound():
    with pytest.raises(NotBoundError, match="bind"):
        Queue("q").declare()
    with pytest.raises(NotBoundError):
        Exchange("e").declare()


def test_bind_by_calling_returns_bound_copy(conn):
    q = Queue("callme", Exchange("callme-ex"), "rk")
    bound = q(conn.default_channel)
    assert bound is not q
    assert bound.is_bound and not q.is_bound
    assert bound.exchange.is_bound
    same = q.maybe_bind(conn.default_channel)
    assert same is q and q.is_bound


def test_declare_bind_publish_get_purge_delete(conn):
    chan = conn.default_channel
    ex = Exchange("ent-ex", "direct")
    q = Queue("ent-q", ex, "ent-rk")(chan)
    assert q.declare() == "ent-q"
    producer = conn.Producer(exchange=ex)
    producer.publish("one", routing_key="ent-rk")
    producer.publish("two", routing_key="ent-rk")
    msg = q.get()
    assert msg.payload == "one"
    msg.ack()
    assert q.purge() == 1
    assert q.get() is None
    q.delete()
    with pytest.raises(conn.channel_errors):
        q.queue_declare(passive=True)


def test_queue_declare_returns_counts_and_generated_name(conn):
    chan = conn.default_channel
    q = Queue("", exclusive=True)(chan)
    name, count, consumers = q.queue_declare()
    assert name and q.name == name
    assert (count, consumers) == (0, 0)


def test_multiple_bindings_and_unbind(conn):
    chan = conn.default_channel
    e1, e2 = Exchange("mb-1", "direct"), Exchange("mb-2", "topic")
    q = Queue("mb-q", [binding(e1, "a"), binding(e2, "b.#")])(chan)
    assert q.exchange is None and len(q.bindings) == 2
    q.declare()
    producer = conn.Producer()
    producer.publish(1, exchange=e1, routing_key="a")
    producer.publish(2, exchange=e2, routing_key="b.c.d")
    assert sorted(q.get().payload for _ in range(2)) == [1, 2]
    q.unbind_from(e1, "a")
    producer.publish(3, exchange=e1, routing_key="a")
    assert q.get() is None


def test_exchange_to_exchange_binding_is_refused_clearly_by_the_virtual_broker(conn):
    """The emulated broker has no exchange-to-exchange bindings (kombu-amqp tests the
    native ones); asking for one fails loudly instead of silently not routing."""
    chan = conn.default_channel
    src = Exchange("e2e-src", "fanout")(chan)
    dst = Exchange("e2e-dst", "direct")(chan)
    src.declare()
    dst.declare()
    with pytest.raises(NotImplementedError, match="exchange"):
        dst.bind_to(src, routing_key="k")
    with pytest.raises(NotImplementedError, match="exchange"):
        dst.unbind_from(src, routing_key="k")


def test_no_declare_skips_declaration(conn):
    chan = conn.default_channel
    q = Queue("nodecl-q", no_declare=True)(chan)
    q.declare()
    with pytest.raises(conn.channel_errors):
        chan.queue_declare("nodecl-q", passive=True)


def test_equality_hash_and_pickle():
    e = Exchange("e", "topic", durable=False)
    assert e == Exchange("e", "topic", durable=False)
    assert e != Exchange("e", "direct", durable=False)
    assert hash(e) == hash(Exchange("e", "topic", durable=False))
    q = Queue("q", e, "rk", max_priority=5, queue_arguments={"x-a": 1})
    assert q == Queue("q", e, "rk", max_priority=5, queue_arguments={"x-a": 1})
    assert q != Queue("q", e, "other")
    assert {q, Queue("q", e, "rk")} and hash(q) == hash(Queue("q"))
    for obj in (e, q, binding(e, "rk")):
        clone = pickle.loads(pickle.dumps(obj))
        assert clone == obj
    assert pickle.loads(pickle.dumps(q)).max_priority == 5


def test_queue_from_dict():
    q = Queue.from_dict("fd", exchange="fdx", exchange_type="topic", routing_key="a.#",
                        durable=False, max_priority=4)
    assert q.name == "fd"
    assert q.exchange.name == "fdx" and q.exchange.type == "topic"
    assert q.routing_key == "a.#"
    assert q.durable is False and q.exchange.durable is False
    assert q.max_priority == 4


def test_exchange_message_and_publish(conn):
    chan = conn.default_channel
    ex = Exchange("xm", "direct")(chan)
    ex.declare()
    q = Queue("xm-q", ex, "k")(chan)
    q.declare()
    ex.publish(ex.Message("raw text", content_type="text/plain"), routing_key="k")
    msg = q.get(accept=["text/plain"])
    assert msg.body in (b"raw text", "raw text")
    assert msg.properties.get("delivery_mode") == 2
    ex.delete()


def test_repr_mentions_names():
    assert "Exchange 'e'(direct)" in repr(Exchange("e"))
    assert "'q'" in repr(Queue("q", Exchange("e"), "rk"))
