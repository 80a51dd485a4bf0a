"""Functional helpers: caches, lazy values, list coercion and retrying."""

from __future__ import annotations

from collections import OrderedDict, UserDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import wraps
from itertools import count
from time import monotonic, sleep
from typing import Any, TypeVar

from .encoding import safe_repr

__all__ = (
    "ChannelPromise",
    "LRUCache",
    "accepts_argument",
    "dictfilter",
    "fxrange",
    "fxrangemax",
    "is_list",
    "lazy",
    "maybe_evaluate",
    "maybe_list",
    "maybe_promise",
    "memoize",
    "promise",
    "reprcall",
    "reprkwargs",
    "retry_over_time",
    "shufflecycle",
)

T = TypeVar("T")
_MISSING: Any = object()


class ChannelPromise:
    """Call ``contract`` once, on first use, and remember what it returned."""

    __value__: Any

    def __init__(self, contract: Callable[[], Any]) -> None:
        self.__contract__ = contract

    def __call__(self) -> Any:
        try:
            return self.__value__
        except AttributeError:
            value = self.__value__ = self.__contract__()
            return value

    def __repr__(self) -> str:
        try:
            return repr(self.__value__)
        except AttributeError:
            return f"<promise: 0x{id(self.__contract__):x}>"


class LRUCache(UserDict):  # type: ignore[type-arg]
    """A thread-safe mapping that keeps at most ``limit`` keys.

    Reading or writing a key makes it the most recently used; inserting past
    the limit drops the least recently used key.  ``limit=None`` means no limit.
    """

    def __init__(self, limit: int | None = None) -> None:
        import threading  # here, not at import: most programs never make one

        self.limit = limit
        self.mutex = threading.RLock()
        self.data: OrderedDict[Any, Any] = OrderedDict()

    def __getitem__(self, key: Any) -> Any:
        with self.mutex:
            value = self.data[key]
            self.data.move_to_end(key)
            return value

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.mutex:
            data = self.data
            if key in data:
                data.move_to_end(key)
            data[key] = value
            limit = self.limit
            if limit is not None:
                while len(data) > limit:
                    data.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        with self.mutex:
            del self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: Any, default: Any = None) -> Any:
        with self.mutex:
            try:
                return self[key]
            except KeyError:
                return default

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        with self.mutex:
            for key, value in dict(*args, **kwargs).items():
                self[key] = value

    def popitem(self, last: bool = True) -> tuple[Any, Any]:
        """Remove and return the most (``last=True``) or least recently used item."""
        with self.mutex:
            return self.data.popitem(last=last)

    def pop(self, key: Any, default: Any = _MISSING) -> Any:
        with self.mutex:
            if default is _MISSING:
                return self.data.pop(key)
            return self.data.pop(key, default)

    def clear(self) -> None:
        with self.mutex:
            self.data.clear()

    def keys(self) -> list[Any]:  # type: ignore[override]
        """A snapshot of the keys, least recently used first."""
        with self.mutex:
            return list(self.data.keys())

    def values(self) -> list[Any]:  # type: ignore[override]
        with self.mutex:
            return list(self.data.values())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        with self.mutex:
            return list(self.data.items())

    iterkeys = keys
    itervalues = values
    iteritems = items

    def incr(self, key: Any, delta: int = 1) -> int:
        """Add ``delta`` to the integer stored at ``key`` (stored back as text)."""
        with self.mutex:
            value = int(self.data.pop(key)) + delta
            self[key] = str(value)
            return value

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["mutex"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        import threading

        self.__dict__.update(state)
        self.mutex = threading.RLock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self.limit!r}, size={len(self.data)})"


