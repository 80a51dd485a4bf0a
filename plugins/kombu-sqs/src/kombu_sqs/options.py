"""The transport options of kombu-sqs, their defaults, and SQS queue names.

Names and defaults are kombu 5.7's (``region``, ``queue_name_prefix``,
``visibility_timeout``, ``wait_time_seconds``, ...); a few options are this
plugin's own and documented in the README.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

__all__ = (
    "DEFAULT_REGION",
    "DEFAULT_VISIBILITY_TIMEOUT",
    "DEFAULT_WAIT_TIME_SECONDS",
    "MAX_MESSAGE_SIZE",
    "SQS_BATCH",
    "Options",
    "entity_name",
)

DEFAULT_REGION = "us-east-1"
#: The lease of a received message (seconds; kombu: 1800).  Renewed while held, so it
#: only bounds how long a dead consumer's messages stay invisible.
DEFAULT_VISIBILITY_TIMEOUT = 120
#: kombu's default long-polling wait (seconds, SQS allows 0..20).
DEFAULT_WAIT_TIME_SECONDS = 10
#: SQS refuses message bodies over 256 KiB.
MAX_MESSAGE_SIZE = 262144
#: SQS's batch limit (ReceiveMessage, DeleteMessageBatch, ...).
SQS_BATCH = 10

# As kombu: '.' becomes '-', '-' and '_' stay, any other punctuation becomes '_'.
_TABLE = {ord(c): ord("_") for c in string.punctuation if c not in "-_."}
_TABLE[ord(".")] = ord("-")


def entity_name(name: str) -> str:
    """The SQS queue (or SNS topic) name for an AMQP name, as kombu mangles it."""
    if name.endswith(".fifo"):
        return name[:-5].translate(_TABLE) + ".fifo"
    return name.translate(_TABLE)


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class Options:
    """The transport options one connection runs with (read once)."""

    def __init__(self, client: Any) -> None:
        opts: Mapping[str, Any] = client.transport_options or {}
        self.raw = opts
        self.region: str | None = opts.get("region")
        self.queue_name_prefix: str = opts.get("queue_name_prefix", "") or ""
        self.predefined_queues: dict[str, dict[str, Any]] = dict(
            opts.get("predefined_queues") or {})
        self.visibility_timeout = int(float(opts.get("visibility_timeout",
                                                     DEFAULT_VISIBILITY_TIMEOUT)))
        if self.visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second (SQS counts "
                             f"whole seconds), not {opts.get('visibility_timeout')!r}")
        wait = int(float(opts.get("wait_time_seconds", DEFAULT_WAIT_TIME_SECONDS)))
        if not 0 <= wait <= 20:
            raise ValueError(f"wait_time_seconds must be 0..20 (SQS's long-polling "
                             f"range), not {wait}")
        self.wait_time_seconds = wait
        self.sts_role_arn: str | None = opts.get("sts_role_arn")
        self.sts_token_timeout = int(opts.get("sts_token_timeout", 900))
        self.client_config: dict[str, Any] = dict(opts.get("client-config") or {})
        self.is_secure: bool | None = (None if opts.get("is_secure") is None
                                       else _bool(opts["is_secure"]))
        self.endpoint_url: str | None = opts.get("endpoint_url")
        self.supports_fanout = _bool(opts.get("supports_fanout", False))
        self.creation_attributes: dict[str, Any] = dict(
            opts.get("sqs-creation-attributes") or {})
        self.queue_tags: dict[str, str] = dict(opts.get("queue_tags") or {})
        self.sqs_base64_encoding = _bool(opts.get("sqs_base64_encoding", False))
        #: Seconds an ack may wait to share a DeleteMessageBatch (0: sent at once).
        self.ack_batch_window = float(opts.get("ack_batch_window", 0.0))
        for name, queue in self.predefined_queues.items():
            url = queue.get("url", "")
            if url.endswith(".fifo") != name.endswith(".fifo"):
                raise ValueError(
                    f"predefined_queues: queue {name!r} and its url {url!r} must both end "
                    f"with .fifo or neither (SQS FIFO queues need the suffix)")

    def endpoint(self, hostname: str | None, port: int | None) -> str | None:
        """The endpoint URL: ``endpoint_url``, else ``sqs://host:port`` (kombu's rule)."""
        if self.endpoint_url:
            return self.endpoint_url
        if hostname:
            scheme = "https" if self.is_secure else "http"
            return f"{scheme}://{hostname}{f':{port}' if port else ''}"
        return None
