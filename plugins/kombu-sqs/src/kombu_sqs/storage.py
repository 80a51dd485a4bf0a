"""The storage of the SQS transport: SQS queues, leases as visibility timeouts.

A received message is invisible to other consumers for ``visibility_timeout``
seconds: that is its lease.  The engine's lease keeper renews what a live
consumer holds (``ChangeMessageVisibilityBatch``, ten receipts a request), an
ack deletes (``DeleteMessageBatch``), a requeue makes the message visible at
once, and SQS itself gives back a message whose lease lapsed, counting the
receive (``ApproximateReceiveCount`` > 1 flags it redelivered).

Exchanges and bindings live in the process (as in kombu); fanout exchanges
go through SNS topics when ``supports_fanout`` is on (see :mod:`.fanout`).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import uuid
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport.virtual import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps, loads

from .client import QueueNotFound, SQSBroker, error_code
from .options import MAX_MESSAGE_SIZE, SQS_BATCH

__all__ = ("MessageTooLarge", "SQSStorage")

logger = logging.getLogger(__name__)

_RECEIVE_ATTRS = ["ApproximateReceiveCount"]
_FANOUT_PREFIX = "\x00sns:"


class MessageTooLarge(ChannelError):
    """A message over SQS's 256 KiB limit."""


def _chunks(items: Sequence[Any], n: int = SQS_BATCH) -> list[Sequence[Any]]:
    return [items[i:i + n] for i in range(0, len(items), n)]


