"""boto3 clients and the per-connection state they share: queue URLs and receipts.

One :class:`SQSBroker` per connection (transport) holds the SQS client (boto3
clients are thread-safe), the clients of predefined queues with their own
credentials, the SNS client for fanout, the queue URL cache and the receipt
handles of the messages the connection holds (delivery tag -> receipt).
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .options import DEFAULT_REGION, Options, entity_name

__all__ = ("QueueNotFound", "SQSBroker", "error_code", "http_status")

_tags = itertools.count(1)


class QueueNotFound(LookupError):
    """A queue that does not exist in SQS (or is not in ``predefined_queues``)."""


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for other errors)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int:
    """The HTTP status of a botocore ClientError (0 for other errors)."""
    if isinstance(exc, ClientError):
        return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return 0


_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
            "NonExistentQueue")


class SQSBroker:
    """Clients, queue URLs and receipts of one connection."""

    def __init__(self, client: Any, options: Options) -> None:
        self.options = options
        self.lock = threading.Lock()
        self.urls: dict[str, str] = {}
        #: delivery tag -> (queue name, receipt handle).
        self.receipts: dict[str, tuple[str, str]] = {}
        self.fifo: dict[str, bool] = {}
        self.region = options.region or boto3.Session().region_name or DEFAULT_REGION
        self.endpoint = options.endpoint(client.hostname, client.port)
        self._key = unquote(client.userid) if client.userid else None
        self._secret = unquote(client.password) if client.password else None
        timeout = self.connect_timeout = client.connect_timeout
        config: dict[str, Any] = {"retries": {"total_max_attempts": 2, "mode": "standard"}}
        if timeout:
            config["connect_timeout"] = timeout
            config["read_timeout"] = max(float(timeout), options.wait_time_seconds + 10.0)
        config.update(options.client_config)
        self.config = Config(**config)
        self._clients: dict[Any, Any] = {}
        self._sts_expires = 0.0
        self._sts_credentials: dict[str, str] | None = None
        self._sns: Any = None

    # -- clients ----------------------------------------------------------------

    def _credentials(self) -> dict[str, str]:
        if self.options.sts_role_arn:
            return self._sts()
        if self._key and self._secret:
            return {"aws_access_key_id": self._key, "aws_secret_access_key": self._secret}
        return {}

    def _sts(self) -> dict[str, str]:
        """Credentials of ``sts_role_arn``, assumed again shortly before they expire."""
        now = time.time()
        if self._sts_credentials is None or now >= self._sts_expires:
            base = ({"aws_access_key_id": self._key, "aws_secret_access_key": self._secret}
                    if self._key and self._secret else {})
            sts = boto3.client("sts", region_name=self.region, endpoint_url=self.endpoint,
                               config=self.config, **base)
            seconds = max(900, self.options.sts_token_timeout)
            reply = sts.assume_role(RoleArn=self.options.sts_role_arn,
                                    RoleSessionName="kombu-sqs", DurationSeconds=seconds)
            creds = reply["Credentials"]
            self._sts_credentials = {
                "aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"],
            }
            self._sts_expires = now + seconds - 60
            self._clients.clear()
        return self._sts_credentials

    def _make(self, service: str, region: str, creds: dict[str, str]) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            config=self.config, **creds)

    def sqs(self, queue: str | None = None) -> Any:
        """The SQS client for ``queue`` (a predefined queue may have its own credentials)."""
        creds = self._credentials()  # may drop expired STS clients
        spec = self.options.predefined_queues.get(queue) if queue is not None else None
        key = queue if spec and ("access_key_id" in spec or "region" in spec) else None
        found = self._clients.get(key)
        if found is None:
            region = self.region
            if key is not None and spec is not None:
                region = spec.get("region", region)
                if "access_key_id" in spec and not self.options.sts_role_arn:
                    creds = {"aws_access_key_id": spec["access_key_id"],
                             "aws_secret_access_key": spec["secret_access_key"]}
            found = self._clients[key] = self._make("sqs", region, creds)
        return found

    def probe(self, queue: str | None = None) -> Any:
        """A client for the connect check: one attempt, answered within the connect timeout."""
        timeout = self.connect_timeout or 5.0
        config = self.config.merge(Config(connect_timeout=timeout, read_timeout=timeout,
                                          retries={"total_max_attempts": 1}))
        spec = self.options.predefined_queues.get(queue) if queue is not None else None
        creds = self._credentials()
        region = self.region
        if spec is not None:
            region = spec.get("region", region)
            if "access_key_id" in spec and not self.options.sts_role_arn:
                creds = {"aws_access_key_id": spec["access_key_id"],
                         "aws_secret_access_key": spec["secret_access_key"]}
        return boto3.client("sqs", region_name=region, endpoint_url=self.endpoint,
                            config=config, **creds)

    def sns(self) -> Any:
        if self._sns is None:
            self._sns = self._make("sns", self.region, self._credentials())
        return self._sns

    # -- queues -----------------------------------------------------------------

    def sqs_name(self, queue: str) -> str:
        return entity_name(self.options.queue_name_prefix + queue)

    def url(self, queue: str) -> str:
        """The URL of ``queue`` (cached); QueueNotFound if it does not exist."""
        found = self.urls.get(queue)
        if found is not None:
            return found
        predefined = self.options.predefined_queues
        if predefined:
            spec = predefined.get(queue)
            if spec is None:
                raise QueueNotFound(f"Queue {queue!r} must be defined in 'predefined_queues' "
                                    f"(known: {sorted(predefined)})")
            found = spec["url"]
        else:
            try:
                found = self.sqs(queue).get_queue_url(QueueName=self.sqs_name(queue))["QueueUrl"]
            except ClientError as exc:
                if error_code(exc) in _MISSING:
                    raise QueueNotFound(f"Queue {queue!r} ({self.sqs_name(queue)!r}) does "
                                        f"not exist in SQS") from None
                raise
        self.urls[queue] = found
        return str(found)

    def forget(self, queue: str) -> None:
        self.urls.pop(queue, None)

    def is_fifo(self, queue: str) -> bool:
        return queue.endswith(".fifo")

    # -- receipts ---------------------------------------------------------------

    def hold(self, queue: str, receipt: str) -> str:
        tag = f"sqs{next(_tags)}"
        self.receipts[tag] = (queue, receipt)
        return tag

    def by_queue(self, tags: Any, drop: bool = False) -> dict[str, list[tuple[str, str]]]:
        """``{queue: [(tag, receipt), ...]}`` for the known ``tags``."""
        out: dict[str, list[tuple[str, str]]] = {}
        receipts = self.receipts
        for tag in tags:
            found = receipts.pop(tag, None) if drop else receipts.get(tag)
            if found is not None:
                out.setdefault(found[0], []).append((tag, found[1]))
        return out
