"""kombu.transport.virtual: exchange types, broker state, QoS, Message and the
generic Channel/Transport, through a minimal dict-backed transport such as a
plugin author would write."""

from __future__ import annotations

import socket
import time
from collections import deque
from queue import Empty

import pytest

from kombu.exceptions import ChannelError
from kombu.transport import virtual
from kombu.transport.virtual import exchange as ex
from kombu.transport.virtual.base import next_delivery_tag


class Client:
    def __init__(self, **options):
        self.transport_options = options


class DictChannel(virtual.Channel):
    """Storage hooks only: everything else comes from the virtual base."""

    def _store(self):
        return self.connection.store

    def _new_queue(self, queue, **kwargs):
        self._store().setdefault(queue, deque())

    def _has_queue(self, queue, **kwargs):
        return queue in self._store()

    def _put(self, queue, message, **kwargs):
        self._store().setdefault(queue, deque()).append(message)

    def _get(self, queue, timeout=None):
        try:
            return self._store()[queue].popleft()
        except (KeyError, IndexError):
            raise Empty() from None

    def _size(self, queue):
        return len(self._store().get(queue, ()))

    def _purge(self, queue):
        q = self._store().get(queue)
        n = len(q) if q else 0
        if q:
            q.clear()
        return n

    def _delete(self, queue, *args, **kwargs):
        self._store().pop(queue, None)


class DictTransport(virtual.Transport):
    Channel = DictChannel
    polling_interval = 0.01

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self.store = {}


@pytest.fixture
def transport():
    DictTransport.state.clear()
    t = DictTransport(Client())
    t.establish_connection()
    yield t
    t.close_connection(t)


@pytest.fixture
def channel(transport):
    return transport.create_channel(transport)


def publish(channel, body, exchange="", routing_key="", **props):
    priority = props.pop("priority", None)
    headers = props.pop("headers", None)
    message = channel.prepare_message(body, priority, "text/plain", "utf-8", headers, props)
    channel.basic_publish(message, exchange, routing_key)
    return message


# -- exchange types -------------------------------------------------------


def _topic_matches(binding, key):
    return bool(ex.topic_regex(binding).match("." + key))


@pytest.mark.parametrize(
    ("binding", "key", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("a.b.c", "a.b", False),
        ("a.*.c", "a.b.c", True),
        ("a.*.c", "a.b.x.c", False),
        ("a.*", "a", False),
        ("*", "a", True),
        ("*", "a.b", False),
        ("*", "", True),
        ("#", "", True),
        ("#", "a.b.c.d.e", True),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("a.#", "ab", False),
        ("#.c", "c", True),
        ("#.c", "a.b.c", True),
        ("#.c", "a.b.cc", False),
        ("a.#.c", "a.c", True),
        ("a.#.c", "a.x.y.z.c", True),
        ("a.#.#.c", "a.c", True),
        ("a..b", "a..b", True),
        ("a.*.b", "a..b", True),
        ("a..b", "a.x.b", False),
        ("*.*", ".", True),
        ("a.b", "a+b", False),
        ("a$.(b)", "a$.(b)", True),
        ("l1.l2.l3.l4.l5.l6.l7.l8.*", "l1.l2.l3.l4.l5.l6.l7.l8.l9", True),
        ("#.l9.#", "l1.l2.l3.l4.l5.l6.l7.l8.l9.l10", True),
    ],
)
def test_topic_wildcards(binding, key, expected):
    assert _topic_matches(binding, key) is expected


def test_topic_patterns_are_compiled_once():
    assert ex.topic_regex("x.*.y") is ex.topic_regex("x.*.y")


