"""Exchange, Queue and binding declarations."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

from .abstract import MaybeChannelBound, Object
from .serialization import prepare_accept_content

__all__ = (
    "PERSISTENT_DELIVERY_MODE",
    "TRANSIENT_DELIVERY_MODE",
    "Exchange",
    "Queue",
    "binding",
    "maybe_delivery_mode",
)

TRANSIENT_DELIVERY_MODE = 1
PERSISTENT_DELIVERY_MODE = 2
DELIVERY_MODES = {"transient": TRANSIENT_DELIVERY_MODE, "persistent": PERSISTENT_DELIVERY_MODE}


def pretty_bindings(bindings: Iterable[Any]) -> str:
    return "[{}]".format(", ".join(map(str, bindings)))


def maybe_delivery_mode(
    v: Any, modes: dict[str, int] | None = None, default: int = PERSISTENT_DELIVERY_MODE
) -> int | None:
    """Turn ``'persistent'``/``'transient'`` (or 2/1) into the AMQP delivery mode."""
    modes = DELIVERY_MODES if modes is None else modes
    if v:
        if isinstance(v, numbers.Integral):
            return int(v)
        try:
            return modes[v]
        except KeyError:
            raise ValueError(
                f"Unknown delivery_mode {v!r}: use 'persistent', 'transient', 1 or 2"
            ) from None
    return default


def _seconds_to_ms(value: Any) -> int:
    return int(float(value) * 1000)


def prepare_queue_arguments(arguments: dict[str, Any] | None, **kwargs: Any) -> dict[str, Any]:
    """Merge the RabbitMQ queue extensions (given in seconds) into ``arguments``."""
    args = dict(arguments or {})
    ext = {
        "x-expires": kwargs.get("expires"),
        "x-message-ttl": kwargs.get("message_ttl"),
        "x-max-length": kwargs.get("max_length"),
        "x-max-length-bytes": kwargs.get("max_length_bytes"),
        "x-max-priority": kwargs.get("max_priority"),
    }
    for key, value in ext.items():
        if value is None:
            continue
        if key in ("x-expires", "x-message-ttl"):
            args[key] = _seconds_to_ms(value)
        else:
            args[key] = int(value)
    return args


class Exchange(MaybeChannelBound):
    """An exchange declaration: where producers send, and how messages are routed.

    ``type`` is ``direct`` (default), ``topic``, ``fanout`` or ``headers``.
    ``delivery_mode`` is the default for messages published through it
    (``'persistent'``/2 or ``'transient'``/1).
    """

    TRANSIENT_DELIVERY_MODE = TRANSIENT_DELIVERY_MODE
    PERSISTENT_DELIVERY_MODE = PERSISTENT_DELIVERY_MODE

    name = ""
    type = "direct"
    durable = True
    auto_delete = False
    passive = False
    delivery_mode: int | None = None
    no_declare = False
    arguments: dict[str, Any] | None = None

    attrs = (
        ("name", None),
        ("type", None),
        ("arguments", None),
        ("durable", bool),
        ("passive", bool),
        ("auto_delete", bool),
        ("delivery_mode", lambda m: DELIVERY_MODES.get(m) or m),
        ("no_declare", bool),
    )

    def __init__(self, name: str = "", type: str = "", channel: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name or self.name
        self.type = type or self.type
        self.maybe_bind(channel)

    def __hash__(self) -> int:
        return hash(("E", self.name))

    def _can_declare(self) -> bool:
        return not self.no_declare and bool(self.name)

    @property
    def can_cache_declaration(self) -> bool:  # type: ignore[override]
        return not self.auto_delete

    def declare(self, nowait: bool = False, passive: bool | None = None,
                channel: Any = None) -> Any:
        """Declare the exchange on the broker (the default exchange '' is never declared)."""
        if self._can_declare():
            passive = self.passive if passive is None else passive
            return (channel or self.channel).exchange_declare(
                exchange=self.name,
                type=self.type,
                durable=self.durable,
                auto_delete=self.auto_delete,
                arguments=self.arguments,
                nowait=nowait,
                passive=passive,
            )
        return None

    def bind_to(self, exchange: Any = "", routing_key: str = "",
                arguments: dict[str, Any] | None = None, nowait: bool = False,
                channel: Any = None, **kwargs: Any) -> Any:
        """Bind this exchange to another exchange (exchange-to-exchange binding)."""
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self.channel).exchange_bind(
            destination=self.name, source=exchange, routing_key=routing_key,
            nowait=nowait, arguments=arguments,
        )

    def unbind_from(self, source: Any = "", routing_key: str = "", nowait: bool = False,
                    arguments: dict[str, Any] | None = None, channel: Any = None) -> Any:
        """Remove an exchange-to-exchange binding."""
        if isinstance(source, Exchange):
            source = source.name
        return (channel or self.channel).exchange_unbind(
            destination=self.name, source=source, routing_key=routing_key,
            nowait=nowait, arguments=arguments,
        )

    def Message(self, body: Any, delivery_mode: Any = None,
                properties: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Build a transport message for :meth:`publish`."""
        properties = {} if properties is None else properties
        mode = delivery_mode or self.delivery_mode
        properties["delivery_mode"] = maybe_delivery_mode(mode)
        if isinstance(body, str) and not kwargs.get("content_encoding"):
            kwargs["content_encoding"] = "utf-8"
        return self.channel.prepare_message(body, properties=properties, **kwargs)

    def publish(self, message: Any, routing_key: str | None = None, mandatory: bool = False,
                immediate: bool = False, exchange: str | None = None) -> Any:
        """Publish a message built by :meth:`Message` (or a str body)."""
        if isinstance(message, str):
            message = self.Message(message)
        return self.channel.basic_publish(
            message, exchange=exchange or self.name, routing_key=routing_key,
            mandatory=mandatory, immediate=immediate,
        )

    def delete(self, if_unused: bool = False, nowait: bool = False) -> Any:
        """Delete the exchange on the broker."""
        return self.channel.exchange_delete(exchange=self.name, if_unused=if_unused,
                                            nowait=nowait)

    def binding(self, routing_key: str = "", arguments: dict[str, Any] | None = None,
                unbind_arguments: dict[str, Any] | None = None) -> binding:
        return binding(self, routing_key, arguments, unbind_arguments)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Exchange):
            return (
                self.name == other.name
                and self.type == other.type
                and self.arguments == other.arguments
                and self.durable == other.durable
                and self.auto_delete == other.auto_delete
                and self.delivery_mode == other.delivery_mode
            )
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        return self._repr_entity(str(self))

    def __str__(self) -> str:
        return f"Exchange {self.name!r}({self.type})"


