"""Object utilities: :class:`cached_property`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

__all__ = ("cached_property",)

T = TypeVar("T")
_NOT_FOUND: Any = object()


class cached_property(Generic[T]):
    """A property computed once per instance, with optional setter and deleter.

    Like :func:`functools.cached_property`, but ``setter`` may preprocess an
    assigned value and ``deleter`` is called with the cached value (if any)
    when the attribute is deleted.
    """

    def __init__(
        self,
        fget: Callable[[Any], T],
        fset: Callable[[Any, Any], T] | None = None,
        fdel: Callable[[Any, T], None] | None = None,
    ) -> None:
        self.fget = fget
        self._fset = fset
        self._fdel = fdel
        self.__doc__ = fget.__doc__
        self.__module__ = fget.__module__
        self.attrname: str = fget.__name__
        self.lock = threading.RLock()

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        cache = instance.__dict__
        value = cache.get(self.attrname, _NOT_FOUND)
        if value is _NOT_FOUND:
            with self.lock:
                value = cache.get(self.attrname, _NOT_FOUND)
                if value is _NOT_FOUND:
                    value = self.fget(instance)
                    cache[self.attrname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        if self._fset is not None:
            value = self._fset(instance, value)
        instance.__dict__[self.attrname] = value

    def __delete__(self, instance: Any) -> None:
        value = instance.__dict__.pop(self.attrname, _NOT_FOUND)
        if self._fdel is not None and value is not _NOT_FOUND:
            self._fdel(instance, value)

    def setter(self, fset: Callable[[Any, Any], T]) -> cached_property[T]:
        return type(self)(self.fget, fset, self._fdel)

    def deleter(self, fdel: Callable[[Any, T], None]) -> cached_property[T]:
        return type(self)(self.fget, self._fset, fdel)