@pytest.mark.parametrize(
    ("binding", "headers", "expected"),
    [
        ({"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}, True),
        ({"a": 1, "b": 2}, {"a": 1}, False),
        ({"x-match": "all", "a": 1}, {"a": 2}, False),
        ({"x-match": "any", "a": 1, "b": 2}, {"b": 2}, True),
        ({"x-match": "any", "a": 1, "b": 2}, {"c": 2}, False),
        ({"x-match": "all"}, {"anything": 1}, True),
        ({"x-match": "any"}, {"anything": 1}, False),
        ({"a": 1, "x-other": "ignored"}, {"a": 1}, True),
        ({"x-match": "all-with-x", "x-k": 1}, {"x-k": 1}, True),
        ({"a": None}, {"a": "whatever"}, True),
        ({"a": 1}, None, False),
    ],
)
def test_headers_match(binding, headers, expected):
    assert ex.headers_match(binding, headers) is expected


def test_exchange_types_route_as_pure_functions():
    B = virtual.Binding
    bindings = [B("q1", "e", "k"), B("q2", "e", "k"), B("q3", "e", "j"), B("q1", "e", "k")]
    direct = ex.DirectExchange()
    assert direct.route(bindings, "k") == ["q1", "q2"]
    assert direct.route(bindings, "nope") == []
    assert ex.FanoutExchange().route(bindings, "anything") == ["q1", "q2", "q3"]

    topic = ex.TopicExchange()
    tb = [B("q", "e", "a.#"), B("r", "e", "*.b")]
    assert topic.route(tb, "a.b") == ["q", "r"]
    assert topic.route(tb, "x.b") == ["r"]

    headers = ex.HeadersExchange()
    hb = [B("q", "e", "", {"x-match": "any", "a": 1})]
    assert headers.route(hb, "", {"a": 1}) == ["q"]
    assert headers.route(hb, "", {"a": 2}) == []
    assert not headers.cacheable and direct.cacheable


def test_exchange_types_keep_kombus_lookup_interface():
    direct = ex.DirectExchange()
    table = [("k", None, "q1"), ("k", None, "q2"), ("j", None, "q3")]
    assert direct.lookup(table, "e", "k", None) == ["q1", "q2"]
    assert direct.lookup(table, "e", "nope", "dead") == ["dead"]
    topic = ex.TopicExchange()
    ttable = [topic.prepare_bind("q", "e", "a.#", None), topic.prepare_bind("r", "e", "*.b", None)]
    assert topic.lookup(ttable, "e", "a.b", None) == ["q", "r"]
    assert topic.lookup([("a.*", None, "plain")], "e", "a.z", None) == ["plain"]


def test_custom_exchange_type_through_lookup_only():
    class Reverse(ex.ExchangeType):
        type = "reverse"

        def lookup(self, table, exchange, routing_key, default):
            return [q for rkey, _, q in table if rkey == routing_key[::-1]]

    bindings = [virtual.Binding("q", "e", "cba")]
    assert Reverse().route(bindings, "abc") == ["q"]

    class Nothing(ex.ExchangeType):
        type = "nothing"

    with pytest.raises(NotImplementedError, match="must implement route"):
        Nothing().route(bindings, "abc")


def test_equivalent():
    prev = {"type": "direct", "durable": True, "auto_delete": False, "arguments": {}}
    d = ex.DirectExchange()
    assert d.equivalent(prev, "e", "direct", True, False, None)
    assert not d.equivalent(prev, "e", "topic", True, False, None)
    assert not d.equivalent(prev, "e", "direct", False, False, None)


# -- broker state, QoS, message ---------------------------------------------


def test_broker_state_bindings():
    state = virtual.BrokerState()
    state.declare_exchange("e", "direct", True, False, None)
    state.binding_declare("q", "e", "k", None)
    state.binding_declare("q", "e", "j", {"a": 1})
    assert state.has_binding("q", "e", "k")
    assert sorted(state.queue_bindings("q")) == [("e", "j", {"a": 1}), ("e", "k", None)]
    state.binding_delete("q", "e", "k")
    assert not state.has_binding("q", "e", "k")
    state.queue_bindings_delete("q")
    assert state.queue_bindings("q") == []
    assert state.bindings == {}
    state.clear()
    assert state.exchanges == {}


def test_delivery_tags_are_unique_uuid_shaped():
    tags = {next_delivery_tag() for _ in range(1000)}
    assert len(tags) == 1000
    tag = tags.pop()
    assert [len(p) for p in tag.split("-")] == [8, 4, 4, 4, 12]


def test_message_from_envelope(channel):
    raw = publish(channel, "hello", routing_key="q", correlation_id="c1")
    assert raw["properties"]["body_encoding"] == "base64"
    assert raw["body"] == "aGVsbG8="
    message = channel.message_to_python(raw)
    assert isinstance(message, virtual.Message)
    assert message.body == b"hello"
    assert message.delivery_tag == raw["properties"]["delivery_tag"]
    assert message.delivery_info["routing_key"] == "q"
    assert message.delivery_info["redelivered"] is False
    assert message.properties["correlation_id"] == "c1"
    assert message.content_type == "text/plain"
    assert message.serializable() is raw
    assert channel.message_to_python(message) is message


def test_malformed_envelope_keeps_error_instead_of_raising(channel):
    message = channel.Message(
        {
            "body": "!!!not base64",
            "properties": {"body_encoding": "base64", "delivery_info": {}, "delivery_tag": "t"},
        },
        channel=channel,
    )
    assert message.errors
    assert message.delivery_tag == "t"
    garbage = channel.Message("garbage", channel=channel)
    assert garbage.errors
    assert garbage.delivery_tag  # a tag is made up so it can be acked


def test_qos_prefetch_and_ack(channel):
    qos = virtual.QoS(channel, prefetch_count=2)
    assert qos.can_consume()
    assert qos.can_consume_max_estimate() == 2
    qos.append("m1", 1)
    qos.append("m2", 2)
    assert not qos.can_consume()
    assert qos.can_consume_max_estimate() == 0
    assert qos.get(1) == "m1"
    qos.ack(1)
    assert qos.can_consume()
    qos.ack("unknown")  # ignored
    qos.prefetch_count = 0
    assert qos.can_consume()
    assert qos.can_consume_max_estimate() is None
    qos.append("m3", 3)
    qos.append("m4", 4)
    qos.ack_multiple(3)
    assert list(qos._delivered) == [4]


# -- the generic channel ----------------------------------------------------


def test_declare_bind_publish_get(channel):
    channel.exchange_declare("ex", "direct")
    ok = channel.queue_declare("q1")
    assert ok == ("q1", 0, 0)
    assert ok.queue == "q1"
    channel.queue_bind("q1", "ex", "rk")
    publish(channel, "one", "ex", "rk")
    publish(channel, "lost", "ex", "other")
    assert channel.queue_declare("q1", passive=True).message_count == 1
    message = channel.basic_get("q1")
    assert message.body == b"one"
    assert channel.basic_get("q1") is None
    message.ack()
    assert channel.get_exchanges() == ["ex"]
    assert channel.typeof("ex").type == "direct"
    assert channel.get_table("ex") == [("rk", None, "q1")]


def test_generated_queue_name(channel):
    ok = channel.queue_declare("")
    assert ok.queue.startswith("amq.gen-")


def test_passive_declare_errors_name_the_entity(channel):
    with pytest.raises(ChannelError, match="'nope-queue'") as info:
        channel.queue_declare("nope-queue", passive=True)
    assert info.value.code == 404
    assert isinstance(info.value, virtual.NotFound)
    with pytest.raises(ChannelError, match="'nope-exchange'") as info:
        channel.exchange_declare("nope-exchange", "direct", passive=True)
    assert info.value.code == 404
    channel.exchange_declare("there", "topic")
    channel.exchange_declare("there", "topic", passive=True)


def test_redeclare_with_other_type_fails(channel):
    channel.exchange_declare("e1", "direct")
    channel.exchange_declare("e1", "direct")
    with pytest.raises(virtual.NotEquivalentError, match="'e1'"):
        channel.exchange_declare("e1", "fanout")


def test_unsupported_exchange_type(channel):
    with pytest.raises(ChannelError, match="x-custom"):
        channel.exchange_declare("e2", "x-custom")


def test_publish_to_undeclared_exchange_raises(channel):
    with pytest.raises(ChannelError, match=r"'missing-ex'.*[Dd]eclare"):
        publish(channel, "x", "missing-ex", "rk")


def test_bind_to_undeclared_exchange_raises(channel):
    channel.queue_declare("qb")
    with pytest.raises(virtual.NotFound, match="'nope'"):
        channel.queue_bind("qb", "nope", "rk")


def test_mandatory_unroutable_raises_or_returns(channel):
    channel.exchange_declare("m", "direct")
    message = channel.prepare_message("x", properties={})
    with pytest.raises(virtual.Unroutable, match="'m'"):
        channel.basic_publish(message, "m", "nowhere", mandatory=True)
    returned = []
    channel.events["basic_return"].add(lambda *args: returned.append(args))
    channel.basic_publish(
        channel.prepare_message("y", properties={}), "m", "nowhere", mandatory=True
    )
    exc, exchange, routing_key, msg = returned[0]
    assert isinstance(exc, virtual.Unroutable)
    assert (exchange, routing_key, msg.body) == ("m", "nowhere", b"y")


def test_consume_through_transport_drain_events(transport, channel):
    channel.queue_declare("cq")
    got = []
    channel.basic_consume("cq", False, got.append, "tag")
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0)
    for i in range(3):
        publish(channel, f"m{i}", routing_key="cq")
    transport.drain_events(transport, timeout=1)
    assert [m.body for m in got] == [b"m0", b"m1", b"m2"]
    assert got[0].delivery_info["consumer_tag"] == "tag"
    assert len(channel.qos._delivered) == 3
    for m in got:
        m.ack()
    assert len(channel.qos._delivered) == 0


def test_drain_events_timeout_does_not_spin(transport, channel):
    channel.queue_declare("idle")
    channel.basic_consume("idle", False, lambda m: None, "t")
    calls = []
    original = channel._get

    def counting_get(queue, timeout=None):
        calls.append(queue)
        return original(queue, timeout)

    channel._get = counting_get
    start = time.monotonic()
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0.2)
    assert time.monotonic() - start >= 0.19
    assert len(calls) <= 0.2 / transport.polling_interval + 3


