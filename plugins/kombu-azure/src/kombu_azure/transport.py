"""Azure Storage Queues transport (``azurestoragequeues://``).

This module also answers ``import kombu.transport.azurestoragequeues``.
URL forms: see :mod:`kombu_azure.options`.

Transport options (``Connection(transport_options={...})``):

``queue_name_prefix``
    Prepended to every queue name before mangling (default ``""``).
``visibility_timeout``
    Seconds a received message stays invisible to others (default 30); the
    lease of a live consumer is renewed every quarter of it.
``wait_time_seconds``
    Longest a fetch keeps polling the queues inside one drain (default 5).
``polling_interval``
    Seconds between polls of empty queues (default 1, as kombu).
``retry_total``
    Retries of a failed request (default 3, linear 1 s backoff).
``connection_string``
    An Azure Storage connection string, used instead of the URL's account.
``read_timeout``
    Seconds to wait for a reply (default 30).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kombu.transport import virtual

from .channel import DEFAULT_VISIBILITY_TIMEOUT, DEFAULT_WAIT_TIME_SECONDS, Channel
from .options import AZURE_MESSAGE_LIMIT, Endpoint, mask_uri, parse_uri

if TYPE_CHECKING:
    from .storage import AzureStorage, Lease

__all__ = ("Channel", "Transport")

DEFAULT_RETRY_TOTAL = 3


def _require_azure() -> Any:
    try:
        import azure.storage.queue as queue_sdk
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise ImportError("The Azure Storage Queues transport needs azure-storage-queue: "
                          "pip install 'kombu-core[azure]'") from exc
    return queue_sdk


def _env_settings() -> dict[str, Any] | None:
    """Client settings that stand for requests' per-request read of the environment.

    None when a proxy variable is set (requests then keeps reading the
    environment, for ``no_proxy``); otherwise the CA bundle it would pick up.
    """
    import os

    if any(name.lower().endswith("_proxy") for name in os.environ):
        return None
    settings: dict[str, Any] = {"use_env_settings": False}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        settings["connection_verify"] = bundle
    return settings


class AzureErrors:
    """``connection_errors`` / ``channel_errors``: azure-core's classes, read on first use."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __get__(self, obj: Any, objtype: Any = None) -> tuple[type[BaseException], ...]:
        from azure.core import exceptions as errors

        if self.index == 0:
            return (*virtual.Transport.connection_errors, errors.ServiceRequestError,
                    errors.ServiceResponseError, ConnectionError, TimeoutError)
        return (*virtual.Transport.channel_errors, errors.HttpResponseError)


class StorageClass:
    """``Transport.Storage``: :class:`~.storage.AzureStorage`, imported on first use."""

    def __get__(self, obj: Any, objtype: Any = None) -> type[AzureStorage]:
        from .storage import AzureStorage

        return AzureStorage


class Transport(virtual.Transport):
    """Azure Storage Queues transport: at-least-once, leases by visibility timeout."""

    Channel = Channel
    Storage = StorageClass()
    can_parse_url = True
    default_port = None
    polling_interval: float | None = 1.0
    driver_type = "azurestoragequeues"
    driver_name = "azurestoragequeues"
    max_message_size = AZURE_MESSAGE_LIMIT
    connection_errors = AzureErrors(0)
    channel_errors = AzureErrors(1)
    implements = virtual.Transport.implements.extend(
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        asynchronous=False,
        heartbeats=False,
        priority=False,
        message_ttl=True,
        queue_ttl=False,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
        asyncio=False,
        batch_publish=False,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        options = dict(getattr(client, "transport_options", None) or {})
        self.options = options
        self.visibility_timeout = float(options.get("visibility_timeout",
                                                    DEFAULT_VISIBILITY_TIMEOUT))
        self.queue_name_prefix = str(options.get("queue_name_prefix", "") or "")
        self.wait_time_seconds = float(options.get("wait_time_seconds",
                                                   DEFAULT_WAIT_TIME_SECONDS))
        #: tag -> Lease of every message this connection's channels hold.
        self.leases: dict[str, Lease] = {}
        self._service: Any = None
        self._endpoint: Endpoint | None = None

    # -- the account -------------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            if self.options.get("connection_string"):
                self._endpoint = Endpoint(connection_string=str(self.options[
                    "connection_string"]), kind="connection_string")
            else:
                self._endpoint = parse_uri(str(self.client.hostname or ""))
        return self._endpoint

    def service_client(self) -> Any:
        """The QueueServiceClient of this connection (made once, checked on first use)."""
        if self._service is None:
            self._service = self._make_service()
        return self._service

    def _make_service(self) -> Any:
        sdk = _require_azure()
        endpoint = self.endpoint
        options = self.options
        timeout = float(self.client.connect_timeout or 5)
        settings: dict[str, Any] = {
            "connection_timeout": timeout,
            "read_timeout": float(options.get("read_timeout", 30)),
            "retry_policy": sdk.LinearRetry(
                backoff=1, random_jitter_range=1,
                retry_total=int(options.get("retry_total", DEFAULT_RETRY_TOTAL))),
        }
        # requests re-reads the environment on every request otherwise (~10% of a
        # publish's CPU): read it once here instead.
        settings.update(_env_settings() or {})
        if endpoint.connection_string:
            service = sdk.QueueServiceClient.from_connection_string(
                endpoint.connection_string, **settings)
        else:
            service = sdk.QueueServiceClient(endpoint.account_url,
                                             credential=endpoint.client_credential(),
                                             **settings)
        self._check(service)
        return service

    def _check(self, service: Any) -> None:
        """One request, no retries: a wrong account, key or host fails now, clearly."""
        from azure.core import exceptions as errors

        where = mask_uri(str(self.client.hostname or ""))
        try:
            pages = service.list_queues(results_per_page=1, retry_total=0).by_page()
            next(pages, None)
        except errors.ClientAuthenticationError as exc:
            raise self._auth_error(where, exc) from exc
        except errors.HttpResponseError as exc:
            if exc.status_code in (401, 403):
                raise self._auth_error(where, exc) from exc
            raise
        except (errors.ServiceRequestError, errors.ServiceResponseError) as exc:
            from kombu.exceptions import ConnectionError as KombuConnectionError

            raise KombuConnectionError(
                f"Cannot reach Azure Storage Queues at {where}: {type(exc).__name__}. "
                f"Is the account URL right and the service (or Azurite) running?") from exc

    @staticmethod
    def _auth_error(where: str, exc: Exception) -> Exception:
        from kombu.exceptions import OperationalError

        return OperationalError(
            f"Azure Storage Queues refused the credentials for {where} "
            f"({getattr(exc, 'error_code', None) or type(exc).__name__}): check the "
            f"account key, SAS token or identity in the URL.")

    def close_connection(self, connection: Any) -> None:
        try:
            super().close_connection(connection)
        finally:
            service, self._service = self._service, None
            if service is not None:
                try:
                    service.close()
                except Exception:  # pragma: no cover - closing a session
                    pass

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri if include_password else mask_uri(uri, mask)

    def driver_version(self) -> str:
        try:
            from importlib.metadata import version

            return version("azure-storage-queue")
        except Exception:  # pragma: no cover
            return "N/A"
