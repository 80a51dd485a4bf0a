"""Exchange types of the emulated broker: direct, topic, fanout and headers.

A binding table is a list of ``(routing_key, pattern, queue)`` tuples, where
``pattern`` is what :meth:`ExchangeType.prepare_bind` derived from the
binding (a compiled regex for topic, the binding arguments for headers).
Routing results are cached per routing key on a :class:`BindingTable`, which
drops its cache whenever a binding is added or removed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

__all__ = (
    "STANDARD_EXCHANGE_TYPES",
    "BindingTable",
    "DirectExchange",
    "ExchangeType",
    "FanoutExchange",
    "HeadersExchange",
    "TopicExchange",
    "topic_regex",
)

#: How many routing keys one table remembers before starting over.
ROUTE_CACHE_SIZE = 4096


class BindingTable(list):  # type: ignore[type-arg]
    """A list of bindings that remembers where each routing key goes.

    Any mutation through the list API clears the route cache.
    """

    __slots__ = ("_lock", "routes")

    def __init__(self, it: Iterable[Any] = ()) -> None:
        super().__init__(it)
        self.routes: dict[Any, list[str]] = {}
        self._lock = threading.Lock()

    def _changed(self) -> None:
        self.routes = {}

    def append(self, item: Any) -> None:
        with self._lock:
            super().append(item)
            self._changed()

    def extend(self, it: Iterable[Any]) -> None:
        with self._lock:
            super().extend(it)
            self._changed()

    def remove(self, item: Any) -> None:
        with self._lock:
            super().remove(item)
            self._changed()

    def clear(self) -> None:
        with self._lock:
            super().clear()
            self._changed()

    def insert(self, index: Any, item: Any) -> None:
        with self._lock:
            super().insert(index, item)
            self._changed()

    def pop(self, index: Any = -1) -> Any:
        with self._lock:
            value = super().pop(index)
            self._changed()
            return value

    def __setitem__(self, index: Any, value: Any) -> None:
        with self._lock:
            super().__setitem__(index, value)
            self._changed()

    def __delitem__(self, index: Any) -> None:
        with self._lock:
            super().__delitem__(index)
            self._changed()

    def __iadd__(self, other: Iterable[Any]) -> BindingTable:  # type: ignore[override,misc]
        self.extend(other)
        return self

    def remember(self, key: Any, compute: Any) -> list[str]:
        """The cached route for ``key``, computing it with ``compute()`` if new."""
        with self._lock:
            routes = self.routes
            found = routes.get(key)
            if found is None:
                found = compute()
                if len(routes) >= ROUTE_CACHE_SIZE:
                    routes = self.routes = {}
                routes[key] = found
            return found


def _unique(queues: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(queues))


class ExchangeType:
    """Base class for exchange types: how a routing key picks queues."""

    type: str | None = None
    #: Whether the route depends only on the routing key (so it can be cached).
    cacheable = True

    def __init__(self, channel: Any = None) -> None:
        self.channel = channel

    def lookup(
        self,
        table: list[Any],
        exchange: str,
        routing_key: str,
        default: Any,
        headers: dict[str, Any] | None = None,
    ) -> list[str]:
        """The queues ``routing_key`` reaches (``[default]`` or ``[]`` if none)."""
        if self.cacheable and isinstance(table, BindingTable):
            found = table.routes.get(routing_key)
            if found is None:
                found = table.remember(
                    routing_key, lambda: self._match(table, exchange, routing_key, headers)
                )
        else:
            found = self._match(table, exchange, routing_key, headers)
        if not found and default is not None:
            return [default]
        return found

    def _match(
        self, table: list[Any], exchange: str, routing_key: str, headers: dict[str, Any] | None
    ) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} does not implement routing")

    def prepare_bind(
        self, queue: str, exchange: str, routing_key: str, arguments: dict[str, Any] | None
    ) -> tuple[str, Any, str]:
        """The ``(routing_key, pattern, queue)`` entry stored for a binding."""
        return routing_key, None, queue

    def equivalent(
        self,
        prev: dict[str, Any],
        exchange: str,
        type: str,
        durable: bool,
        auto_delete: bool,
        arguments: dict[str, Any] | None,
    ) -> bool:
        """Whether a redeclaration matches the exchange as first declared."""
        return bool(
            type == prev["type"]
            and durable == prev["durable"]
            and auto_delete == prev["auto_delete"]
            and (arguments or {}) == (prev["arguments"] or {})
        )

    def deliver(self, message: Any, exchange: str, routing_key: str, **kwargs: Any) -> int | None:
        """Put ``message`` in every queue the routing key reaches; return how many."""
        channel = self.channel
        queues = channel._lookup(exchange, routing_key, message=message)
        put = channel._put
        for i, queue in enumerate(queues):
            # Each extra queue gets its own copy (and delivery tag).
            put(queue, message if not i else channel._copy_message(message), **kwargs)
        return len(queues)


class DirectExchange(ExchangeType):
    """Routes to the queues bound with exactly the message's routing key."""

    type = "direct"

    def _match(
        self, table: list[Any], exchange: str, routing_key: str, headers: dict[str, Any] | None
    ) -> list[str]:
        return _unique(queue for rkey, _, queue in table if rkey == routing_key)


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

    def prepare_bind(
        self, queue: str, exchange: str, routing_key: str, arguments: dict[str, Any] | None
    ) -> tuple[str, Any, str]:
        return routing_key, topic_regex(routing_key), queue

    def key_to_pattern(self, rkey: str) -> re.Pattern[str]:
        """The compiled regex for binding key ``rkey``."""
        return topic_regex(rkey)

    def _match(
        self, table: list[Any], exchange: str, routing_key: str, headers: dict[str, Any] | None
    ) -> list[str]:
        subject = "." + routing_key if routing_key else ""
        out = []
        for rkey, pattern, queue in table:
            regex = pattern if pattern is not None else topic_regex(rkey)
            if regex.match(subject):
                out.append(queue)
        return _unique(out)