def test_prefetch_limits_deliveries(transport, channel):
    channel.queue_declare("pq")
    for i in range(10):
        publish(channel, str(i), routing_key="pq")
    channel.basic_qos(prefetch_count=3)
    got = []
    channel.basic_consume("pq", False, got.append, "t")
    transport.drain_events(transport, timeout=1)
    assert len(got) == 3
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0.05)
    got[0].ack()
    transport.drain_events(transport, timeout=1)
    assert len(got) == 4


def test_reject_requeue_and_close_restore(transport, channel):
    channel.queue_declare("rq")
    publish(channel, "a", routing_key="rq")
    publish(channel, "b", routing_key="rq")
    first = channel.basic_get("rq")
    first.reject(requeue=True)
    second = channel.basic_get("rq")
    assert second.body == b"b"  # no front-of-queue support: "a" went to the end
    assert second.delivery_info["redelivered"] is False
    again = channel.basic_get("rq")
    assert again.body == b"a"
    assert again.delivery_info["redelivered"] is True
    channel.close()
    assert channel.closed
    ch2 = transport.create_channel(transport)
    assert ch2.queue_declare("rq", passive=True).message_count == 2


def test_no_ack_consumer_messages_are_not_held(transport, channel):
    channel.queue_declare("nq")
    publish(channel, "a", routing_key="nq")
    got = []
    channel.basic_consume("nq", True, got.append, "t")
    transport.drain_events(transport, timeout=1)
    assert got[0].body == b"a"
    assert len(channel.qos._delivered) == 0
    got[0].ack()  # no-op for a no_ack consumer
    channel.close()
    assert DictChannel(transport)._size("nq") == 0


