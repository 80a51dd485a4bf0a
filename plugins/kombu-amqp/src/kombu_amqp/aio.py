"""kombu.aio over AMQP 0-9-1, natively on the event loop, through aiormq.

aiormq (the protocol layer aio-pika is built on, with pamqp for framing)
keeps one non-blocking socket per connection on the running loop: no thread.
This module maps kombu's channel vocabulary onto it: properties to and from
pamqp's ``Basic.Properties``, deliveries to :class:`kombu.aio.Message`,
broker errors to the connection and channel error tuples.  Settings come from
the kombu Connection: host, port, credentials, virtual host, TLS
(``ssl=True``, a dict of ``ssl`` options or an :class:`ssl.SSLContext`),
``heartbeat`` and ``connect_timeout``; ``transport_options['confirm_publish']``
turns publisher confirms on (each publish then waits for the broker's ack).
"""

from __future__ import annotations

import asyncio
import datetime
import ssl as _ssl
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import aiormq
from aiormq import exceptions as aexc
from pamqp import commands as spec

from kombu.aio import Message
from kombu.aio.contract import NATIVE
from kombu.aio.entity import async_entity
from kombu.exceptions import ChannelError as KombuChannelError
from kombu.exceptions import ConnectionError as KombuConnectionError

__all__ = ("AsyncChannel", "AsyncTransport")

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    aexc.AMQPConnectionError, aexc.ChannelInvalidStateError, ConnectionError, OSError,
    asyncio.TimeoutError, KombuConnectionError)
CHANNEL_ERRORS: tuple[type[BaseException], ...] = (
    aexc.AMQPChannelError, aexc.ChannelClosed, aexc.DeliveryError, KombuChannelError)

#: kombu (py-amqp) property name -> pamqp ``Basic.Properties`` field.
_TO_PAMQP = {
    "content_type": "content_type", "content_encoding": "content_encoding",
    "application_headers": "headers", "delivery_mode": "delivery_mode",
    "priority": "priority", "correlation_id": "correlation_id", "reply_to": "reply_to",
    "expiration": "expiration", "message_id": "message_id", "timestamp": "timestamp",
    "type": "message_type", "user_id": "user_id", "app_id": "app_id",
    "cluster_id": "cluster_id",
}
_FROM_PAMQP = {v: k for k, v in _TO_PAMQP.items()}


