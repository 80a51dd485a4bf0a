"""Producer, Consumer and Message over memory://: the publish/deliver/ack path."""

from __future__ import annotations

from typing import Any

import pytest

from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import ChannelError, ContentDisallowed, DecodeError, MessageStateError


@pytest.fixture
def conn():
    with Connection("memory://") as c:
        yield c


def _queue(name: str, **kwargs: Any) -> Queue:
    return Queue(name, Exchange(name), routing_key=name, **kwargs)


def drain(conn: Connection, consumer: Consumer, n: int, timeout: float = 2) -> None:
    with consumer:
        seen = 0
        while seen < n:
            conn.drain_events(timeout=timeout)
            seen += 1


def collect(conn, queue, n, **consumer_kwargs):
    got: list[tuple[Any, Any]] = []
    consumer = conn.Consumer([queue], callbacks=[lambda b, m: got.append((b, m))],
                             **consumer_kwargs)
    with consumer:
        while len(got) < n:
            conn.drain_events(timeout=2)
    return got


def test_publish_json_by_default_and_properties(conn):
    q = _queue("msg-json")
    conn.Producer().publish({"a": [1, 2]}, exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q], headers={"h": "v"}, priority=3,
                            correlation_id="cid", reply_to="rq")
    [(body, message)] = collect(conn, q, 1)
    assert body == {"a": [1, 2]}
    assert message.content_type == "application/json"
    assert message.content_encoding == "utf-8"
    assert message.headers == {"h": "v"}
    assert message.properties["correlation_id"] == "cid"
    assert message.properties["reply_to"] == "rq"
    assert message.properties["delivery_mode"] == 2
    assert message.delivery_info["routing_key"] == "msg-json"
    assert message.delivery_info["exchange"] == "msg-json"
    message.ack()
    assert message.acknowledged


def test_raw_bytes_with_content_type(conn):
    q = _queue("msg-raw")
    conn.Producer().publish(b"\x00\xffbin", routing_key="msg-raw", exchange=q.exchange,
                            declare=[q], content_type="application/octet-stream",
                            content_encoding="binary")
    [(body, message)] = collect(conn, q, 1, accept=["application/octet-stream"])
    assert body == b"\x00\xffbin"
    message.ack()


@pytest.mark.parametrize("compression", ["zlib", "bzip2", "lzma"])
def test_compression_round_trip(conn, compression):
    q = _queue(f"msg-comp-{compression}")
    data = {"text": "x" * 5000}
    conn.Producer().publish(data, exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q], compression=compression)
    [(body, message)] = collect(conn, q, 1)
    assert body == data
    assert message.headers["compression"].startswith("application/")
    message.ack()


def test_serializer_choice_and_accept(conn):
    q = _queue("msg-pickle")
    conn.Producer(serializer="pickle").publish({1, 2}, exchange=q.exchange,
                                               routing_key=q.routing_key, declare=[q])
    [(body, message)] = collect(conn, q, 1, accept=["pickle"])
    assert body == {1, 2}
    message.ack()


def test_disallowed_content_is_not_lost(conn):
    """A pickle message to a json-only consumer raises and stays for redelivery."""
    q = _queue("msg-disallowed")
    conn.Producer().publish({"x": 1}, exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q], serializer="pickle")
    consumer = conn.Consumer([q], callbacks=[lambda b, m: None])
    with consumer, pytest.raises(ContentDisallowed, match="pickle"):
        conn.drain_events(timeout=2)
    conn.default_channel.close()
    conn.close()
    # The message went back to the queue when the channel closed.
    [(body, message)] = collect(conn, q, 1, accept=["pickle", "json"])
    assert body == {"x": 1}
    assert message.delivery_info.get("redelivered") is True
    message.ack()


def test_on_decode_error_gets_the_message(conn):
    q = _queue("msg-undecodable")
    conn.Producer().publish(b"{not json", exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q], content_type="application/json",
                            content_encoding="utf-8")
    errors = []

    def on_decode_error(message, exc):
        errors.append(exc)
        message.reject()

    consumer = conn.Consumer([q], callbacks=[lambda b, m: None],
                             on_decode_error=on_decode_error)
    with consumer:
        conn.drain_events(timeout=2)
    assert len(errors) == 1
    assert isinstance(errors[0], DecodeError)


