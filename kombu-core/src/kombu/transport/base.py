"""The transport protocol every broker implements.

A transport plugin subclasses :class:`Transport` and gives it a channel
class.  Channels speak the AMQP 0-9-1 method vocabulary that
:mod:`kombu.entity` and :mod:`kombu.messaging` use (``exchange_declare``,
``queue_declare``, ``queue_bind``, ``basic_publish``, ``basic_consume``,
``basic_ack``, ...) plus two adapters: ``prepare_message`` builds what
``basic_publish`` sends, and ``message_to_python`` turns what the broker
delivered into a :class:`kombu.message.Message`.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any

from ..exceptions import ChannelError, ConnectionError
from ..message import Message
from ..utils.objects import cached_property

__all__ = ("Implements", "Management", "Message", "StdChannel", "Transport")


def _LeftBlank(obj: Any, method: str) -> NotImplementedError:
    return NotImplementedError(
        f"Transport {obj.__module__}.{type(obj).__name__} does not implement {method}"
    )


class StdChannel:
    """Base for transport channels: entity factories and shared helpers."""

    no_ack_consumers: set[str] | None = None

    def Consumer(self, *args: Any, **kwargs: Any) -> Any:
        from ..messaging import Consumer

        return Consumer(self, *args, **kwargs)

    def Producer(self, *args: Any, **kwargs: Any) -> Any:
        from ..messaging import Producer

        return Producer(self, *args, **kwargs)

    def get_bindings(self) -> Any:
        raise _LeftBlank(self, "get_bindings")

    def after_reply_message_received(self, queue: str) -> None:
        """Called after a reply for an RPC-style request arrived on ``queue``.

        Transports whose reply queues need cleaning up override this.
        """

    def prepare_queue_arguments(self, arguments: dict[str, Any] | None,
                                **kwargs: Any) -> dict[str, Any] | None:
        return arguments

    def __enter__(self) -> StdChannel:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()  # type: ignore[attr-defined]


class Management:
    """Broker management operations (optional for a transport)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def get_bindings(self) -> list[dict[str, Any]]:
        raise _LeftBlank(self, "get_bindings")


class Implements(dict):  # type: ignore[type-arg]
    """What a transport supports, readable as attributes.

    Keys every transport states (the conformance kit and ``kombu transports``
    read them): ``asynchronous``, ``exchange_type`` (a frozenset),
    ``heartbeats``, ``priority``, ``message_ttl``, ``queue_ttl``
    (``x-expires``), ``dead_letter``, ``fanout_across_connections``,
    ``cross_process``, ``persistent``, ``leases`` (a frozen or vanished
    consumer's messages come back while a live one keeps them), ``batch_publish``
    (see :mod:`kombu.batching`), ``asyncio`` (a native :mod:`kombu.aio` side, see
    :mod:`kombu.aio.contract`; without it kombu.aio runs the transport through
    its adapter).
    """

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key)

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def extend(self, **kwargs: Any) -> Implements:
        return type(self)(self, **kwargs)


default_transport_capabilities = Implements(
    asynchronous=False,
    exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
    heartbeats=False,
    priority=False,
    message_ttl=False,
    queue_ttl=False,
    dead_letter=False,
    fanout_across_connections=False,
    cross_process=False,
    persistent=False,
    leases=False,
    batch_publish=False,
    asyncio=False,
)


class Transport:
    """Base class for transports.

    Subclasses set ``Channel``, the error tuples and ``implements``, and
    implement ``establish_connection``, ``close_connection``,
    ``create_channel`` and ``drain_events``.
    """

    #: The :class:`~kombu.Connection` this transport serves.
    client: Any = None
    default_port: int | None = None
    #: Errors that mean the connection is lost (reconnecting may help).
    connection_errors: tuple[type[BaseException], ...] = (ConnectionError,)
    #: Errors that mean the channel is unusable.
    channel_errors: tuple[type[BaseException], ...] = (ChannelError,)
    #: Subset of ``connection_errors`` worth retrying; None means all of them.
    recoverable_connection_errors: tuple[type[BaseException], ...] | None = None
    recoverable_channel_errors: tuple[type[BaseException], ...] | None = None
    driver_type = "N/A"
    driver_name = "N/A"
    implements = default_transport_capabilities
    #: True if the transport takes the whole URL as its hostname and parses
    #: it itself (Connection then leaves the URL alone).
    can_parse_url = False
    #: Whether the transport can be driven by the kombu Hub (event loop).
    supports_heartbeats = False
    supports_ev = False
    #: Whether a polling loop needs the Connection to pass ``timeout``.
    polling_interval: float | None = None
    #: The largest message (bytes) the broker stores, for a broker with a limit
    #: (None: no limit of the transport's own).  Publishing a larger one must
    #: fail with an error that names the limit, storing nothing: the kit checks it.
    max_message_size: int | None = None
    __reader: Any = None

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.client = client

    def establish_connection(self) -> Any:
        raise _LeftBlank(self, "establish_connection")

    def close_connection(self, connection: Any) -> None:
        raise _LeftBlank(self, "close_connection")

    def create_channel(self, connection: Any) -> Any:
        raise _LeftBlank(self, "create_channel")

    def close_channel(self, connection: Any) -> None:
        """Close a channel (kombu's name for the parameter is ``connection``)."""
        connection.close()

    def drain_events(self, connection: Any, **kwargs: Any) -> Any:
        raise _LeftBlank(self, "drain_events")

    def heartbeat_check(self, connection: Any, rate: int = 2) -> None:
        """Send/verify heartbeats; transports without heartbeats do nothing."""

    def driver_version(self) -> str:
        return "N/A"

    def get_heartbeat_interval(self, connection: Any) -> float:
        return 0

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Hook the connection's file descriptors into a kombu Hub."""

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        """Undo :meth:`register_with_event_loop`."""

    def verify_connection(self, connection: Any) -> bool:
        return True

    def _make_reader(self, connection: Any, timeout: Any = socket.timeout,
                     _errors: Any = (socket.error, OSError),
                     _unavail: tuple[int, ...] = (errno.EAGAIN, errno.EINTR)
                     ) -> Callable[..., Any]:
        drain_events = connection.drain_events

        def _read(loop: Any) -> None:
            if not connection.connected:
                raise self.recoverable_connection_errors[0]("Socket was disconnected") \
                    if self.recoverable_connection_errors else ConnectionError(
                        "Socket was disconnected")
            try:
                drain_events(timeout=0)
            except timeout:
                return
            except _errors as exc:
                if getattr(exc, "errno", None) in _unavail:
                    return
                raise
            loop.call_soon(_read, loop)

        return _read

    def qos_semantics_matches_spec(self, connection: Any) -> bool:
        return True

    def on_readable(self, connection: Any, loop: Any) -> None:
        reader = self.__reader
        if reader is None:
            reader = self.__reader = self._make_reader(connection)
        reader(loop)

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        """Customise how the connection URL is rendered (kombu masks the password)."""
        return uri

    @property
    def default_connection_params(self) -> dict[str, Any]:
        return {}

    def get_manager(self, *args: Any, **kwargs: Any) -> Management:
        return self.Management(self)

    Management = Management

    @cached_property
    def manager(self) -> Any:
        """The transport's :class:`Management` (broker management operations)."""
        return self.get_manager()

    @property
    def supports_ev_loop(self) -> bool:
        return self.supports_ev