class binding(Object):
    """One binding of a queue (or exchange) to an exchange, for ``Queue(bindings=...)``."""

    attrs = (
        ("exchange", None),
        ("routing_key", None),
        ("arguments", None),
        ("unbind_arguments", None),
    )

    def __init__(self, exchange: Exchange | None = None, routing_key: str = "",
                 arguments: dict[str, Any] | None = None,
                 unbind_arguments: dict[str, Any] | None = None) -> None:
        self.exchange = exchange
        self.routing_key = routing_key
        self.arguments = arguments
        self.unbind_arguments = unbind_arguments

    def declare(self, channel: Any, nowait: bool = False) -> None:
        """Declare the binding's exchange."""
        if self.exchange and self.exchange.name:
            self.exchange.declare(channel=channel, nowait=nowait)

    def bind(self, entity: Any, nowait: bool = False, channel: Any = None) -> None:
        """Bind ``entity`` (a Queue or Exchange) with this binding."""
        entity.bind_to(exchange=self.exchange, routing_key=self.routing_key,
                       arguments=self.arguments, nowait=nowait, channel=channel)

    def unbind(self, entity: Any, nowait: bool = False, channel: Any = None) -> None:
        """Remove this binding from ``entity``."""
        entity.unbind_from(self.exchange, routing_key=self.routing_key,
                           arguments=self.unbind_arguments, nowait=nowait, channel=channel)

    def __repr__(self) -> str:
        return f"<binding: {self}>"

    def __str__(self) -> str:
        name = self.exchange.name if self.exchange is not None else ""
        return f"{name!r}->{self.routing_key!r}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, binding):
            return (self.exchange == other.exchange and self.routing_key == other.routing_key
                    and self.arguments == other.arguments)
        return NotImplemented

    def __hash__(self) -> int:
        name = self.exchange.name if self.exchange is not None else ""
        return hash((name, self.routing_key))


