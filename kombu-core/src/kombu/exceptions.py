"""The exceptions kombu code catches, in kombu 5.x's hierarchy."""

from __future__ import annotations

import builtins
from typing import Any, NoReturn

__all__ = (
    "BatchPublishError",
    "ChannelError",
    "ChannelLimitExceeded",
    "ConnectionError",
    "ConnectionLimitExceeded",
    "ContentDisallowed",
    "DecodeError",
    "EncodeError",
    "HttpError",
    "InconsistencyError",
    "KombuError",
    "LimitExceeded",
    "MessageStateError",
    "NotBoundError",
    "OperationalError",
    "PluginError",
    "ResourceError",
    "SerializationError",
    "SerializerNotInstalled",
    "TimeoutError",
    "TransportNotInstalled",
    "VersionMismatch",
    "reraise",
)

#: ``drain_events(timeout=...)`` raises this when nothing arrived in time.
TimeoutError = builtins.TimeoutError  # socket.timeout is this class since Python 3.10


class KombuError(Exception):
    """Common base class for every kombu exception."""


class OperationalError(KombuError):
    """Something went wrong talking to the broker (recoverable by retrying)."""


class ConnectionError(KombuError):
    """The connection to the broker failed or was closed."""


class BatchPublishError(KombuError):
    """A batched publish failed and it is uncertain which messages were sent.

    Raised when a transport's publish batch fails part-way through a flush
    (see :meth:`kombu.Producer.batch`): some of its messages may be on the
    broker and others not, so retrying may duplicate them.
    """


class ChannelError(KombuError):
    """A channel-level error: the channel is unusable, the connection may live."""


class ResourceError(ConnectionError):
    """The broker refused a request because a resource limit was reached."""


class SerializationError(KombuError):
    """Failed to serialize or deserialize a message body."""


class EncodeError(SerializationError):
    """Cannot encode an object for sending."""


class DecodeError(SerializationError):
    """Cannot decode a received body."""


class NotBoundError(KombuError):
    """An entity was used before it was bound to a channel."""


class MessageStateError(KombuError):
    """The message was already acknowledged, rejected or requeued."""


class LimitExceeded(KombuError):
    """A pool or resource limit was exceeded."""


class ConnectionLimitExceeded(LimitExceeded):
    """Too many connections in use (connection pool exhausted)."""


class ChannelLimitExceeded(LimitExceeded):
    """Too many channels in use (channel pool exhausted)."""


class VersionMismatch(KombuError):
    """A library version is not compatible with this kombu."""


class SerializerNotInstalled(KombuError):
    """The serializer (or its library) needed for this content type is missing."""


class ContentDisallowed(SerializerNotInstalled):
    """The consumer does not accept this content type."""


class InconsistencyError(ConnectionError):
    """The broker's data is in an inconsistent state; reconnecting may help."""


class HttpError(Exception):
    """An HTTP request made by a transport failed."""

    def __init__(
        self, code: int, message: str | None = None, response: Any = None
    ) -> None:
        self.code = code
        self.message = message
        self.response = response
        super().__init__(code, message, response)

    def __str__(self) -> str:
        return f"HTTP {self.code}: {self.message}"


class PluginError(KombuError):
    """A plugin is incompatible with this kombu-core or failed to register."""


class TransportNotInstalled(KombuError, ImportError, KeyError):
    """No installed transport answers this name; the message says what to install.

    It is a ``KeyError`` (as kombu's unknown-alias error was) and an
    ``ImportError`` (the transport's package is what is missing).
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def reraise(tp: type[BaseException], value: BaseException, tb: Any = None) -> NoReturn:
    """Raise ``value`` (an instance of ``tp``) with traceback ``tb``."""
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value