def _timestamp(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value


def to_properties(properties: Mapping[str, Any]) -> spec.Basic.Properties:
    """pamqp properties from kombu's (py-amqp's names; unknown keys are dropped)."""
    fields: dict[str, Any] = {}
    for key, value in properties.items():
        name = _TO_PAMQP.get(key)
        if name is None or value is None:
            continue
        if name == "timestamp":
            value = _timestamp(value)
        elif name == "expiration":
            value = str(value)
        fields[name] = value
    return spec.Basic.Properties(**fields)


def from_properties(props: spec.Basic.Properties) -> dict[str, Any]:
    """kombu's property dict (py-amqp's names) from pamqp properties."""
    out: dict[str, Any] = {}
    for name, key in _FROM_PAMQP.items():
        value = getattr(props, name, None)
        if value is not None:
            out[key] = value
    return out


class AsyncChannel:
    """An AMQP channel for :mod:`kombu.aio` (an aiormq channel underneath)."""

    def __init__(self, transport: AsyncTransport, channel: Any) -> None:
        self.transport = transport
        self.raw = channel
        self.channel_id = channel.number
        self.no_ack_consumers: set[str] = set()
        self._callbacks: dict[str, Callable[[Any], None]] = {}
        self._gets: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return f"<kombu.aio AMQP channel {self.channel_id}>"

    @property
    def is_open(self) -> bool:
        return not self.raw.is_closed

    def adopt_entity(self, entity: Any) -> Any:
        return async_entity(entity, self)

    # -- publishing -----------------------------------------------------------

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None, content_encoding: str | None = None,
                        headers: dict[str, Any] | None = None,
                        properties: dict[str, Any] | None = None) -> Any:
        props = dict(properties or {})
        props["content_type"] = content_type
        props["content_encoding"] = content_encoding
        if headers:
            props["application_headers"] = headers
        if priority:
            props["priority"] = priority
        if isinstance(body, str):
            body = body.encode(content_encoding or "utf-8")
        return bytes(body), to_properties(props)

    async def basic_publish(self, message: Any, exchange: str = "", routing_key: str = "",
                            mandatory: bool = False, immediate: bool = False,
                            timeout: float | None = None, **kwargs: Any) -> Any:
        body, properties = message
        return await self.raw.basic_publish(body, exchange=exchange, routing_key=routing_key,
                                            properties=properties, mandatory=mandatory,
                                            timeout=timeout)

    # -- declarations ---------------------------------------------------------

    async def exchange_declare(self, exchange: str, type: str = "direct", durable: bool = False,
                               auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                               nowait: bool = False, passive: bool = False) -> Any:
        return await self.raw.exchange_declare(exchange, exchange_type=type, passive=passive,
                                               durable=durable, auto_delete=auto_delete,
                                               arguments=arguments)

    async def exchange_delete(self, exchange: str, if_unused: bool = False,
                              nowait: bool = False) -> Any:
        return await self.raw.exchange_delete(exchange, if_unused=if_unused)

    async def queue_declare(self, queue: str = "", passive: bool = False,
                            durable: bool = False, exclusive: bool = False,
                            auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                            nowait: bool = False) -> tuple[str, int, int]:
        ok = await self.raw.queue_declare(queue, passive=passive, durable=durable,
                                          exclusive=exclusive, auto_delete=auto_delete,
                                          arguments=arguments)
        return ok.queue, int(ok.message_count or 0), int(ok.consumer_count or 0)

    async def queue_bind(self, queue: str, exchange: str = "", routing_key: str = "",
                         arguments: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        return await self.raw.queue_bind(queue, exchange, routing_key=routing_key,
                                         arguments=arguments)

    async def queue_unbind(self, queue: str, exchange: str = "", routing_key: str = "",
                           arguments: dict[str, Any] | None = None,
                           nowait: bool = False) -> Any:
        return await self.raw.queue_unbind(queue, exchange, routing_key=routing_key,
                                           arguments=arguments)

    async def queue_purge(self, queue: str, nowait: bool = False) -> int:
        ok = await self.raw.queue_purge(queue)
        return int(getattr(ok, "message_count", 0) or 0)

    async def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                           nowait: bool = False) -> int:
        ok = await self.raw.queue_delete(queue, if_unused=if_unused, if_empty=if_empty)
        return int(getattr(ok, "message_count", 0) or 0)

    # -- consuming ------------------------------------------------------------

    async def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                        apply_global: bool = False) -> None:
        await self.raw.basic_qos(prefetch_count=prefetch_count, global_=apply_global)

    def _message(self, delivered: Any, consumer_tag: str | None = None) -> Message:
        delivery = delivered.delivery
        props = from_properties(delivered.header.properties)
        info = {"consumer_tag": consumer_tag, "delivery_tag": delivery.delivery_tag,
                "redelivered": bool(delivery.redelivered), "exchange": delivery.exchange,
                "routing_key": delivery.routing_key}
        return Message(delivered.body, delivery.delivery_tag, props.get("content_type"),
                       props.get("content_encoding"), info, props,
                       props.get("application_headers"), channel=self)

    async def basic_consume(self, queue: str, no_ack: bool, callback: Callable[[Any], None],
                            consumer_tag: str, arguments: dict[str, Any] | None = None) -> str:
        async def on_message(delivered: Any) -> None:
            handler = self._callbacks.get(consumer_tag)
            if handler is None:  # cancelled meanwhile: never dropped
                if not no_ack and not self.raw.is_closed:
                    await self.raw.basic_reject(delivered.delivery.delivery_tag, requeue=True)
                return
            handler(self._message(delivered, consumer_tag))

        self._callbacks[consumer_tag] = callback
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
        try:
            ok = await self.raw.basic_consume(queue, on_message, no_ack=no_ack,
                                              consumer_tag=consumer_tag, arguments=arguments)
        except BaseException:
            self._callbacks.pop(consumer_tag, None)
            self.no_ack_consumers.discard(consumer_tag)
            raise
        return str(ok.consumer_tag)

    async def basic_cancel(self, consumer_tag: str) -> None:
        if self._callbacks.pop(consumer_tag, None) is None:
            return
        try:
            if not self.raw.is_closed:
                await self.raw.basic_cancel(consumer_tag)
        finally:
            self.no_ack_consumers.discard(consumer_tag)

    async def basic_get(self, queue: str, no_ack: bool = False) -> Message | None:
        task = asyncio.ensure_future(self.raw.basic_get(queue, no_ack=no_ack))
        self._gets.add(task)
        task.add_done_callback(self._gets.discard)
        try:
            delivered = await asyncio.shield(task)
        except asyncio.CancelledError:
            if not no_ack:  # the message may still come: give it back when it does
                task.add_done_callback(self._give_back_orphan)
            raise
        except Exception as exc:
            # aiormq fails the futures of a closing channel with whatever it was
            # closed with (a bare Exception on a local close): a waiter must see
            # a connection error.
            if self.raw.is_closed:
                raise KombuConnectionError(
                    "kombu.aio: the AMQP channel closed while waiting for a message") from exc
            raise
        if isinstance(delivered.delivery, spec.Basic.GetEmpty):
            return None
        return self._message(delivered)

    def _give_back_orphan(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            return
        delivered = task.result()
        if isinstance(delivered.delivery, spec.Basic.GetOk) and not self.raw.is_closed:
            reject = asyncio.ensure_future(self.raw.basic_reject(
                delivered.delivery.delivery_tag, requeue=True))
            self._gets.add(reject)
            reject.add_done_callback(self._gets.discard)

    async def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        await self.raw.basic_ack(delivery_tag, multiple=multiple)

    async def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        await self.raw.basic_reject(delivery_tag, requeue=requeue)

    async def close(self) -> None:
        self._callbacks.clear()
        if self._gets:
            await asyncio.gather(*self._gets, return_exceptions=True)
        if not self.raw.is_closed:
            await self.raw.close()


class AsyncTransport:
    """:class:`kombu.aio.contract.AsyncTransport` for ``amqp://`` and ``amqps://``."""

    path = NATIVE
    connection_errors = CONNECTION_ERRORS
    channel_errors = CHANNEL_ERRORS
    recoverable_connection_errors = CONNECTION_ERRORS

    def __init__(self, client: Any) -> None:
        self.client = client
        self.owner: Any = None
        self.on_lost: Callable[[BaseException], None] | None = None
        self._conn: Any = None
        self._closing = False
        self._watch: asyncio.Future[Any] | None = None

    def _url_and_context(self) -> tuple[str, _ssl.SSLContext | None]:
        client = self.client
        transport = client.transport
        params = transport.default_connection_params
        ssl = transport._use_ssl() if hasattr(transport, "_use_ssl") else client.ssl
        host = client.hostname or params["hostname"]
        port = client.port or params["port"]
        user = client.userid or params["userid"]
        password = client.password if client.password is not None else params["password"]
        vhost = client.virtual_host or "/"
        context: _ssl.SSLContext | None = None
        if ssl:
            if isinstance(ssl, _ssl.SSLContext):
                context = ssl
            else:
                context = _ssl.create_default_context()
                if isinstance(ssl, Mapping):
                    if ssl.get("ca_certs"):
                        context.load_verify_locations(ssl["ca_certs"])
                    if ssl.get("certfile"):
                        context.load_cert_chain(ssl["certfile"], ssl.get("keyfile"))
                    if ssl.get("cert_reqs") == _ssl.CERT_NONE:
                        context.check_hostname = False
                        context.verify_mode = _ssl.CERT_NONE
        netloc = f"[{host}]" if ":" in host and not host.startswith("[") else host
        query = f"heartbeat={int(client.heartbeat or 0)}"
        url = (f"{'amqps' if ssl else 'amqp'}://{quote(user, safe='')}:"
               f"{quote(password, safe='')}@{netloc}:{port}/{quote(vhost, safe='')}?{query}")
        return url, context

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and not conn.is_closed

    async def connect(self) -> None:
        url, context = self._url_and_context()
        conn = aiormq.Connection(url, context=context)
        try:
            await asyncio.wait_for(conn.connect(), self.client.connect_timeout or None)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        watch = self._watch = conn.closing
        watch.add_done_callback(self._on_closed)

    def _on_closed(self, future: asyncio.Future[Any]) -> None:
        exc = None if future.cancelled() else future.exception()
        if self._closing:
            return
        if self.on_lost is not None:
            self.on_lost(exc or KombuConnectionError("the broker closed the connection"))

    async def channel(self) -> AsyncChannel:
        if not self.connected:
            raise KombuConnectionError("kombu.aio: the AMQP connection is closed")
        confirm = bool((self.client.transport_options or {}).get("confirm_publish"))
        raw = await self._conn.channel(publisher_confirms=confirm)
        return AsyncChannel(self, raw)

    async def close(self) -> None:
        self._closing = True
        watch, self._watch = self._watch, None
        if watch is not None and not watch.done():
            watch.cancel()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
