"""Fanout through SNS (``supports_fanout``): one topic per fanout exchange.

As kombu 5.7 does it: binding a queue to a fanout exchange subscribes the
queue to the exchange's SNS topic (raw message delivery, with a queue policy
that lets the topic send to it); publishing to the exchange publishes once
to the topic, and SNS copies the message into every subscribed queue,
whichever process or host consumes it.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from .client import SQSBroker
from .options import entity_name

__all__ = ("SNSFanout",)


class SNSFanout:
    """Topics and subscriptions of one connection (cached)."""

    def __init__(self, broker: SQSBroker) -> None:
        self.broker = broker
        self.lock = threading.Lock()
        self.topics: dict[str, str] = {}
        #: (exchange, queue) -> subscription ARN.
        self.subscriptions: dict[tuple[str, str], str] = {}
        self._arns: dict[str, str] = {}

    def topic_name(self, exchange: str) -> str:
        return entity_name(self.broker.options.queue_name_prefix + exchange)

    def topic(self, exchange: str) -> str:
        """The ARN of the exchange's topic, created if needed (idempotent in SNS)."""
        arn = self.topics.get(exchange)
        if arn is None:
            name = self.topic_name(exchange)
            attributes = {"FifoTopic": "true"} if name.endswith(".fifo") else {}
            arn = self.broker.sns().create_topic(Name=name, Attributes=attributes)["TopicArn"]
            self.topics[exchange] = arn
        return arn

    def _queue_arn(self, queue: str) -> str:
        arn = self._arns.get(queue)
        if arn is None:
            reply = self.broker.sqs(queue).get_queue_attributes(
                QueueUrl=self.broker.url(queue), AttributeNames=["QueueArn"])
            arn = self._arns[queue] = reply["Attributes"]["QueueArn"]
        return arn

    def subscribe(self, exchange: str, queue: str) -> None:
        key = (exchange, queue)
        if key in self.subscriptions:
            return
        topic = self.topic(exchange)
        queue_arn = self._queue_arn(queue)
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": f"kombu-sns-{self.topic_name(exchange)}"[:80],
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "SQS:SendMessage", "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": topic}}}]}
        self.broker.sqs(queue).set_queue_attributes(
            QueueUrl=self.broker.url(queue), Attributes={"Policy": json.dumps(policy)})
        reply = self.broker.sns().subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
        self.subscriptions[key] = reply["SubscriptionArn"]

    def unsubscribe(self, exchange: str, queue: str) -> None:
        arn = self.subscriptions.pop((exchange, queue), None)
        if arn is not None:
            try:
                self.broker.sns().unsubscribe(SubscriptionArn=arn)
            except Exception:
                pass  # already gone

    def queue_deleted(self, queue: str) -> None:
        for exchange, q in list(self.subscriptions):
            if q == queue:
                self.unsubscribe(exchange, q)
        self._arns.pop(queue, None)

    def publish(self, exchange: str, text: str, envelope: Any) -> None:
        args: dict[str, Any] = {}
        if self.topic_name(exchange).endswith(".fifo") and isinstance(envelope, dict):
            props = envelope.get("properties", {})
            args["MessageGroupId"] = str(props.get("MessageGroupId") or "default")
            if props.get("MessageDeduplicationId"):
                args["MessageDeduplicationId"] = str(props["MessageDeduplicationId"])
        self.broker.sns().publish(TopicArn=self.topic(exchange), Message=text, **args)