def test_undecodable_without_handler_raises_and_keeps_message(conn):
    q = _queue("msg-undecodable-2")
    conn.Producer().publish(b"{not json", exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q], content_type="application/json",
                            content_encoding="utf-8")
    with conn.Consumer([q], callbacks=[lambda b, m: None]), pytest.raises(DecodeError):
        conn.drain_events(timeout=2)
    conn.close()
    chan = conn.default_channel
    assert chan.queue_declare(q.name, passive=True).message_count == 1


def test_on_message_gets_raw_message(conn):
    q = _queue("msg-onmessage")
    conn.Producer().publish("hello", exchange=q.exchange, routing_key=q.routing_key,
                            declare=[q])
    got = []
    consumer = conn.Consumer([q], on_message=lambda m: (got.append(m), m.ack()))
    with consumer:
        conn.drain_events(timeout=2)
    assert got[0].payload == "hello"


def test_second_ack_raises_message_state_error(conn):
    q = _queue("msg-double-ack")
    conn.Producer().publish(1, exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    [(_, message)] = collect(conn, q, 1)
    message.ack()
    with pytest.raises(MessageStateError, match="ACK"):
        message.ack()
    with pytest.raises(MessageStateError):
        message.reject()
    with pytest.raises(MessageStateError):
        message.requeue()


def test_requeue_sets_redelivered_and_reject_drops(conn):
    q = _queue("msg-requeue")
    conn.Producer().publish("r", exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    [(_, m1)] = collect(conn, q, 1)
    assert not m1.delivery_info.get("redelivered")
    m1.requeue()
    [(_, m2)] = collect(conn, q, 1)
    assert m2.delivery_info["redelivered"] is True
    m2.reject()
    assert q(conn.default_channel).get() is None


def test_ack_log_error_and_reject_log_error(conn, caplog):
    import logging

    q = _queue("msg-log-error")
    conn.Producer().publish(1, exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    [(_, message)] = collect(conn, q, 1)
    logger = logging.getLogger("t")
    message.ack_log_error(logger, (MessageStateError,))
    assert message.acknowledged and not caplog.records
    with caplog.at_level(logging.CRITICAL, logger="t"):
        message.ack_log_error(logger, (MessageStateError,))  # logged, not raised
        message.reject_log_error(logger, (MessageStateError,))
    assert [r.getMessage().split(",")[0] for r in caplog.records] == [
        f"Couldn't ack {message.delivery_tag!r}", f"Couldn't reject {message.delivery_tag!r}"]
    with pytest.raises(MessageStateError):  # errors not listed propagate
        message.ack_log_error(logger, (KeyError,))


def test_publish_to_undeclared_exchange_fails_clearly(conn):
    producer = Producer(conn.default_channel, exchange=Exchange("never-declared"),
                        auto_declare=False)
    with pytest.raises(ChannelError, match="never-declared"):
        producer.publish("x", routing_key="k")


def test_declare_option_and_auto_declare(conn):
    ex = Exchange("auto-decl", "topic")
    Producer(conn, exchange=ex)  # auto_declare: declared on publish
    q = Queue("auto-decl-q", ex, "a.*")
    conn.Producer(exchange=ex).publish("m", routing_key="a.b", declare=[q])
    assert q(conn.default_channel).get().payload == "m"


def test_expiration_sets_property(conn):
    q = _queue("msg-exp")
    conn.Producer().publish("e", exchange=q.exchange, routing_key=q.routing_key, declare=[q],
                            expiration=30)
    msg = q(conn.default_channel).get()
    assert msg.properties["expiration"] == "30000"


def test_consumer_management(conn):
    q1, q2 = _queue("cm-1"), _queue("cm-2")
    consumer = conn.Consumer([q1], callbacks=[lambda b, m: m.ack()], tag_prefix="tp-")
    consumer.add_queue(q2)
    consumer.consume()
    assert consumer.consuming_from("cm-1") and consumer.consuming_from(q2)
    assert all(tag.startswith("tp-") for tag in consumer._active_tags.values())
    consumer.cancel_by_queue("cm-1")
    assert not consumer.consuming_from("cm-1")
    assert [q.name for q in consumer.queues] == ["cm-2"]
    conn.Producer().publish(1, exchange=q2.exchange, routing_key="cm-2")
    conn.Producer().publish(2, exchange=q2.exchange, routing_key="cm-2")
    consumer.cancel()
    assert consumer.purge() == 2
    consumer.qos(prefetch_count=5)
    consumer.flow(True)
    consumer.recover(requeue=True)


def test_prefetch_count_limits_unacked(conn):
    q = _queue("prefetch-q")
    producer = conn.Producer()
    for i in range(10):
        producer.publish(i, exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    got: list[Any] = []
    consumer = conn.Consumer([q], callbacks=[lambda b, m: got.append(m)], prefetch_count=3)
    with consumer:
        for _ in range(10):
            try:
                conn.drain_events(timeout=0.1)
            except TimeoutError:
                break
        assert len(got) == 3
        got[0].ack()
        conn.drain_events(timeout=1)
        assert len(got) == 4


def test_no_ack_consumer(conn):
    q = _queue("noack-q")
    conn.Producer().publish("n", exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    got = []
    with conn.Consumer([q], callbacks=[lambda b, m: got.append(m)], no_ack=True):
        conn.drain_events(timeout=2)
    got[0].ack()  # nothing to acknowledge: a no-op, not an error
    conn.close()
    assert q(conn.default_channel).get() is None


def test_consumer_without_callbacks_raises(conn):
    q = _queue("nocb-q")
    conn.Producer().publish("n", exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    with conn.Consumer([q]), pytest.raises(NotImplementedError, match="callbacks"):
        conn.drain_events(timeout=2)


def test_many_messages_order(conn):
    q = _queue("order-q")
    producer = conn.Producer()
    for i in range(200):
        producer.publish(i, exchange=q.exchange, routing_key=q.routing_key, declare=[q])
    got: list[int] = []
    consumer = conn.Consumer([q], callbacks=[lambda b, m: (got.append(b), m.ack())])
    with consumer:
        while len(got) < 200:
            conn.drain_events(timeout=2)
    assert got == list(range(200))


def test_producer_retry_policy_publishes(conn):
    q = _queue("retry-q")
    conn.Producer().publish("r", exchange=q.exchange, routing_key=q.routing_key, declare=[q],
                            retry=True, retry_policy={"max_retries": 2, "interval_start": 0})
    assert q(conn.default_channel).get().payload == "r"


def test_topic_fanout_headers_routing_through_api(conn):
    chan = conn.default_channel
    topic = Exchange("api-topic", "topic")
    fan = Exchange("api-fan", "fanout")
    hdr = Exchange("api-hdr", "headers")
    qt = Queue("api-t", topic, "a.*.c")(chan)
    qf1, qf2 = Queue("api-f1", fan)(chan), Queue("api-f2", fan)(chan)
    qh = Queue("api-h", hdr, binding_arguments={"x-match": "all", "k": "v"})(chan)
    for q in (qt, qf1, qf2, qh):
        q.declare()
    p = conn.Producer()
    p.publish("t", exchange=topic, routing_key="a.b.c")
    p.publish("t-miss", exchange=topic, routing_key="a.b.d")
    p.publish("f", exchange=fan, routing_key="whatever")
    p.publish("h", exchange=hdr, headers={"k": "v"})
    p.publish("h-miss", exchange=hdr, headers={"k": "other"})
    assert qt.get().payload == "t" and qt.get() is None
    assert qf1.get().payload == "f" and qf2.get().payload == "f"
    assert qh.get().payload == "h" and qh.get() is None


def test_auto_declared_exchange_is_declared_once_per_connection(conn):
    """The declaration cache keeps the hot path from re-declaring on every publish."""
    chan = conn.default_channel
    calls = []
    original = chan.exchange_declare

    def counting(*args, **kwargs):
        calls.append(kwargs.get("exchange"))
        return original(*args, **kwargs)

    chan.exchange_declare = counting
    ex = Exchange("once-ex", "direct")
    producer = conn.Producer(chan, exchange=ex)
    for i in range(50):
        producer.publish(i, routing_key="k")
    assert calls.count("once-ex") == 1
    conn.declared_entities.clear()  # as after a reconnect
    producer.publish("again", routing_key="k")
    assert calls.count("once-ex") == 2
