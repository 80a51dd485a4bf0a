"""An AMQP channel: py-amqp's own channel, plus kombu's message adapters.

Every channel method is py-amqp's; this class adds :meth:`Channel.prepare_message`
and :meth:`Channel.message_to_python`, and publishes, acks and rejects with
pre-resolved method signatures.  py-amqp is imported (with the install hint when
it is missing) by :mod:`kombu_amqp.transport`, which imports this module.
"""

from __future__ import annotations

import select
import ssl as _ssl
from typing import Any

import amqp  # type: ignore[import-untyped]
from amqp import spec as _spec  # type: ignore[import-untyped]
from amqp.exceptions import RecoverableConnectionError  # type: ignore[import-untyped]
from amqp.serialization import dumps as _dump_args  # type: ignore[import-untyped]

from kombu.message import Message as _BaseMessage
from kombu.transport import base

__all__ = ("Channel", "Message")


class Message(_BaseMessage):
    """A message delivered by the broker (``basic_deliver`` or ``basic_get``)."""

    __slots__ = ()

    def __init__(self, msg: amqp.Message, channel: Any = None, **kwargs: Any) -> None:
        props = msg.properties
        info = msg.delivery_info
        super().__init__(
            msg.body,
            info["delivery_tag"],
            props.get("content_type"),
            props.get("content_encoding"),
            info,
            props,
            props.get("application_headers"),
            channel=channel,
            **kwargs,
        )


_BASIC_PUBLISH = _spec.Basic.Publish
_BASIC_ACK = _spec.Basic.Ack
_BASIC_REJECT = _spec.Basic.Reject
_POLLIN = getattr(select, "POLLIN", 1)


class Channel(amqp.Channel, base.StdChannel):
    """A py-amqp channel that kombu's Producer, Consumer and entities drive."""

    Message = Message
    #: ``select.poll`` watching this connection's socket (see _input_pending).
    _poller: Any = None
    _polled_sock: Any = None

    def _input_pending(self, transport: Any) -> bool:
        """Whether a frame may be waiting to be read (cheap: no read, no exception)."""
        if transport._read_buffer:
            return True
        sock = transport.sock
        if sock is None:
            return True  # let py-amqp report the closed connection
        if isinstance(sock, _ssl.SSLSocket) and sock.pending():
            return True
        if not hasattr(select, "poll"):
            return True
        if self._polled_sock is not sock:
            self._poller = select.poll()
            self._poller.register(sock, _POLLIN)
            self._polled_sock = sock
        return bool(self._poller.poll(0))

    def _basic_publish(self, msg: amqp.Message, exchange: str = "", routing_key: str = "",
                       mandatory: bool = False, immediate: bool = False,
                       timeout: float | None = None, confirm_timeout: float | None = None,
                       argsig: str = "Bssbb") -> None:
        """Send ``basic.publish`` with ``msg`` (py-amqp's wire format, less overhead).

        Like py-amqp, it first handles a pending ``connection.blocked``
        notification, but only reads when the socket has something to read;
        and it touches the socket timeout only when ``timeout`` is given.
        """
        conn = self.connection
        if not conn:
            raise RecoverableConnectionError("basic_publish: connection closed")
        transport = conn.transport
        caps = conn.client_properties.get("capabilities")
        if caps and caps.get("connection.blocked") and self._input_pending(transport):
            try:
                conn.drain_events(timeout=0)
            except TimeoutError:
                pass
        args = _dump_args(argsig, (0, exchange, routing_key, mandatory, immediate))
        try:
            if timeout is None:
                conn.frame_writer(1, self.channel_id, _BASIC_PUBLISH, args, msg)
            else:
                with transport.having_timeout(timeout):
                    conn.frame_writer(1, self.channel_id, _BASIC_PUBLISH, args, msg)
        except StopIteration:
            raise RecoverableConnectionError("basic_publish: connection already closed")
        except TimeoutError:
            # A write that timed out leaves the stream unusable: a connection error.
            raise RecoverableConnectionError("basic_publish: timed out")

    basic_publish = _basic_publish

    def _send_async(self, method: Any, argsig: str, args: tuple[Any, ...]) -> None:
        # send_method() minus the promise it builds for callers that never wait.
        conn = self.connection
        if conn is None:
            raise RecoverableConnectionError("connection already closed")
        try:
            conn.frame_writer(1, self.channel_id, method, _dump_args(argsig, args), None)
        except StopIteration:
            raise RecoverableConnectionError("connection already closed")

    def basic_ack(self, delivery_tag: int, multiple: bool = False,
                  argsig: str = "Lb") -> None:
        """Acknowledge ``delivery_tag`` (and all before it when ``multiple``)."""
        self._send_async(_BASIC_ACK, argsig, (delivery_tag, multiple))

    def basic_reject(self, delivery_tag: int, requeue: bool, argsig: str = "Lb") -> None:
        """Reject ``delivery_tag``: requeued, or dropped/dead-lettered."""
        self._send_async(_BASIC_REJECT, argsig, (delivery_tag, requeue))

    def prepare_message(
        self,
        body: Any,
        priority: int | None = None,
        content_type: str | None = None,
        content_encoding: str | None = None,
        headers: dict[str, Any] | None = None,
        properties: dict[str, Any] | None = None,
        _Message: type[amqp.Message] = amqp.Message,
    ) -> amqp.Message:
        """Build the :class:`amqp.Message` that ``basic_publish`` sends.

        ``properties`` is used as the message's property table (not copied):
        kombu's Producer hands over a dict it made for this one message.
        """
        if properties is None:
            properties = {}
        properties["content_type"] = content_type
        properties["content_encoding"] = content_encoding
        if headers:
            properties["application_headers"] = headers
        if priority:
            properties["priority"] = priority
        message = _Message(body)
        message.properties = properties
        return message

    def message_to_python(self, raw_message: amqp.Message) -> _BaseMessage:
        """Wrap a delivered :class:`amqp.Message` as a :class:`kombu.message.Message`."""
        return self.Message(raw_message, channel=self)
