"""Common helpers built on the API (first part: declaration caching).

The rest of kombu.common (Broadcast, eventloop, send_reply, ...) arrives
with the resilience work.
"""

from __future__ import annotations

from typing import Any

from .exceptions import ChannelError, OperationalError
from .utils.uuid import uuid

__all__ = ("maybe_declare", "uuid")


def _bound(entity: Any, channel: Any) -> Any:
    if entity.is_bound:
        return entity
    if not channel:
        raise ChannelError(
            f"Cannot declare {entity!r}: it is not bound and no channel was given")
    return entity.bind(channel)


def _declared_set(channel: Any) -> set[Any] | None:
    connection = getattr(channel, "connection", None)
    client = getattr(connection, "client", None) if connection else None
    return getattr(client, "declared_entities", None)


def _maybe_declare(entity: Any, channel: Any) -> bool:
    original = entity
    entity = _bound(entity, channel)
    channel = channel or entity.channel
    if not getattr(channel, "connection", True):
        raise OperationalError("channel disconnected: cannot declare " + repr(entity))
    declared = _declared_set(channel) if entity.can_cache_declaration else None
    ident = hash(entity) if declared is not None else None
    if declared is not None and ident in declared:
        return False
    entity.declare(channel=channel)
    if declared is not None:
        declared.add(ident)
    if original is not entity:
        original.name = entity.name
    return True


def maybe_declare(entity: Any, channel: Any = None, retry: bool = False,
                  **retry_policy: Any) -> bool:
    """Declare ``entity`` unless its connection already declared it.

    The cache lives on the Connection and is cleared when it reconnects, so
    entities are declared again on a new connection.  Returns True if it
    declared.
    """
    if not retry:
        return _maybe_declare(entity, channel)
    bound = _bound(entity, channel)

    def declare() -> bool:  # reads bound.channel at call time: ensure() revives it
        return _maybe_declare(bound, bound.channel)

    declared = bound.channel.connection.client.ensure(bound, declare, **retry_policy)()
    if bound is not entity:
        entity.name = bound.name
    return declared
