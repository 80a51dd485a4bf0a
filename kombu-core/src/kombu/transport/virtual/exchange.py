"""Exchange types of the emulated broker: direct, topic, fanout and headers.

Each type routes with :meth:`ExchangeType.route`, a pure function of the
exchange's bindings, the routing key and the message headers.  The engine
caches its result per routing key (for types whose ``cacheable`` is True)
until the binding table's version changes (:mod:`.routing`).

kombu's older interface is kept for code written against it:
``lookup(table, exchange, routing_key, default)`` over a table of
``(routing_key, pattern, queue)`` rows made by ``prepare_bind``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from .contract import Binding

__all__ = (
    "STANDARD_EXCHANGE_TYPES",
    "DirectExchange",
    "ExchangeType",
    "FanoutExchange",
    "HeadersExchange",
    "TopicExchange",
    "headers_match",
    "topic_regex",
)


def _unique(queues: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(queues))


class ExchangeType:
    """Base class for exchange types: how a message picks its queues."""

    type: str | None = None
    #: Whether the route depends only on the routing key (so it can be cached).
    cacheable = True

    def __init__(self, channel: Any = None) -> None:
        self.channel = channel

    def route(self, bindings: Sequence[Binding], routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        """The queues a message reaches (each once, in binding order)."""
        table = [self.prepare_bind(b.queue, b.exchange, b.routing_key,
                                   dict(b.arguments) if b.arguments else None)
                 for b in bindings]
        exchange = bindings[0].exchange if bindings else ""
        return self.lookup(table, exchange, routing_key, None)

    def lookup(self, table: list[Any], exchange: str, routing_key: str,
               default: Any) -> list[str]:
        """kombu's interface: queues of ``table`` rows matching ``routing_key``.

        Returns ``[default]`` when nothing matched and ``default`` is not None.
        """
        found = self._match_rows(table, routing_key)
        if not found and default is not None:
            return [default]
        return found

    def _match_rows(self, table: list[Any], routing_key: str) -> list[str]:
        if type(self).route is ExchangeType.route:
            raise NotImplementedError(
                f"Exchange type {type(self).__name__} must implement route() "
                f"(or kombu's lookup()).")
        bindings = [Binding(queue, "", rkey, pattern if isinstance(pattern, dict) else None)
                    for rkey, pattern, queue in table]
        return self.route(bindings, routing_key, None)

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict[str, Any] | None) -> tuple[str, Any, str]:
        """The ``(routing_key, pattern, queue)`` row of a binding (kombu's table form)."""
        return routing_key, None, queue

    def equivalent(self, prev: dict[str, Any], exchange: str, type: str, durable: bool,
                   auto_delete: bool, arguments: dict[str, Any] | None) -> bool:
        """Whether a redeclaration matches the exchange as first declared."""
        return bool(
            type == prev["type"]
            and bool(durable) == bool(prev["durable"])
            and bool(auto_delete) == bool(prev["auto_delete"])
            and dict(arguments or {}) == dict(prev.get("arguments") or {})
        )

    def deliver(self, message: Any, exchange: str, routing_key: str, **kwargs: Any) -> int:
        """Publish an envelope through ``exchange`` on the channel; return how many queues."""
        return int(self.channel._route_and_put(message, exchange, routing_key))


class DirectExchange(ExchangeType):
    """Routes to the queues bound with exactly the message's routing key."""

    type = "direct"

    def route(self, bindings: Sequence[Binding], routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        return _unique(b.queue for b in bindings if b.routing_key == routing_key)


# `*` is one word (maybe empty) and `#` any number of words.  The routing key
# is matched with a leading "." so that every word, even the first, is ".word".
_ONE_WORD = r"\.[^.]*"
_ANY_WORDS = r"(?:\.[^.]*)*"


@lru_cache(maxsize=2048)
def topic_regex(binding_key: str) -> re.Pattern[str]:
    """Compile an AMQP topic binding key (``*`` one word, ``#`` zero or more).

    The pattern matches ``"." + routing_key`` (each word led by a dot), and
    ``""`` for the empty routing key, which has no words (as in RabbitMQ:
    ``#`` matches it, ``*`` does not).
    """
    if binding_key == "":
        return re.compile(r"\Z")
    parts: list[str] = []
    previous = None
    for word in binding_key.split("."):
        if word == "#":
            if previous == "#":
                continue  # "#.#" matches exactly what "#" matches
            parts.append(_ANY_WORDS)
        elif word == "*":
            parts.append(_ONE_WORD)
        else:
            parts.append(r"\." + re.escape(word))
        previous = word
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


class TopicExchange(ExchangeType):
    """Routes by dot-separated words with ``*`` (one word) and ``#`` (any) wildcards."""

    type = "topic"
    #: What each wildcard matches, as regex pieces over ``"." + routing_key``.
    wildcards = {"#": _ANY_WORDS, "*": _ONE_WORD}

    def route(self, bindings: Sequence[Binding], routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        subject = "." + routing_key if routing_key else ""
        return _unique(b.queue for b in bindings if topic_regex(b.routing_key).match(subject))

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict[str, Any] | None) -> tuple[str, Any, str]:
        return routing_key, topic_regex(routing_key), queue

    def key_to_pattern(self, rkey: str) -> re.Pattern[str]:
        """The compiled regex for binding key ``rkey``."""
        return topic_regex(rkey)

    def _match_rows(self, table: list[Any], routing_key: str) -> list[str]:
        subject = "." + routing_key if routing_key else ""
        return _unique(queue for rkey, pattern, queue in table
                       if (pattern if pattern is not None else topic_regex(rkey)).match(subject))


class FanoutExchange(ExchangeType):
    """Copies every message to every bound queue, whatever the routing key."""

    type = "fanout"

    def route(self, bindings: Sequence[Binding], routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        return _unique(b.queue for b in bindings)


_MATCH_MODES = {"all", "any", "all-with-x", "any-with-x"}


def headers_match(binding: Any, headers: dict[str, Any] | None) -> bool:
    """Whether message ``headers`` satisfy a headers-exchange ``binding``.

    ``x-match`` is ``all`` (default: every binding key must be present with an
    equal value) or ``any`` (at least one); keys starting with ``x-`` are not
    compared unless the mode is ``all-with-x``/``any-with-x``.  A binding value
    of ``None`` only requires the header to be present.
    """
    binding = binding or {}
    headers = headers or {}
    mode = str(binding.get("x-match", "all")).lower()
    if mode not in _MATCH_MODES:
        mode = "all"
    with_x = mode.endswith("-with-x")
    pairs = [(k, v) for k, v in binding.items()
             if k != "x-match" and (with_x or not str(k).startswith("x-"))]
    missing = object()

    def ok(key: str, value: Any) -> bool:
        got = headers.get(key, missing)
        if got is missing:
            return False
        return value is None or got == value

    if mode.startswith("any"):
        return any(ok(k, v) for k, v in pairs)
    return all(ok(k, v) for k, v in pairs)


class HeadersExchange(ExchangeType):
    """Routes by message headers against the binding arguments (``x-match``)."""

    type = "headers"
    cacheable = False

    def route(self, bindings: Sequence[Binding], routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        return _unique(b.queue for b in bindings if headers_match(b.arguments, headers))

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict[str, Any] | None) -> tuple[str, Any, str]:
        return routing_key, dict(arguments or {}), queue


STANDARD_EXCHANGE_TYPES: dict[str, type[ExchangeType]] = {
    "direct": DirectExchange,
    "topic": TopicExchange,
    "fanout": FanoutExchange,
    "headers": HeadersExchange,
}