class FanoutExchange(ExchangeType):
    """Copies every message to every bound queue, whatever the routing key."""

    type = "fanout"

    def lookup(
        self,
        table: list[Any],
        exchange: str,
        routing_key: str,
        default: Any,
        headers: dict[str, Any] | None = None,
    ) -> list[str]:
        if isinstance(table, BindingTable):
            found = table.routes.get("")
            if found is None:
                found = table.remember("", lambda: _unique(q for _, _, q in table))
        else:
            found = _unique(q for _, _, q in table)
        if not found and default is not None:
            return [default]
        return found

    def deliver(self, message: Any, exchange: str, routing_key: str, **kwargs: Any) -> int | None:
        channel = self.channel
        if channel.supports_fanout:
            # The transport fans out itself; how many queues it reached is its business.
            return channel._put_fanout(exchange, message, routing_key, **kwargs)
        return super().deliver(message, exchange, routing_key, **kwargs)


_MATCH_MODES = {"all", "any", "all-with-x", "any-with-x"}


def headers_match(binding: dict[str, Any] | None, headers: dict[str, Any] | None) -> bool:
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
    pairs = [
        (k, v)
        for k, v in binding.items()
        if k != "x-match" and (with_x or not str(k).startswith("x-"))
    ]
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

    def prepare_bind(
        self, queue: str, exchange: str, routing_key: str, arguments: dict[str, Any] | None
    ) -> tuple[str, Any, str]:
        return routing_key, dict(arguments or {}), queue

    def _match(
        self, table: list[Any], exchange: str, routing_key: str, headers: dict[str, Any] | None
    ) -> list[str]:
        return _unique(queue for _, args, queue in table if headers_match(args, headers))


STANDARD_EXCHANGE_TYPES: dict[str, type[ExchangeType]] = {
    "direct": DirectExchange,
    "topic": TopicExchange,
    "fanout": FanoutExchange,
    "headers": HeadersExchange,
}