class Queue(MaybeChannelBound):
    """A queue declaration: where consumers receive from, and how it is bound.

    ``Queue(name, exchange, routing_key)`` binds to one exchange; pass
    ``bindings=[binding(...), ...]`` (or a list as ``exchange``) for several.
    The RabbitMQ extensions ``expires``, ``message_ttl`` (seconds),
    ``max_length``, ``max_length_bytes`` and ``max_priority`` become queue
    arguments.
    """

    ContentDisallowed = None
    name = ""
    exchange: Exchange | None = Exchange("")
    routing_key = ""
    durable = True
    exclusive = False
    auto_delete = False
    no_ack = False
    no_declare: bool | None = None
    queue_arguments: dict[str, Any] | None = None
    binding_arguments: dict[str, Any] | None = None
    consumer_arguments: dict[str, Any] | None = None
    alias: str | None = None
    expires: float | None = None
    message_ttl: float | None = None
    max_length: int | None = None
    max_length_bytes: int | None = None
    max_priority: int | None = None

    attrs = (
        ("name", None),
        ("exchange", None),
        ("routing_key", None),
        ("queue_arguments", None),
        ("binding_arguments", None),
        ("consumer_arguments", None),
        ("durable", bool),
        ("exclusive", bool),
        ("auto_delete", bool),
        ("no_ack", None),
        ("alias", None),
        ("bindings", list),
        ("no_declare", bool),
        ("expires", float),
        ("message_ttl", float),
        ("max_length", int),
        ("max_length_bytes", int),
        ("max_priority", int),
    )

    def __init__(self, name: str = "", exchange: Any = None, routing_key: str = "",
                 channel: Any = None, bindings: Iterable[binding] | None = None,
                 on_declared: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name or self.name
        if isinstance(exchange, str):
            self.exchange = Exchange(exchange)
        elif isinstance(exchange, Exchange):
            self.exchange = exchange
        self.routing_key = routing_key or self.routing_key
        self.bindings = set(bindings or [])
        self.on_declared = on_declared
        if isinstance(exchange, (list, tuple, set)):
            self.bindings |= set(exchange)
        if self.bindings:
            self.exchange = None
        if self.exclusive:
            self.auto_delete = True
        self.maybe_bind(channel)

    def bind(self, channel: Any) -> Queue:
        on_declared = self.on_declared
        bound = super().bind(channel)
        bound.on_declared = on_declared
        return bound

    def __hash__(self) -> int:
        return hash(("Q", self.name))

    def when_bound(self) -> None:
        if self.exchange:
            self.exchange = self.exchange(self.channel)

    @property
    def can_cache_declaration(self) -> bool:  # type: ignore[override]
        args = self.queue_arguments or {}
        return args.get("x-expires") is None and self.expires is None and not self.auto_delete

    def _queue_arguments(self) -> dict[str, Any] | None:
        args = prepare_queue_arguments(
            self.queue_arguments,
            expires=self.expires, message_ttl=self.message_ttl, max_length=self.max_length,
            max_length_bytes=self.max_length_bytes, max_priority=self.max_priority,
        )
        return args or None

    def declare(self, nowait: bool = False, channel: Any = None) -> str:
        """Declare the queue, its exchange(s) and its bindings; returns the name."""
        if not self.no_declare:
            self._create_exchange(nowait=nowait, channel=channel)
            self._create_queue(nowait=nowait, channel=channel)
            self._create_bindings(nowait=nowait, channel=channel)
        return self.name

    def _create_exchange(self, nowait: bool = False, channel: Any = None) -> None:
        if self.exchange:
            self.exchange.declare(nowait=nowait, channel=channel)

    def _create_queue(self, nowait: bool = False, channel: Any = None) -> None:
        self.queue_declare(nowait=nowait, passive=False, channel=channel)
        if self.exchange and self.exchange.name:
            self.queue_bind(nowait=nowait, channel=channel)

    def _create_bindings(self, nowait: bool = False, channel: Any = None) -> None:
        for b in self.bindings:
            channel = channel or self.channel
            b.declare(channel)
            b.bind(self, nowait=nowait, channel=channel)

    def queue_declare(self, nowait: bool = False, passive: bool = False,
                      channel: Any = None) -> Any:
        """Declare only the queue; returns ``(name, message_count, consumer_count)``."""
        channel = channel or self.channel
        arguments = channel.prepare_queue_arguments(self._queue_arguments()) \
            if hasattr(channel, "prepare_queue_arguments") else self._queue_arguments()
        ret = channel.queue_declare(
            queue=self.name, passive=passive, durable=self.durable,
            exclusive=self.exclusive, auto_delete=self.auto_delete,
            arguments=arguments, nowait=nowait,
        )
        if not self.name:
            self.name = ret[0]
        if self.on_declared:
            self.on_declared(*ret)
        return ret

    def queue_bind(self, nowait: bool = False, channel: Any = None) -> Any:
        """Bind the queue to its exchange with its routing key."""
        return self.bind_to(self.exchange, self.routing_key, self.binding_arguments,
                            channel=channel, nowait=nowait)

    def bind_to(self, exchange: Any = "", routing_key: str = "",
                arguments: dict[str, Any] | None = None, nowait: bool = False,
                channel: Any = None) -> Any:
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self.channel).queue_bind(
            queue=self.name, exchange=exchange, routing_key=routing_key,
            arguments=arguments, nowait=nowait,
        )

    def get(self, no_ack: bool | None = None, accept: Iterable[str] | None = None) -> Any:
        """Poll for one message (``basic_get``); None when the queue is empty.

        The message is decoded with ``accept`` (json only by default).
        """
        no_ack = self.no_ack if no_ack is None else no_ack
        message = self.channel.basic_get(queue=self.name, no_ack=no_ack)
        if message is not None:
            m2p = getattr(self.channel, "message_to_python", None)
            if m2p:
                message = m2p(message)
            if message.errors:
                message._reraise_error()
            message.accept = prepare_accept_content(accept)
        return message

    def purge(self, nowait: bool = False) -> int:
        """Remove every ready message; returns how many were removed."""
        return self.channel.queue_purge(queue=self.name, nowait=nowait) or 0

    def consume(self, consumer_tag: str = "", callback: Callable[..., Any] | None = None,
                no_ack: bool | None = None, nowait: bool = False,
                on_cancel: Callable[..., Any] | None = None) -> Any:
        """Start a consumer on this queue (low level: prefer :class:`kombu.Consumer`)."""
        if no_ack is None:
            no_ack = self.no_ack
        kwargs: dict[str, Any] = {}
        if on_cancel is not None:
            kwargs["on_cancel"] = on_cancel
        return self.channel.basic_consume(
            queue=self.name, no_ack=no_ack, consumer_tag=consumer_tag or "",
            callback=callback, nowait=nowait, arguments=self.consumer_arguments, **kwargs,
        )

    def cancel(self, consumer_tag: str) -> Any:
        """Cancel a consumer by tag."""
        return self.channel.basic_cancel(consumer_tag)

    def delete(self, if_unused: bool = False, if_empty: bool = False,
               nowait: bool = False) -> Any:
        """Delete the queue on the broker."""
        return self.channel.queue_delete(queue=self.name, if_unused=if_unused,
                                         if_empty=if_empty, nowait=nowait)

    def queue_unbind(self, arguments: dict[str, Any] | None = None, nowait: bool = False,
                     channel: Any = None) -> Any:
        return self.unbind_from(self.exchange, self.routing_key, arguments, nowait, channel)

    def unbind_from(self, exchange: Any = "", routing_key: str = "",
                    arguments: dict[str, Any] | None = None, nowait: bool = False,
                    channel: Any = None) -> Any:
        """Remove a binding of this queue."""
        if isinstance(exchange, Exchange):
            exchange = exchange.name
        return (channel or self.channel).queue_unbind(
            queue=self.name, exchange=exchange, routing_key=routing_key,
            arguments=arguments, nowait=nowait,
        )

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Queue):
            return (
                self.name == other.name
                and self.exchange == other.exchange
                and self.routing_key == other.routing_key
                and self.queue_arguments == other.queue_arguments
                and self.binding_arguments == other.binding_arguments
                and self.consumer_arguments == other.consumer_arguments
                and self.durable == other.durable
                and self.exclusive == other.exclusive
                and self.auto_delete == other.auto_delete
            )
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __repr__(self) -> str:
        if self.bindings:
            return self._repr_entity(
                f"Queue {self.name!r} -> {pretty_bindings(self.bindings)}")
        return self._repr_entity(
            f"Queue {self.name!r} -> {self.exchange!r} -> {self.routing_key!r}")

    @property
    def multiple_bindings(self) -> bool:
        return bool(self.bindings)

    @classmethod
    def from_dict(cls, queue: str, **options: Any) -> Queue:
        """Build a Queue from Celery-style options (``exchange``, ``exchange_type``, ...)."""
        binding_key = options.get("binding_key") or options.get("routing_key")
        e_durable = options.get("exchange_durable")
        if e_durable is None:
            e_durable = options.get("durable")
        e_auto_delete = options.get("exchange_auto_delete")
        if e_auto_delete is None:
            e_auto_delete = options.get("auto_delete")
        q_durable = options.get("queue_durable")
        if q_durable is None:
            q_durable = options.get("durable")
        q_auto_delete = options.get("queue_auto_delete")
        if q_auto_delete is None:
            q_auto_delete = options.get("auto_delete")
        e_arguments = options.get("exchange_arguments")
        q_arguments = options.get("queue_arguments")
        b_arguments = options.get("binding_arguments")
        c_arguments = options.get("consumer_arguments")
        bindings = options.get("bindings")

        exchange = Exchange(options.get("exchange") or "",
                            type=options.get("exchange_type") or "",
                            delivery_mode=options.get("delivery_mode"),
                            routing_key=options.get("routing_key"), durable=e_durable,
                            auto_delete=e_auto_delete, arguments=e_arguments)
        return Queue(queue, exchange=exchange, routing_key=binding_key or "", durable=q_durable,
                     exclusive=options.get("exclusive"), auto_delete=q_auto_delete,
                     no_ack=options.get("no_ack"), queue_arguments=q_arguments,
                     binding_arguments=b_arguments, consumer_arguments=c_arguments,
                     bindings=bindings, max_priority=options.get("max_priority"),
                     message_ttl=options.get("message_ttl"), expires=options.get("expires"),
                     max_length=options.get("max_length"),
                     max_length_bytes=options.get("max_length_bytes"))

    def as_dict(self, recurse: bool = False) -> dict[str, Any]:
        res = super().as_dict(recurse)
        if not recurse:
            return res
        if res.get("bindings"):
            res["bindings"] = [b.as_dict(recurse=True) for b in res["bindings"]]
        return res