def memoize(
    maxsize: int | None = None,
    keyfun: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = None,
    Cache: Callable[..., Any] = LRUCache,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: cache results in a ``Cache(limit=maxsize)``.

    The key is ``keyfun(args, kwargs)`` if given, else the arguments
    themselves.  The wrapper has ``hits``, ``misses``, ``clear()`` and
    ``original_func``.
    """

    def decorate(fun: Callable[..., T]) -> Callable[..., T]:
        from _thread import allocate_lock

        cache = Cache(limit=maxsize)
        lock = allocate_lock()

        @wraps(fun)
        def memoized(*args: Any, **kwargs: Any) -> T:
            if keyfun is not None:
                key = keyfun(args, kwargs)
            else:
                key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            with lock:
                try:
                    value = cache[key]
                except KeyError:
                    pass
                else:
                    memoized.hits += 1  # type: ignore[attr-defined]
                    return value  # type: ignore[no-any-return]
            value = fun(*args, **kwargs)
            with lock:
                memoized.misses += 1  # type: ignore[attr-defined]
                cache[key] = value
            return value

        def clear() -> None:
            with lock:
                cache.clear()
                memoized.hits = memoized.misses = 0  # type: ignore[attr-defined]

        memoized.hits = memoized.misses = 0  # type: ignore[attr-defined]
        memoized.clear = clear  # type: ignore[attr-defined]
        memoized.original_func = fun  # type: ignore[attr-defined]
        memoized.cache = cache  # type: ignore[attr-defined]
        return memoized

    return decorate


class lazy:
    """A deferred call: ``fun(*args, **kwargs)`` runs each time it is evaluated.

    Calling the object, :meth:`evaluate`, ``str()``, ``repr()`` and comparison
    evaluate it.
    """

    def __init__(self, fun: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._fun = fun
        self._args = args
        self._kwargs = kwargs

    def __call__(self) -> Any:
        return self.evaluate()

    def evaluate(self) -> Any:
        return self._fun(*self._args, **self._kwargs)

    def __str__(self) -> str:
        return str(self())

    def __repr__(self) -> str:
        return repr(self())

    def __eq__(self, other: object) -> bool:
        return bool(self() == other)

    def __ne__(self, other: object) -> bool:
        return bool(self() != other)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        memo[id(self)] = self
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_lazy, (self._fun, self._args, self._kwargs))


def _rebuild_lazy(fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> lazy:
    return lazy(fun, *args, **kwargs)


#: Alias of :class:`lazy`.
promise = lazy


def maybe_evaluate(value: Any) -> Any:
    """Evaluate ``value`` if it is a :class:`lazy`, else return it unchanged."""
    if isinstance(value, lazy):
        return value.evaluate()
    return value


#: Alias of :func:`maybe_evaluate`.
maybe_promise = maybe_evaluate


def is_list(
    obj: Any,
    scalars: tuple[type, ...] = (Mapping, str),
    iters: tuple[type, ...] = (Iterable,),
) -> bool:
    """True if ``obj`` is iterable but not one of ``scalars`` (mappings and str)."""
    return isinstance(obj, iters) and not isinstance(obj, scalars or ())


def maybe_list(obj: Any, scalars: tuple[type, ...] = (Mapping, str)) -> Any:
    """``obj`` if it is ``None`` or a list-like, else ``[obj]``."""
    return obj if obj is None or is_list(obj, scalars) else [obj]


def dictfilter(d: Mapping[Any, Any] | None = None, **kw: Any) -> dict[Any, Any]:
    """A copy of ``d`` (updated with ``kw``) without the keys whose value is ``None``."""
    items = kw if d is None else ({**d, **kw} if kw else d)
    return {k: v for k, v in items.items() if v is not None}


def shufflecycle(it: Iterable[T]) -> Iterator[T]:
    """Yield the items of ``it`` forever, in a random order each time."""
    import random

    items = list(it)
    while True:
        random.shuffle(items)
        yield items[0]


def fxrange(
    start: float = 1.0, stop: float | None = None, step: float = 1.0, repeatlast: bool = False
) -> Iterator[float]:
    """Floats from ``start`` by ``step`` up to ``stop`` (forever if ``stop`` is falsy).

    With ``repeatlast`` the last value is repeated forever after ``stop``.
    """
    current = float(start)
    while True:
        if not stop or current <= stop:
            yield current
            current += step
        elif repeatlast:
            yield current - step
        else:
            return


def fxrangemax(
    start: float = 1.0, stop: float | None = None, step: float = 1.0, max: float = 100.0
) -> Iterator[float]:
    """Like :func:`fxrange` (capped at ``stop``), ending once the sum reaches ``max``."""
    total = 0.0
    current = float(start)
    while total < max:
        yield current
        current = min(current + step, stop) if stop else current + step
        total += current


def retry_over_time(
    fun: Callable[..., T],
    catch: type[BaseException] | tuple[type[BaseException], ...],
    args: Iterable[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    errback: Callable[[Any, Iterator[float], int], Any] | None = None,
    max_retries: int | None = None,
    interval_start: float = 2,
    interval_step: float = 2,
    interval_max: float = 30,
    callback: Callable[[], Any] | None = None,
    timeout: float | None = None,
) -> T:
    """Call ``fun(*args, **kwargs)`` until it stops raising ``catch``.

    Between attempts it sleeps ``interval_start`` seconds, then ``interval_step``
    more each time, up to ``interval_max``.  ``errback(exc, intervals, retries)``
    is told about each failure and may return the time to sleep instead (it
    can take the next interval with ``next(intervals)``).  ``callback()`` is
    called at least once a second while sleeping.  ``max_retries=None`` retries
    forever and ``0`` not at all; ``timeout`` (seconds) caps the total time.
    When either runs out the last exception is raised.
    """
    args = () if args is None else tuple(args)
    kwargs = {} if kwargs is None else kwargs
    intervals = _intervals(interval_start, interval_step, interval_max)
    deadline = monotonic() + timeout if timeout else None
    for retries in count():
        try:
            return fun(*args, **kwargs)
        except catch as exc:
            if max_retries is not None and retries >= max_retries:
                raise
            if deadline is not None and monotonic() >= deadline:
                raise
            if callback is not None:
                callback()
            if errback is not None:
                tts = errback(exc, intervals, retries)
                tts = float(tts) if tts else 0.0
            else:
                tts = next(intervals)
            if deadline is not None:
                tts = min(tts, max(deadline - monotonic(), 0.0))
            _sleep_calling_back(tts, callback)
    raise AssertionError("unreachable")  # pragma: no cover


def _intervals(start: float, step: float, maximum: float | None) -> Iterator[float]:
    value = float(start) if maximum is None else min(float(start), maximum)
    while True:
        yield value
        value = value + step if maximum is None else min(value + step, maximum)


def _sleep_calling_back(seconds: float, callback: Callable[[], Any] | None) -> None:
    if seconds <= 0:
        return
    if callback is None:
        sleep(seconds)
        return
    end = monotonic() + seconds
    while True:
        left = end - monotonic()
        if left <= 0:
            return
        sleep(min(left, 1.0))
        callback()


def reprkwargs(kwargs: Mapping[str, Any], sep: str = ", ", fmt: str = "{0}={1}") -> str:
    """``k=repr(v)`` pairs joined by ``sep``."""
    return sep.join(fmt.format(key, safe_repr(value)) for key, value in kwargs.items())


def reprcall(
    name: str,
    args: Iterable[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    sep: str = ", ",
) -> str:
    """How the call would look in source: ``name(arg, key=value)``."""
    parts = [safe_repr(arg) for arg in args or ()]
    if kwargs:
        parts.append(reprkwargs(kwargs, sep))
    return f"{name}({sep.join(parts)})"


def accepts_argument(func: Callable[..., Any], argument_name: str) -> bool:
    """True if ``func`` has a parameter named ``argument_name`` (not ``*args``/``**kw``)."""
    import inspect  # only here: importing it costs more than this whole module

    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    param = parameters.get(argument_name)
    return param is not None and param.kind not in (
        inspect.Parameter.VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD,
    )
