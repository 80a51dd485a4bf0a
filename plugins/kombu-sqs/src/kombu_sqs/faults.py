"""Where the SQS transport keeps envelopes, for the fault suite's bad-input scenario.

``--kombu-fault-envelopes=kombu_sqs.faults:write_envelope`` (see
:mod:`kombu.testing.faults.envelopes`).
"""

from __future__ import annotations

import base64
from typing import Any

__all__ = ("write_envelope",)


def _sqs_text(payload: bytes) -> str:
    """``payload`` as an SQS message body.

    SQS accepts only non-empty text of XML's characters: other payloads are
    sent base64-encoded, as kombu 5.7 sends every body (the transport decodes
    them back); an empty one, which SQS refuses, becomes a single space.
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(payload).decode()
    if not text:
        return " "
    if any(c < " " and c not in "\t\r\n" for c in text):
        return base64.b64encode(payload).decode()
    return text


def write_envelope(conn: Any, queue: str, payload: bytes) -> None:
    """Send ``payload`` to ``queue`` as it is, past the producer."""
    storage = conn.default_channel.storage
    broker = storage.broker
    if not storage.queue_exists(queue):
        storage.declare_queue(queue, None)
    args: dict[str, Any] = {}
    if queue.endswith(".fifo"):
        args = {"MessageGroupId": "default", "MessageDeduplicationId": str(id(payload))}
    broker.sqs(queue).send_message(QueueUrl=broker.url(queue), MessageBody=_sqs_text(payload),
                                   **args)