class SQSStorage:
    """:class:`kombu.transport.virtual.Storage` over SQS queues."""

    blocking_fetch = True
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        self.broker: SQSBroker = transport.broker
        self.options = self.broker.options
        self.state = transport.state
        self.lease_seconds: float | None = float(self.options.visibility_timeout)
        self._pending: list[str] = []
        self._pending_since = 0.0
        self._lock = threading.Lock()

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        state = self.state
        if arguments:
            state.queue_arguments[queue] = dict(arguments)
        else:
            state.queue_arguments.setdefault(queue, {})
        broker = self.broker
        try:
            broker.url(queue)
            return
        except QueueNotFound:
            if broker.options.predefined_queues:
                raise
        name = broker.sqs_name(queue)
        attributes = {"VisibilityTimeout": str(self.options.visibility_timeout)}
        if name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
        attributes.update({k: str(v) for k, v in self.options.creation_attributes.items()})
        params: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        if self.options.queue_tags:
            params["tags"] = self.options.queue_tags
        broker.urls[queue] = broker.sqs(queue).create_queue(**params)["QueueUrl"]

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        found = self.state.queue_arguments.get(queue)
        if found is None and self.queue_exists(queue):
            return {}
        return found  # type: ignore[no-any-return]

    def queue_exists(self, queue: str) -> bool:
        try:
            self.broker.url(queue)
        except QueueNotFound:
            return False
        return True

    def queue_size(self, queue: str) -> int:
        try:
            url = self.broker.url(queue)
        except QueueNotFound:
            return 0
        reply = self.broker.sqs(queue).get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(reply["Attributes"]["ApproximateNumberOfMessages"])

    def purge_queue(self, queue: str) -> int:
        """Delete every waiting message (received ones, not PurgeQueue's once-a-minute)."""
        try:
            url = self.broker.url(queue)
        except QueueNotFound:
            return 0
        client = self.broker.sqs(queue)
        count = 0
        while True:
            reply = client.receive_message(QueueUrl=url, MaxNumberOfMessages=SQS_BATCH,
                                           VisibilityTimeout=30, WaitTimeSeconds=0)
            messages = reply.get("Messages") or []
            if not messages:
                return count
            client.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(messages)])
            count += len(messages)

    def delete_queue(self, queue: str) -> int:
        state = self.state
        with state.lock:
            state.queue_bindings_delete(queue)
            state.queue_arguments.pop(queue, None)
        if self.options.predefined_queues:
            return self.purge_queue(queue)
        try:
            url = self.broker.url(queue)
        except QueueNotFound:
            return 0
        size = self.queue_size(queue)
        try:
            self.broker.sqs(queue).delete_queue(QueueUrl=url)
        except Exception as exc:
            if error_code(exc) not in ("AWS.SimpleQueueService.NonExistentQueue",
                                       "QueueDoesNotExist"):
                raise
        self.broker.forget(queue)
        if self.transport.fanout is not None:
            self.transport.fanout.queue_deleted(queue)
        return size

    # -- exchanges and bindings (in the process, as kombu) -------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.state.declare_exchange(exchange, meta["type"], meta["durable"],
                                    meta["auto_delete"], dict(meta.get("arguments") or {}))

    def delete_exchange(self, exchange: str) -> None:
        self.state.delete_exchange(exchange)

    def bind(self, binding: Binding) -> None:
        fanout = self.transport.fanout
        if fanout is not None and self._is_fanout(binding.exchange):
            fanout.subscribe(binding.exchange, binding.queue)
        self.state.binding_declare(binding.queue, binding.exchange, binding.routing_key,
                                   dict(binding.arguments) if binding.arguments else None)

    def unbind(self, binding: Binding) -> None:
        self.state.binding_delete(binding.queue, binding.exchange, binding.routing_key)
        fanout = self.transport.fanout
        if fanout is not None and self._is_fanout(binding.exchange):
            fanout.unsubscribe(binding.exchange, binding.queue)

    def _is_fanout(self, exchange: str) -> bool:
        meta = self.state.exchanges.get(exchange)
        return bool(meta) and meta.get("type") == "fanout"

    def route_table(self, exchange: str) -> RouteTable:
        table: RouteTable = self.state.route_table(exchange)
        if self.transport.fanout is not None and table.meta is not None \
                and table.meta.get("type") == "fanout":
            # Every subscriber of the topic gets it, in whatever process it runs.
            marker = Binding(_FANOUT_PREFIX + exchange, exchange, "", None)
            return RouteTable(table.version, table.meta, (marker,))
        return table

    def route_version(self, exchange: str) -> Hashable | None:
        return self.state.versions.get(exchange)  # type: ignore[no-any-return]

    def exchanges(self) -> list[str]:
        return list(self.state.exchanges)

    # -- messages ------------------------------------------------------------

    def _encode(self, envelope: Any) -> str:
        text = envelope if isinstance(envelope, str) else (
            envelope.decode() if isinstance(envelope, bytes) else dumps(envelope))
        if self.options.sqs_base64_encoding:
            text = base64.b64encode(text.encode()).decode()
        size = len(text.encode()) if not text.isascii() else len(text)
        if size > MAX_MESSAGE_SIZE:
            raise MessageTooLarge(
                f"Message of {size} bytes is over SQS's limit of {MAX_MESSAGE_SIZE} bytes "
                f"(256 KiB): nothing was sent. Store large payloads elsewhere (e.g. S3) "
                f"and send a reference.")
        return text

    def _send_args(self, queue: str, envelope: Any) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if queue.endswith(".fifo"):
            props = envelope.get("properties", {}) if isinstance(envelope, dict) else {}
            args["MessageGroupId"] = str(props.get("MessageGroupId") or "default")
            args["MessageDeduplicationId"] = str(props.get("MessageDeduplicationId")
                                                 or uuid.uuid4())
        elif isinstance(envelope, dict):
            props = envelope.get("properties", {})
            delay = props.get("delay_seconds", props.get("DelaySeconds"))
            if delay is not None:
                args["DelaySeconds"] = max(0, min(900, int(delay)))
        return args

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        text = self._encode(envelope)
        broker = self.broker
        for target in targets:
            queue = target.queue
            if queue.startswith(_FANOUT_PREFIX):
                self.transport.fanout.publish(queue[len(_FANOUT_PREFIX):], text, envelope)
                continue
            try:
                url = broker.url(queue)
            except QueueNotFound:
                if broker.options.predefined_queues:
                    raise
                self.declare_queue(queue, None)
                url = broker.url(queue)
            broker.sqs(queue).send_message(QueueUrl=url, MessageBody=text,
                                           **self._send_args(queue, envelope))
        return True

    def _decode(self, text: str, count: int) -> Any:
        if self.options.sqs_base64_encoding or not text.startswith("{"):
            try:
                text = base64.b64decode(text, validate=True).decode()
            except Exception:
                pass  # a plain JSON body (or something undecodable: the engine says so)
        if count > 1:
            try:
                envelope = loads(text)
            except Exception:
                return text
            if isinstance(envelope, dict):
                envelope["redelivered"] = True
                return envelope
        return text

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        broker = self.broker
        wait = min(self.options.wait_time_seconds, int(timeout)) if len(queues) == 1 else 0
        for queue in queues:
            want = min(SQS_BATCH, n - len(out))
            if want <= 0:
                break
            try:
                url = broker.url(queue)
            except QueueNotFound:
                continue
            client = broker.sqs(queue)
            started = time.monotonic()
            reply = client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=want, WaitTimeSeconds=wait,
                VisibilityTimeout=self.options.visibility_timeout,
                MessageSystemAttributeNames=_RECEIVE_ATTRS)
            if wait:
                self.transport.long_polled(time.monotonic() - started)
            messages = reply.get("Messages") or []
            if not messages:
                continue
            if queue in noack:
                client.delete_message_batch(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)])
            for m in messages:
                count = int((m.get("Attributes") or {}).get("ApproximateReceiveCount", 1))
                payload = self._decode(m["Body"], count)
                if queue in noack:
                    out.append(Delivery(queue, f"sqs-noack-{m['MessageId']}", payload, False))
                else:
                    out.append(Delivery(queue, broker.hold(queue, m["ReceiptHandle"]),
                                        payload))
        return out

    def _batch(self, method: str, tags: Sequence[str], drop: bool,
               **extra: Any) -> None:
        broker = self.broker
        for queue, held in broker.by_queue(tags, drop=drop).items():
            try:
                url = broker.url(queue)
            except QueueNotFound:
                continue
            client = broker.sqs(queue)
            call = getattr(client, method)
            for chunk in _chunks(held):
                reply = call(QueueUrl=url, Entries=[
                    {"Id": str(i), "ReceiptHandle": receipt, **extra}
                    for i, (_tag, receipt) in enumerate(chunk)])
                for failed in reply.get("Failed") or ():
                    logger.debug("kombu-sqs: %s of a message of %r failed: %s", method,
                                 queue, failed.get("Message") or failed.get("Code"))

    def ack(self, tags: Sequence[str]) -> None:
        window = self.options.ack_batch_window
        if window <= 0:
            self._batch("delete_message_batch", tags, drop=True)
            return
        with self._lock:  # opt-in: acks wait up to ``window`` to share a request
            pending = self._pending
            if not pending:
                self._pending_since = time.monotonic()
            pending.extend(tags)
            if len(pending) < SQS_BATCH and time.monotonic() - self._pending_since < window:
                self.transport.ack_pending(self)
                return
        self.flush_acks()

    def flush_acks(self) -> None:
        with self._lock:
            tags, self._pending = self._pending, []
        if tags:
            self._batch("delete_message_batch", tags, drop=True)

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        leased = [d.tag for d in deliveries if d.leased]
        if leased:
            self._batch("change_message_visibility_batch", leased, drop=True,
                        VisibilityTimeout=0)
        for d in deliveries:
            if not d.leased:
                self.put(d.payload, (Target(d.queue),))

    def renew(self, tags: Sequence[str]) -> None:
        self._batch("change_message_visibility_batch", tags, drop=False,
                    VisibilityTimeout=self.options.visibility_timeout)

    def restore_lapsed(self) -> int:
        return 0  # SQS makes a message visible again when its visibility timeout ends

    def close(self) -> None:
        self.flush_acks()
