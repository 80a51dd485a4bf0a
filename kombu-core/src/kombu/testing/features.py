"""Feature names the kit's checks require, and how checks are grouped in results.

A feature is a key of a transport's ``implements``
(:class:`kombu.transport.base.Implements`): ``priority``, ``message_ttl``,
``queue_ttl``, ``dead_letter``, ``asynchronous``, ``heartbeats``,
``cross_process``, ``persistent``, ``fanout_across_connections``, ``leases``
(a frozen or vanished holder's messages come back), ``asyncio`` (a native
:mod:`kombu.aio` side; without it kombu.aio goes through the adapter), or
``exchange_type:<type>`` for an exchange type.  Every check belongs to a
*group* (a results column such as ``topic`` or ``acks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

__all__ = (
    "EXCHANGE_TYPES",
    "FEATURE_KEYS",
    "GROUPS",
    "NOT_SUPPORTED",
    "check_group",
    "check_requirements",
    "missing_features",
    "requires",
    "supports",
)

F = TypeVar("F", bound=Callable[..., Any])

#: Boolean keys of ``Transport.implements`` a check may require.
FEATURE_KEYS = (
    "asynchronous", "heartbeats", "priority", "message_ttl", "queue_ttl", "dead_letter",
    "fanout_across_connections", "cross_process", "persistent", "leases", "asyncio",
)
EXCHANGE_TYPES = ("direct", "topic", "fanout", "headers")

#: Result groups in report order, with what each covers.
GROUPS: dict[str, str] = {
    "connection": "connect, close, reconnect, channels, default_channel",
    "declare": "declare, bind, unbind, delete, passive declare of missing entities",
    "default_exchange": "routing through the default exchange ('')",
    "direct": "direct exchange routing",
    "topic": "topic exchange routing: '*', '#', empty words, many levels",
    "fanout": "fanout exchange routing",
    "headers": "headers exchange routing (x-match all/any)",
    "serialization": "round trips with every serializer and compression; bodies; headers",
    "acks": "ack, reject, requeue (redelivered), no_ack, basic_get, purge, size",
    "at_least_once": "unacked messages come back after channel close and connection drop",
    "prefetch": "prefetch_count honoured",
    "priority": "higher priority delivered first",
    "message_ttl": "per-message expiration and per-queue message TTL",
    "queue_ttl": "queue expiry (x-expires)",
    "dead_letter": "dead-lettering on reject (and on expiry)",
    "simple": "SimpleQueue and SimpleBuffer",
    "concurrency": "several producers and consumers in threads",
    "cross_process": "several producers and consumers in processes; drop of a process",
    "bad_input": "undecodable bodies, disallowed content types, unknown exchanges",
    "asynchronous": "consuming driven by the kombu Hub (event loop)",
    "asyncio": "kombu.aio round trips, prefetch, cancellation and shutdown, natively or "
               "through the adapter",
    "heartbeats": "heartbeat negotiation and checks",
    "fanout_across_connections": "fanout delivered to consumers on other connections",
    "persistent": "messages outlive the process and connection that published them",
    "leases": "a live holder keeps its messages however long it works; a frozen, killed "
              "or foreign holder's come back",
}

#: Prefix of the skip reason of a check whose feature the transport does not state.
NOT_SUPPORTED = "not supported:"


def supports(implements: Mapping[str, Any], feature: str) -> bool:
    """Whether ``implements`` states ``feature`` (``exchange_type:<t>`` or a key)."""
    if feature.startswith("exchange_type:"):
        return feature.split(":", 1)[1] in (implements.get("exchange_type") or ())
    if feature not in FEATURE_KEYS:
        raise ValueError(f"unknown kit feature {feature!r}: use one of {FEATURE_KEYS} "
                         f"or exchange_type:<{'|'.join(EXCHANGE_TYPES)}>")
    return bool(implements.get(feature, False))


def missing_features(implements: Mapping[str, Any], features: Iterable[str]) -> list[str]:
    """The features in ``features`` that ``implements`` does not state."""
    return [f for f in features if not supports(implements, f)]


def _default_group(feature: str) -> str:
    return feature.split(":", 1)[1] if feature.startswith("exchange_type:") else feature


def requires(*features: str, group: str | None = None) -> Callable[[F], F]:
    """Mark a check as needing ``features``; it reports "not supported" without them.

    ``group`` is the results column (default: the first feature's name, or the
    group of the class the check is defined in).
    """
    for feature in features:
        supports({}, feature)  # validates the name

    def mark(fun: F) -> F:
        fun.__kombu_requires__ = tuple(features)  # type: ignore[attr-defined]
        chosen = group or (_default_group(features[0]) if features else None)
        if chosen is not None:
            if chosen not in GROUPS:
                raise ValueError(f"unknown kit group {chosen!r}: use one of {list(GROUPS)}")
            fun.__kombu_group__ = chosen  # type: ignore[attr-defined]
        return fun

    return mark


def check_requirements(fun: Any) -> tuple[str, ...]:
    """The features a check function requires."""
    return tuple(getattr(fun, "__kombu_requires__", ()))


def check_group(cls: type | None, fun: Any) -> str:
    """The results group of check ``fun`` collected from class ``cls``."""
    group = getattr(fun, "__kombu_group__", None)
    if group:
        return str(group)
    name = getattr(fun, "__name__", "")
    for klass in (cls.__mro__ if cls is not None else ()):
        if name in vars(klass):
            return str(getattr(klass, "kit_group", "other"))
    return "other"
