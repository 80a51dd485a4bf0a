"""Declaring entities once per connection: :func:`maybe_declare` and its cache.

Each :class:`~kombu.Connection` keeps the entities it declared in
``declared_entities``, cleared when it reconnects.  The producer's publish
path reads the same cache (:func:`declared_entities`) before calling
:func:`maybe_declare`, so an entity already declared costs one set lookup.
``kombu.common`` re-exports both public names, as in kombu.
"""

from __future__ import annotations

from typing import Any

from .exceptions import ChannelError, OperationalError

__all__ = ("declaration_cached", "declared_entities", "maybe_declare")


def declared_entities(channel: Any) -> set[Any] | None:
    """The declaration cache of ``channel``'s Connection (None if it has none)."""
    try:
        return channel.connection.client.declared_entities  # type: ignore[no-any-return]
    except AttributeError:
        return None


def declaration_cached(entity: Any, channel: Any) -> bool:
    """True if ``entity`` was already declared on ``channel``'s connection."""
    declared = declared_entities(channel)
    return declared is not None and entity in declared


def _bound(entity: Any, channel: Any) -> Any:
    if entity.is_bound:
        return entity
    if not channel:
        raise ChannelError(f"Cannot declare {entity!r}: it is not bound and no channel was given")
    return entity.bind(channel)


def _maybe_declare(entity: Any, channel: Any) -> bool:
    original = entity
    entity = _bound(entity, channel)
    channel = channel or entity.channel
    if not getattr(channel, "connection", True):
        raise OperationalError("channel disconnected: cannot declare " + repr(entity))
    declared = declared_entities(channel) if entity.can_cache_declaration else None
    if declared is not None and entity in declared:
        return False
    entity.declare(channel=channel)
    if declared is not None:
        declared.add(entity)
    if original is not entity:
        original.name = entity.name
    return True


def maybe_declare(
    entity: Any, channel: Any = None, retry: bool = False, **retry_policy: Any
) -> bool:
    """Declare ``entity`` unless its connection already declared it.

    The cache lives on the Connection and is cleared when it reconnects, so
    entities are declared again on a new connection.  Entities deleted when
    unused (auto_delete, expires) are declared every time.  Returns True if
    it declared.
    """
    if not retry:
        return _maybe_declare(entity, channel)
    bound = _bound(entity, channel)

    def declare() -> bool:  # reads bound.channel at call time: ensure() revives it
        return _maybe_declare(bound, bound.channel)

    declared = bound.channel.connection.client.ensure(bound, declare, **retry_policy)()
    if bound is not entity:
        entity.name = bound.name
    return declared  # type: ignore[no-any-return]