def test_basic_cancel_stops_delivery(transport, channel):
    channel.queue_declare("xq")
    tag = channel.basic_consume("xq", False, lambda m: None, "t")
    channel.basic_cancel(tag)
    publish(channel, "a", routing_key="xq")
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0)
    assert channel._size("xq") == 1


def test_flow_pauses_delivery(transport, channel):
    channel.queue_declare("fq")
    publish(channel, "a", routing_key="fq")
    got = []
    channel.basic_consume("fq", False, got.append, "t")
    channel.flow(False)
    with pytest.raises(socket.timeout):
        transport.drain_events(transport, timeout=0)
    channel.flow(True)
    transport.drain_events(transport, timeout=1)
    assert len(got) == 1


def test_queue_purge_and_delete_remove_bindings(channel):
    channel.exchange_declare("de", "direct")
    channel.queue_declare("dq")
    channel.queue_bind("dq", "de", "k")
    publish(channel, "1", "de", "k")
    publish(channel, "2", "de", "k")
    assert channel.queue_purge("dq") == 2
    publish(channel, "3", "de", "k")
    assert channel.queue_delete("dq") == 1
    assert channel.get_table("de") == []
    assert not channel.state.has_binding("dq", "de", "k")
    with pytest.raises(virtual.NotFound):
        channel.queue_declare("dq", passive=True)


