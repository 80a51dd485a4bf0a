"""kombu's SQS options: names, prefixes, predefined queues, visibility, polling, STS."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from kombu_sqs.options import entity_name
from sqs_support import ENDPOINT, FAST, URL, drain_until, watch

from kombu import Connection, Consumer, Exchange, Producer, Queue


def _names(raw: Any, prefix: str) -> list[str]:
    urls = raw.list_queues(QueueNamePrefix=prefix).get("QueueUrls") or []
    return sorted(u.rsplit("/", 1)[1] for u in urls)


@pytest.mark.parametrize(("name", "sqs"), [
    ("celery", "celery"),
    ("celery.pidbox", "celery-pidbox"),
    ("a.b:c/d@e", "a-b_c_d_e"),
    ("with-dash_and_under", "with-dash_and_under"),
    ("jobs.high.fifo", "jobs-high.fifo"),
    ("x!y#z.fifo", "x_y_z.fifo"),
])
def test_queue_names_are_mangled_as_kombu_does(name: str, sqs: str) -> None:
    assert entity_name(name) == sqs


def test_queue_name_prefix_and_mangling_reach_sqs(raw: Any, options: dict[str, Any],
                                                  prefix: str) -> None:
    with Connection(URL, transport_options=options) as conn:
        q = Queue("my.queue:1", routing_key="my.queue:1")
        q(conn.default_channel).declare()
        conn.SimpleQueue(q).put({"a": 1})
    assert _names(raw, prefix) == [entity_name(prefix + "my.queue:1")]
    assert _names(raw, prefix)[0].endswith("my-queue_1")


def test_visibility_timeout_is_set_on_created_queues(raw: Any, options: dict[str, Any],
                                                     prefix: str) -> None:
    with Connection(URL, transport_options={**options, "visibility_timeout": 77}) as conn:
        Queue("vt")(conn.default_channel).declare()
        assert conn.default_channel.storage.lease_seconds == 77
    url = raw.get_queue_url(QueueName=prefix + "vt")["QueueUrl"]
    attrs = raw.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "77"


def test_default_visibility_timeout_and_wait_time() -> None:
    conn = Connection(URL)
    assert conn.transport.options.visibility_timeout == 120  # kombu: 1800 (see README)
    assert conn.transport.options.wait_time_seconds == 10


def test_creation_attributes_and_tags(raw: Any, options: dict[str, Any], prefix: str) -> None:
    opts = {**options, "sqs-creation-attributes": {"MessageRetentionPeriod": 3600},
            "queue_tags": {"team": "kombu"}}
    with Connection(URL, transport_options=opts) as conn:
        Queue("attrs")(conn.default_channel).declare()
    url = raw.get_queue_url(QueueName=prefix + "attrs")["QueueUrl"]
    attrs = raw.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["MessageRetentionPeriod"] == "3600"
    assert raw.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "kombu"}


def test_predefined_queues_make_no_create_or_list_calls(raw: Any, prefix: str) -> None:
    url = raw.create_queue(QueueName=prefix + "pre")["QueueUrl"]
    opts = {**FAST, "predefined_queues": {
        "pre": {"url": url, "access_key_id": "other", "secret_access_key": "key"}}}
    with Connection(URL, transport_options=opts) as conn:
        calls = watch(conn, "pre")
        queue = Queue("pre", Exchange("pre"), "pre")
        producer = Producer(conn)
        producer.publish({"n": 1}, exchange=queue.exchange, routing_key="pre", declare=[queue])
        assert [m.payload for m in [conn.SimpleQueue(queue).get(timeout=5)]] == [{"n": 1}]
        names = set(calls.names())
        assert not names & {"CreateQueue", "ListQueues", "GetQueueUrl"}, names
        creds = conn.transport.broker.sqs("pre")._request_signer._credentials
        assert creds.access_key == "other"
        with pytest.raises(Exception, match="predefined_queues"):
            Queue("not-there")(conn.default_channel).declare()


def test_predefined_queue_names_must_agree_on_fifo() -> None:
    with pytest.raises(ValueError, match="fifo"):
        _ = Connection(URL, transport_options={
            "predefined_queues": {"q.fifo": {"url": "http://x/q"}}}).transport


def test_long_polling_uses_wait_time_seconds(options: dict[str, Any]) -> None:
    opts = {**options, "wait_time_seconds": 1, "polling_interval": 5}
    with Connection(URL, transport_options=opts) as conn:
        queue = Queue("lp")
        queue(conn.default_channel).declare()
        calls = watch(conn, "lp")
        got: list[Any] = []
        with Consumer(conn, [queue], callbacks=[lambda b, m: (got.append(b), m.ack())]):
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=3)
            elapsed = time.monotonic() - started
        receives = calls.of("ReceiveMessage")
        waits = [r["WaitTimeSeconds"] for r in receives]
        # Waiting in SQS, not sleeping polling_interval: about one receive a second
        # (the last, with under a second left, does not wait).
        assert waits.count(1) >= 2 and set(waits) <= {0, 1}, waits
        assert len(receives) <= 4, (waits, elapsed)


def test_polling_interval_between_short_polls(options: dict[str, Any]) -> None:
    opts = {**options, "wait_time_seconds": 0, "polling_interval": 0.5}
    with Connection(URL, transport_options=opts) as conn:
        queue = Queue("pi")
        queue(conn.default_channel).declare()
        calls = watch(conn, "pi")
        with Consumer(conn, [queue], callbacks=[lambda b, m: m.ack()]):
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=2.2)
        receives = calls.of("ReceiveMessage")
        assert all(r["WaitTimeSeconds"] == 0 for r in receives)
        assert 3 <= len(receives) <= 6, len(receives)


def test_sts_role_arn_assumes_the_role(options: dict[str, Any], raw: Any) -> None:
    opts = {**options, "sts_role_arn": "arn:aws:iam::123456789012:role/kombu-test",
            "sts_token_timeout": 900}
    with Connection(URL, transport_options=opts) as conn:
        broker = conn.transport.broker
        creds = broker.sqs()._request_signer._credentials
        assert creds.access_key != "test" and creds.token, "the role was not assumed"
        sq = conn.SimpleQueue("sts")
        sq.put({"via": "sts"})
        message = sq.get(timeout=5)
        assert message.payload == {"via": "sts"}
        message.ack()


def test_endpoint_url_option(options: dict[str, Any]) -> None:
    with Connection("sqs://test:test@", transport_options={
            **options, "endpoint_url": ENDPOINT}) as conn:
        sq = conn.SimpleQueue("ep")
        sq.put({"ok": True})
        message = sq.get(timeout=5)
        message.ack()
        assert message.payload == {"ok": True}


def test_dead_letter_queue_through_a_redrive_policy(raw: Any, options: dict[str, Any],
                                                    prefix: str) -> None:
    dlq_url = raw.create_queue(QueueName=prefix + "dlq")["QueueUrl"]
    dlq_arn = raw.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    opts = {**options, "sqs-creation-attributes": {"RedrivePolicy": policy}}
    with Connection(URL, transport_options=opts) as conn:
        sq = conn.SimpleQueue("work")
        sq.put({"poison": True})
        for _ in range(2):  # received twice, requeued twice
            message = sq.get(timeout=5)
            message.requeue()
        with pytest.raises(sq.Empty):
            sq.get(timeout=1)
    moved = raw.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(moved[0]["Body"])["properties"]["delivery_info"]["routing_key"] == "work"


def test_supports_fanout_uses_an_sns_topic(raw_sns: Any, options: dict[str, Any],
                                           prefix: str) -> None:
    opts = {**options, "supports_fanout": True}
    exchange = Exchange("bcast", "fanout")
    with Connection(URL, transport_options=opts) as a, \
            Connection(URL, transport_options=opts) as b:
        got: dict[str, list[Any]] = {"a": [], "b": []}
        consumers = []
        for label, conn in (("a", a), ("b", b)):
            queue = Queue(f"bcast-{label}", exchange)
            consumers.append(Consumer(conn, [queue], no_ack=True,
                                      callbacks=[lambda body, m, k=label: got[k].append(body)]))
            consumers[-1].consume()
        topics = [t["TopicArn"] for t in raw_sns.list_topics()["Topics"]]
        assert any(t.endswith(":" + prefix + "bcast") for t in topics), topics
        calls = watch(a)
        Producer(a).publish({"hello": "all"}, exchange=exchange)
        assert calls.names().count("Publish") == 1 and "SendMessage" not in calls.names()
        drain_until(a, lambda: bool(got["a"]))
        drain_until(b, lambda: bool(got["b"]))
        assert got == {"a": [{"hello": "all"}], "b": [{"hello": "all"}]}
        for consumer in consumers:
            consumer.cancel()
