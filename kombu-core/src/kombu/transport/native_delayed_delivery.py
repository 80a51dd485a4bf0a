"""Native delayed delivery: delaying messages with broker-side TTLs (RabbitMQ).

A delay in seconds is written in binary, one bit per level, into the routing
key: ``b27.b26. ... .b0.<routing_key>``.  There are 28 levels; level ``n``
is a topic exchange and a queue named ``celery_delayed_<n>`` whose messages
live ``2**n`` seconds.  A message whose bit ``n`` is 1 waits in queue ``n``
and is then dead-lettered to level ``n - 1``; a message whose bit is 0 goes
straight on to that exchange.  After level 0 it reaches the exchange
``celery_delayed_delivery``, where each application queue is bound with
``#.<its routing key>``.

These helpers only declare entities; they need no broker client of their own.
"""

from __future__ import annotations

import logging
from typing import Any

from ..entity import Exchange, Queue, binding

__all__ = (
    "CELERY_DELAYED_DELIVERY_EXCHANGE",
    "MAX_LEVEL",
    "MAX_NUMBER_OF_BITS_TO_USE",
    "bind_queue_to_native_delayed_delivery_exchange",
    "calculate_routing_key",
    "declare_native_delayed_delivery_exchanges_and_queues",
    "level_name",
)

logger = logging.getLogger(__name__)

#: Number of delay levels (bits of the delay in seconds).
MAX_NUMBER_OF_BITS_TO_USE = 28
#: The highest level: publish delayed messages to its exchange.
MAX_LEVEL = MAX_NUMBER_OF_BITS_TO_USE - 1
#: The exchange messages reach when their delay is over.
CELERY_DELAYED_DELIVERY_EXCHANGE = "celery_delayed_delivery"

_QUEUE_TYPES = ("classic", "quorum")


def level_name(level: int, prefix: str | None = None) -> str:
    """The name of the exchange and queue of delay ``level`` (``celery_delayed_<level>``)."""
    if level < 0:
        raise ValueError(f"level must be a non-negative number, not {level!r}")
    name = f"celery_delayed_{level}"
    return f"{prefix}_{name}" if prefix else name


def _delivery_exchange_name(prefix: str | None = None) -> str:
    return (
        f"{prefix}_{CELERY_DELAYED_DELIVERY_EXCHANGE}"
        if prefix
        else CELERY_DELAYED_DELIVERY_EXCHANGE
    )


def _bit_pattern(level: int, bit: str) -> str:
    """Topic pattern matching routing keys whose bit for ``level`` is ``bit``."""
    return "*." * (MAX_LEVEL - level) + f"{bit}.#"


def calculate_routing_key(countdown: int, routing_key: str) -> str:
    """The routing key delaying a message by ``countdown`` seconds.

    >>> calculate_routing_key(10, 'tasks')
    '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.1.0.tasks'
    """
    if countdown < 1:
        raise ValueError(f"countdown must be a positive number of seconds, not {countdown!r}")
    if not routing_key:
        raise ValueError("routing_key must be non-empty")
    if countdown >= 2**MAX_NUMBER_OF_BITS_TO_USE:
        raise ValueError(
            f"countdown {countdown!r} is too long: native delayed delivery supports at most "
            f"{2**MAX_NUMBER_OF_BITS_TO_USE - 1} seconds"
        )
    bits = format(int(countdown), f"0{MAX_NUMBER_OF_BITS_TO_USE}b")
    return ".".join(bits) + "." + routing_key


def declare_native_delayed_delivery_exchanges_and_queues(
    connection: Any, queue_type: str, prefix: str | None = None
) -> None:
    """Declare the 28 delay levels and the delivery exchange.

    ``queue_type`` is ``'classic'`` or ``'quorum'`` (the delay queues' type).
    """
    if queue_type not in _QUEUE_TYPES:
        raise ValueError(f"queue_type must be either classic or quorum, not {queue_type!r}")
    channel = connection.channel()
    try:
        exchanges = {
            level: Exchange(level_name(level, prefix), type="topic").bind(channel)
            for level in range(MAX_LEVEL, -1, -1)
        }
        delivery = Exchange(_delivery_exchange_name(prefix), type="topic").bind(channel)
        for exchange in exchanges.values():
            exchange.declare()
        delivery.declare()
        for level, exchange in exchanges.items():
            next_exchange = exchanges[level - 1] if level > 0 else delivery
            arguments: dict[str, Any] = {
                "x-queue-type": queue_type,
                "x-overflow": "reject-publish",
                "x-message-ttl": 2**level * 1000,
                "x-dead-letter-exchange": next_exchange.name,
            }
            if queue_type == "quorum":
                arguments["x-dead-letter-strategy"] = "at-least-once"
            queue = Queue(
                level_name(level, prefix),
                queue_arguments=arguments,
                bindings=[binding(exchange, routing_key=_bit_pattern(level, "1"))],
            )
            queue.bind(channel).declare()
            # A 0 bit skips this level's wait.
            next_exchange.bind_to(exchange, routing_key=_bit_pattern(level, "0"))
    finally:
        close = getattr(channel, "close", None)
        if close is not None:
            close()


def bind_queue_to_native_delayed_delivery_exchange(
    connection: Any, queue: Any, prefix: str | None = None
) -> None:
    """Route messages whose delay is over to ``queue``.

    The queue's exchange (or each exchange it is bound to) is bound to the
    delivery exchange, and the queue to that exchange, with
    ``#.<routing key>``.  Direct exchanges cannot
    take part (the routing key carries the delay bits): they are skipped
    with a warning.
    """
    channel = connection.channel()
    try:
        delivery = Exchange(_delivery_exchange_name(prefix), type="topic").bind(channel)
        targets = (
            [(b.exchange, b.routing_key) for b in queue.bindings]
            if queue.bindings
            else [(queue.exchange, queue.routing_key)]
        )
        for exchange, routing_key in targets:
            if exchange is None:
                continue
            exchange = exchange if isinstance(exchange, Exchange) else Exchange(exchange)
            if exchange.type == "direct":
                logger.warning(
                    "Exchange %r of queue %r is a direct exchange: native delayed delivery "
                    "does not support direct exchanges, skipping it.",
                    exchange.name,
                    queue.name,
                )
                continue
            pattern = f"#.{routing_key}"
            exchange = exchange.bind(channel)
            exchange.bind_to(delivery, routing_key=pattern)
            # The routing key still carries the delay bits: match them too.
            queue.bind(channel).bind_to(exchange, routing_key=pattern)
    finally:
        close = getattr(channel, "close", None)
        if close is not None:
            close()