def test_queue_unbind_and_exchange_delete(channel):
    channel.exchange_declare("ue", "topic")
    channel.queue_declare("uq")
    channel.queue_bind("uq", "ue", "a.*")
    channel.queue_unbind("uq", "ue", "a.*")
    publish(channel, "x", "ue", "a.b")
    assert channel._size("uq") == 0
    channel.queue_bind("uq", "ue", "a.*")
    with pytest.raises(virtual.PreconditionFailed):
        channel.exchange_delete("ue", if_unused=True)
    channel.exchange_delete("ue")
    assert "ue" not in channel.state.exchanges
    assert channel.state.queue_bindings("uq") == []


def test_dead_letter_on_reject(channel):
    channel.exchange_declare("dlx", "direct")
    channel.queue_declare("dead")
    channel.queue_bind("dead", "dlx", "work")
    channel.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx"})
    publish(channel, "bad", routing_key="work")
    channel.basic_get("work").reject(requeue=False)
    dead = channel.basic_get("dead")
    assert dead.body == b"bad"
    death = dead.headers["x-death"][0]
    assert death["reason"] == "rejected"
    assert death["queue"] == "work"
    assert death["count"] == 1


def test_reject_without_dead_letter_drops(channel):
    channel.queue_declare("plain")
    publish(channel, "x", routing_key="plain")
    channel.basic_get("plain").reject()
    assert channel._size("plain") == 0


def test_channel_transport_options(transport):
    t = DictTransport(Client(body_encoding=None, polling_interval=0.5))
    assert t.polling_interval == 0.5
    ch = t.create_channel(t)
    assert ch.body_encoding is None
    raw = publish(ch, "plain", routing_key="q")
    assert raw["body"] == "plain"


def test_transport_features():
    features = virtual.Transport.implements
    assert features.exchange_type == frozenset({"direct", "topic", "fanout", "headers"})
    assert virtual.Transport.polling_interval == 1.0
    assert virtual.Transport.driver_type == "virtual"
    assert DictTransport.state is not virtual.Transport.state


def test_connection_close_restores_unacked(transport, channel):
    channel.queue_declare("cc")
    publish(channel, "x", routing_key="cc")
    got = []
    channel.basic_consume("cc", False, got.append, "t")
    transport.drain_events(transport, timeout=1)
    transport.close_connection(transport)
    assert transport.channels == []
    assert channel.closed
    assert transport.store["cc"][0]["properties"]["delivery_info"]["redelivered"] is True


# Outcomes observed on RabbitMQ 3.10 for the same bindings and routing keys:
# the empty routing key has no words, so "*" does not match it and "#" does.
RABBITMQ_TOPIC_TRUTH = [
    ("*", "", False), ("#", "", True), ("a.*", "a.", True), ("a.*", "a", False),
    ("*.b", ".b", True), ("a.#", "a", True), ("#.a", "a", True), ("a..b", "a..b", True),
    ("a.*.b", "a..b", True), ("*", "a.b", False), ("#", "a..b", True),
    ("a.#.b", "a.b", True), ("", "", True), ("", "a", False),
]


@pytest.mark.parametrize(("binding_key", "routing_key", "routed"), RABBITMQ_TOPIC_TRUTH)
def test_topic_routing_matches_rabbitmq(binding_key, routing_key, routed):
    from kombu import Connection, Exchange, Queue

    with Connection("memory://") as conn:
        chan = conn.channel()
        ex = Exchange("truth-topic", "topic")(chan)
        ex.declare()
        q = Queue("truth-q", ex, binding_key)(chan)
        q.declare()
        q.purge()
        conn.Producer(chan).publish("x", exchange=ex, routing_key=routing_key)
        assert (q.get(no_ack=True) is not None) is routed
        q.delete()
        ex.delete()
