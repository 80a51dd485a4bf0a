"""Amazon SQS transport (``sqs://``), over boto3.

This module also answers ``import kombu.transport.SQS``.

Connection URL: ``sqs://[access_key:secret_key@][host[:port]]``.  Without
credentials in the URL, boto3's usual chain applies (environment, files,
instance role); a host selects an endpoint (e.g. a local emulator,
``sqs://127.0.0.1:9324``).  Options are kombu's: ``region``,
``queue_name_prefix``, ``predefined_queues``, ``visibility_timeout``,
``wait_time_seconds``, ``polling_interval``, ``sts_role_arn``,
``sts_token_timeout``, ``client-config``, ``is_secure``, ``endpoint_url``,
``supports_fanout``, ``sqs-creation-attributes``, ``queue_tags``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from kombu.exceptions import ConnectionError as KombuConnectionError
from kombu.transport import virtual
from kombu.utils.url import maybe_sanitize_url

from .channel import Channel
from .options import MAX_MESSAGE_SIZE, Options

try:
    import boto3
    from botocore import exceptions as boto_errors
except ImportError as exc:  # pragma: no cover - the dependency is declared
    raise ImportError(
        "The SQS transport needs boto3: pip install 'kombu-core[sqs]' (or pip install "
        f"boto3) ({exc})") from exc

from .client import QueueNotFound, SQSBroker, error_code, http_status
from .fanout import SNSFanout
from .storage import MessageTooLarge, SQSStorage

__all__ = ("Channel", "MessageTooLarge", "QueueNotFound", "SQSConnectionError", "Transport")

#: AWS error codes that mean the credentials are wrong or not allowed.
_AUTH_CODES = frozenset({
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException",
    "AccessDenied", "AccessDeniedException", "InvalidAccessKeyId", "ExpiredToken",
    "AuthFailure", "MissingAuthenticationToken", "IncompleteSignature",
})


class SQSConnectionError(KombuConnectionError):
    """SQS could not be reached, or refused the credentials."""


class _Waiter:
    """Sleeps ``polling_interval`` unless the last fetch already waited (long polling)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def watch(self, queues: Any) -> None:
        pass

    def token(self) -> Any:
        return None

    def wait(self, token: Any, timeout: float | None) -> None:
        transport = self.transport
        if transport._long_polled:
            transport._long_polled = False
            return
        interval = transport.polling_interval
        if interval is None:
            interval = 1.0
        if timeout is not None:
            interval = min(interval, timeout)
        if interval > 0:
            time.sleep(interval)

    def fileno(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class Transport(virtual.Transport):
    """Amazon SQS transport."""

    Channel = Channel
    Storage = SQSStorage

    polling_interval: float | None = 1.0
    default_port = None
    driver_type = "sqs"
    driver_name = "sqs"
    max_message_size = MAX_MESSAGE_SIZE
    connection_errors = (
        *virtual.Transport.connection_errors,
        SQSConnectionError,
        boto_errors.EndpointConnectionError,
        boto_errors.ConnectTimeoutError,
        boto_errors.ReadTimeoutError,
        boto_errors.ConnectionClosedError,
        boto_errors.NoCredentialsError,
    )
    channel_errors = (
        *virtual.Transport.channel_errors,
        boto_errors.ClientError,
        QueueNotFound,
        MessageTooLarge,
    )
    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout"}),
        heartbeats=False,
        priority=False,
        message_ttl=True,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
        queue_ttl=False,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        self.options = Options(client)
        self._broker: SQSBroker | None = None
        self._fanout: SNSFanout | None = None
        self._long_polled = False
        self._flush_lock = threading.Lock()
        self._flush_timer: threading.Timer | None = None
        self._pending_storages: set[Any] = set()

    # -- shared clients ---------------------------------------------------------

    @property
    def broker(self) -> SQSBroker:
        if self._broker is None:
            self._broker = SQSBroker(self.client, self.options)
        return self._broker

    @property
    def fanout(self) -> SNSFanout | None:
        if not self.options.supports_fanout:
            return None
        if self._fanout is None:
            self._fanout = SNSFanout(self.broker)
        return self._fanout

    def long_polled(self, seconds: float) -> None:
        self._long_polled = True

    def create_waiter(self) -> _Waiter:
        return _Waiter(self)

    # -- ack batching (opt-in: ack_batch_window) --------------------------------

    def ack_pending(self, storage: Any) -> None:
        with self._flush_lock:
            self._pending_storages.add(storage)
            if self._flush_timer is None:
                timer = threading.Timer(self.options.ack_batch_window, self._flush_acks)
                timer.daemon = True
                self._flush_timer = timer
                timer.start()

    def _flush_acks(self) -> None:
        with self._flush_lock:
            storages, self._pending_storages = self._pending_storages, set()
            self._flush_timer = None
        for storage in storages:
            try:
                storage.flush_acks()
            except Exception:  # the messages come back after their visibility timeout
                import logging

                logging.getLogger(__name__).warning(
                    "kombu-sqs: could not delete acked messages", exc_info=True)

    # -- connection -------------------------------------------------------------

    def establish_connection(self) -> Transport:
        """Check the endpoint and the credentials with one request, then open."""
        broker = self.broker
        where = broker.endpoint or f"SQS in {broker.region}"
        try:
            predefined = self.options.predefined_queues
            if predefined:
                name = next(iter(predefined))
                broker.probe(name).get_queue_attributes(QueueUrl=broker.url(name),
                                                        AttributeNames=["QueueArn"])
            else:
                broker.probe().list_queues(MaxResults=1)
        except boto_errors.ClientError as exc:
            code = error_code(exc)
            if code in _AUTH_CODES or http_status(exc) in (401, 403):
                raise SQSConnectionError(
                    f"SQS at {where} refused the credentials ({code or http_status(exc)}): "
                    f"check the access key and secret in the URL, the transport options or "
                    f"boto3's credential chain") from None
            raise
        except boto_errors.NoCredentialsError:
            raise SQSConnectionError(
                f"No AWS credentials for SQS at {where}: put them in the URL "
                f"(sqs://KEY:SECRET@) or in boto3's chain (AWS_ACCESS_KEY_ID, "
                f"~/.aws/credentials, an instance role)") from None
        except (boto_errors.EndpointConnectionError, boto_errors.ConnectTimeoutError,
                boto_errors.ReadTimeoutError, boto_errors.ConnectionClosedError) as exc:
            raise SQSConnectionError(
                f"Cannot reach SQS at {where}: {type(exc).__name__} (connect timeout "
                f"{self.client.connect_timeout}s)") from None
        super().establish_connection()
        return self

    def close_connection(self, connection: Any) -> None:
        timer = self._flush_timer
        if timer is not None:
            timer.cancel()
        self._flush_acks()
        super().close_connection(connection)

    def driver_version(self) -> str:
        return str(boto3.__version__)

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else maybe_sanitize_url(uri, mask)

