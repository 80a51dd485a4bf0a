"""Base classes for entities that may be bound to a channel."""

from __future__ import annotations

from copy import copy
from typing import Any, TypeVar

from .exceptions import NotBoundError

__all__ = ("MaybeChannelBound", "Object")

_T = TypeVar("_T", bound="MaybeChannelBound")


def unpickle_dict(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


def _any(v: Any) -> Any:
    return v


class Object:
    """An object with attributes declared in ``attrs``: ``((name, type), ...)``.

    Each attribute is set from the constructor's keyword arguments, coerced
    with its type unless None; missing ones default to None.
    """

    attrs: tuple[tuple[str, Any], ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name, type_ in self.attrs:
            value = kwargs.get(name)
            if value is not None:
                setattr(self, name, (type_ or _any)(value))
            else:
                try:
                    getattr(self, name)
                except AttributeError:
                    setattr(self, name, None)

    def as_dict(self, recurse: bool = False) -> dict[str, Any]:
        def f(obj: Any, type_: Any) -> Any:
            if recurse and isinstance(obj, Object):
                return obj.as_dict(recurse=True)
            return type_(obj) if type_ and obj is not None else obj

        return {name: f(getattr(self, name), type_) for name, type_ in self.attrs}

    def __reduce__(self) -> Any:
        return unpickle_dict, (type(self), self.as_dict())

    def __copy__(self) -> Any:
        return type(self)(**self.as_dict())


class MaybeChannelBound(Object):
    """Mixin for entities that may be bound to a channel (Exchange, Queue)."""

    _channel: Any = None
    _is_bound = False
    #: Declare this entity when it is bound (set by subclasses).
    can_cache_declaration = False

    def __call__(self: _T, channel: Any) -> _T:
        """``entity(channel)`` is ``entity.bind(channel)``."""
        return self.bind(channel)

    def bind(self: _T, channel: Any) -> _T:
        """A copy of this entity bound to ``channel``.

        An async channel (:mod:`kombu.aio`) gives the entity's async form.
        """
        adopt = getattr(channel, "adopt_entity", None)
        if adopt is not None:
            return adopt(self)  # type: ignore[no-any-return]
        return copy(self).maybe_bind(channel)

    def maybe_bind(self: _T, channel: Any) -> _T:
        """Bind in place, if not already bound."""
        if not self.is_bound and channel:
            self._channel = _maybe_channel(channel)
            self.when_bound()
            self._is_bound = True
        return self

    def revive(self, channel: Any) -> None:
        """Rebind to a new channel (after a reconnect)."""
        if self._is_bound:
            self._channel = channel
            self.when_bound()

    def when_bound(self) -> None:
        """Called after the entity is bound."""

    def __repr__(self) -> str:
        return self._repr_entity(type(self).__name__)

    def _repr_entity(self, item: str = "") -> str:
        item = item or type(self).__name__
        if self.is_bound:
            return f"<{item} bound to chan:{self.channel.channel_id}>"
        return f"<unbound {item}>"

    @property
    def is_bound(self) -> bool:
        """True if bound to a channel."""
        return self._is_bound and self._channel is not None

    @property
    def channel(self) -> Any:
        """The channel this entity is bound to; raises NotBoundError if unbound."""
        channel = self._channel
        if channel is None:
            raise NotBoundError(
                f"Cannot use {self!r}: it is not bound to a channel. "
                f"Bind it first with entity.bind(channel) or entity(channel)."
            )
        if isinstance(channel, _ChannelPromise):
            channel = self._channel = channel()
        return channel


class _ChannelPromise:
    """Evaluates a callable to a channel on first use (``connection.default_channel``)."""

    __slots__ = ("_fun",)

    def __init__(self, fun: Any) -> None:
        self._fun = fun

    def __call__(self) -> Any:
        return self._fun()


def _maybe_channel(channel: Any) -> Any:
    """A Connection stands for its default channel, resolved lazily."""
    if hasattr(channel, "default_channel") and hasattr(channel, "transport"):
        return _ChannelPromise(lambda: channel.default_channel)
    return channel
