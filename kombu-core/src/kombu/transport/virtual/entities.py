"""Exchanges, queues and bindings of the emulated broker: the declaring half of a channel.

Declarations go to the channel's storage (so every client of the broker
shares them); routes are read back through the connection's
:class:`~.routing.Router`, which caches them per table version.
"""

from __future__ import annotations

import time
import uuid
from collections import namedtuple
from collections.abc import Iterator, Mapping
from typing import Any

from ...exceptions import ChannelError
from .contract import Binding
from .envelope import ttl_ms
from .errors import NotEquivalentError, NotFound, PreconditionFailed
from .exchange import ExchangeType

__all__ = ("EntityMixin", "queue_declare_ok_t")

queue_declare_ok_t = namedtuple("queue_declare_ok_t", ("queue", "message_count", "consumer_count"))

#: Seconds a "queue not declared" answer from the storage is believed.
NEGATIVE_ARGS_TTL = 1.0
_UNKNOWN: Any = object()


class EntityMixin:
    """Declaring exchanges, queues and bindings (mixed into the virtual Channel)."""

    storage: Any
    connection: Any
    exchange_types: dict[str, ExchangeType]
    _qargs: dict[str, tuple[Mapping[str, Any] | None, float]]
    _queue_ttls: dict[str, float | None]
    _direct_targets: dict[Any, Any]

    # -- exchanges ------------------------------------------------------------

    def _route(self, exchange: str, refresh: bool = False) -> Any:
        return self.connection.router.route(exchange, self.storage, self.exchange_types,
                                            refresh=refresh)

    def _exchange_meta(self, exchange: str) -> Mapping[str, Any] | None:
        """The declaration of ``exchange``, or None if it is not declared."""
        return self._route(exchange).meta  # type: ignore[no-any-return]

    def _declare_exchange(self, exchange: str, type: str, durable: bool, auto_delete: bool,
                          arguments: dict[str, Any] | None) -> None:
        self.storage.declare_exchange(exchange, {
            "type": type, "durable": bool(durable), "auto_delete": bool(auto_delete),
            "arguments": dict(arguments or {})})
        self.connection.router.forget(exchange)

    def exchange_declare(self, exchange: str | None = None, type: str = "direct",
                         durable: bool = False, auto_delete: bool = False,
                         arguments: dict[str, Any] | None = None, nowait: bool = False,
                         passive: bool = False) -> None:
        """Declare an exchange (``passive``: only check that it exists)."""
        type = type or "direct"
        exchange = exchange or f"amq.{type}"
        if passive:
            if self._route(exchange, refresh=True).meta is None:
                raise NotFound(
                    f"Exchange {exchange!r} does not exist (passive declare, 404 NOT_FOUND): "
                    f"declare it with passive=False first.")
            return
        if type not in self.exchange_types:
            supported = ", ".join(sorted(self.exchange_types))
            raise ChannelError(
                f"Exchange {exchange!r}: type {type!r} is not supported by the "
                f"{self.connection.driver_name} transport (supported: {supported}).")
        prev = self._route(exchange, refresh=True).meta
        if prev is not None:
            if not self.exchange_types[type].equivalent(
                    dict(prev), exchange, type, durable, auto_delete, arguments):
                raise NotEquivalentError(
                    f"Cannot redeclare exchange {exchange!r} as type={type!r} "
                    f"durable={durable!r} auto_delete={auto_delete!r} arguments={arguments!r}: "
                    f"it exists with type={prev['type']!r} durable={prev['durable']!r} "
                    f"auto_delete={prev['auto_delete']!r} arguments={prev['arguments']!r} "
                    f"(406 PRECONDITION_FAILED). Delete it first or declare it the same way.")
            return
        self._declare_exchange(exchange, type, durable, auto_delete, arguments)

    def exchange_delete(self, exchange: str, if_unused: bool = False,
                        nowait: bool = False) -> None:
        """Delete an exchange and every binding to it."""
        if if_unused:
            bindings = self._route(exchange, refresh=True).table.bindings
            if bindings:
                raise PreconditionFailed(
                    f"Exchange {exchange!r} is in use ({len(bindings)} bindings): "
                    f"unbind its queues or delete with if_unused=False.")
        self.storage.delete_exchange(exchange)
        self.connection.router.forget(exchange)

    def exchange_bind(self, destination: str, source: str = "", routing_key: str = "",
                      nowait: bool = False, arguments: dict[str, Any] | None = None) -> None:
        """Exchange-to-exchange bindings are not emulated."""
        raise NotImplementedError(
            f"The {self.connection.driver_name} transport does not support exchange-to-"
            f"exchange bindings (binding {destination!r} to {source!r}): bind the queues "
            f"to {source!r} directly.")

    def exchange_unbind(self, destination: str, source: str = "", routing_key: str = "",
                        nowait: bool = False, arguments: dict[str, Any] | None = None) -> None:
        """Exchange-to-exchange bindings are not emulated."""
        raise NotImplementedError(
            f"The {self.connection.driver_name} transport does not support exchange-to-"
            f"exchange bindings.")

    def get_exchanges(self) -> list[str]:
        """Names of the declared exchanges."""
        return list(self.storage.exchanges())

    def get_table(self, exchange: str) -> list[tuple[str, Any, str]]:
        """kombu's binding table of ``exchange``: ``(routing_key, pattern, queue)`` rows.

        Raises KeyError if the exchange is not declared.
        """
        route = self._route(exchange, refresh=True)
        if route.meta is None:
            raise KeyError(exchange)
        etype = self.typeof(exchange)
        return [etype.prepare_bind(b.queue, exchange, b.routing_key,
                                   dict(b.arguments) if b.arguments else None)
                for b in route.table.bindings]

    def typeof(self, exchange: str, default: str = "direct") -> ExchangeType:
        """The exchange type instance for ``exchange`` (``default`` if not declared)."""
        meta = self._exchange_meta(exchange)
        return self.exchange_types[meta["type"] if meta is not None else default]

    def get_bindings(self) -> list[dict[str, Any]]:
        """Every binding of every declared exchange."""
        out = []
        for exchange in self.get_exchanges():
            for b in self._route(exchange, refresh=True).table.bindings:
                out.append({"queue": b.queue, "exchange": exchange,
                            "routing_key": b.routing_key,
                            "arguments": dict(b.arguments) if b.arguments else None})
        return out

    def list_bindings(self) -> Iterator[tuple[str, str, str]]:
        """Every binding as ``(queue, exchange, routing_key)``."""
        for binding in self.get_bindings():
            yield binding["queue"], binding["exchange"], binding["routing_key"]

    def _auto_declare(self, exchange: str) -> bool:
        """Declare ``amq.<type>`` exchanges on first use, as a broker has them."""
        if not exchange.startswith("amq."):
            return False
        etype = exchange[4:] if exchange[4:] in self.exchange_types else "direct"
        self._declare_exchange(exchange, etype, True, False, None)
        return True

    # -- queues ---------------------------------------------------------------

    def _queue_arguments(self, queue: str | None) -> Mapping[str, Any] | None:
        """The arguments ``queue`` was declared with (None if unknown), cached."""
        if queue is None:
            return None
        found = self._qargs.get(queue)
        if found is not None:
            args, until = found
            if args is not None or until > time.monotonic():
                return args
        args = self.storage.queue_arguments(queue)
        self._qargs[queue] = (args, time.monotonic() + NEGATIVE_ARGS_TTL)
        return args

    def _queue_ttl(self, queue: str) -> float | None:
        args = self._queue_arguments(queue)
        return ttl_ms(args.get("x-message-ttl")) if args else None

    def _max_priority(self, queue: str) -> int:
        args = self._queue_arguments(queue)
        if not args:
            return 0
        try:
            value = args.get("x-max-priority")
            return max(0, min(int(value), 255)) if value is not None else 0
        except (TypeError, ValueError):
            return 0

    def _consumer_count(self, queue: str) -> int:
        state = getattr(self.connection, "state", None)
        consumers = getattr(state, "consumers", None) or {}
        return int(consumers.get(queue, 0))

    def queue_declare(self, queue: str | None = None, passive: bool = False,
                      durable: bool = False, exclusive: bool = False,
                      auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                      nowait: bool = False, **kwargs: Any) -> queue_declare_ok_t:
        """Declare a queue (an empty name gets a generated ``amq.gen-`` name)."""
        queue = queue or "amq.gen-" + uuid.uuid4().hex
        if passive:
            if not self.storage.queue_exists(queue):
                raise NotFound(
                    f"Queue {queue!r} does not exist (passive declare, 404 NOT_FOUND): "
                    f"declare it with passive=False first.")
        else:
            self.storage.declare_queue(queue, dict(arguments) if arguments else None)
            self._qargs[queue] = (dict(arguments) if arguments else {}, 0.0)
            self._queue_ttls.pop(queue, None)
            self._direct_targets.clear()
            self.connection.router.forget_targets()
        return queue_declare_ok_t(queue, self.storage.queue_size(queue),
                                  self._consumer_count(queue))

    def queue_bind(self, queue: str, exchange: str | None = None, routing_key: str = "",
                   arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Bind ``queue`` to ``exchange`` with ``routing_key``."""
        exchange = exchange or "amq.direct"
        if self._exchange_meta(exchange) is None and not self._auto_declare(exchange):
            raise NotFound(
                f"Cannot bind queue {queue!r} to exchange {exchange!r}: the exchange "
                f"does not exist (404 NOT_FOUND). Declare the exchange first.")
        self.storage.bind(Binding(queue, exchange, routing_key or "",
                                  dict(arguments) if arguments else None))
        self.connection.router.forget(exchange)

    def queue_unbind(self, queue: str, exchange: str | None = None, routing_key: str = "",
                     arguments: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Remove the binding of ``queue`` to ``exchange`` with ``routing_key``."""
        exchange = exchange or "amq.direct"
        self.storage.unbind(Binding(queue, exchange, routing_key or "",
                                    dict(arguments) if arguments else None))
        self.connection.router.forget(exchange)

    def queue_purge(self, queue: str, **kwargs: Any) -> int:
        """Remove every ready message of ``queue``; return how many."""
        return int(self.storage.purge_queue(queue))

    def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                     **kwargs: Any) -> int:
        """Delete ``queue`` and its bindings; return how many messages it held."""
        storage = self.storage
        if if_empty and storage.queue_size(queue):
            return 0
        if if_unused and self._consumer_count(queue):
            return 0
        size = int(storage.delete_queue(queue))
        self._qargs.pop(queue, None)
        self._queue_ttls.pop(queue, None)
        self._direct_targets.clear()
        self.connection.router.forget()
        return size
