"""kombu.utils.functional."""

from __future__ import annotations

import copy
import pickle
import threading
import time

import pytest

from kombu.utils.functional import (
    ChannelPromise,
    LRUCache,
    accepts_argument,
    dictfilter,
    fxrange,
    fxrangemax,
    is_list,
    lazy,
    maybe_evaluate,
    maybe_list,
    memoize,
    reprcall,
    reprkwargs,
    retry_over_time,
    shufflecycle,
)

# -- LRUCache ---------------------------------------------------------------------


def test_lru_evicts_least_recently_used():
    cache = LRUCache(limit=3)
    for key in "abc":
        cache[key] = key.upper()
    assert cache["a"] == "A"  # a is now most recent
    cache["d"] = "D"
    assert "b" not in cache
    assert cache.keys() == ["c", "a", "d"]
    cache["c"] = "C2"  # overwriting refreshes too
    cache["e"] = "E"
    assert cache.keys() == ["d", "c", "e"]
    assert len(cache) == 3


def test_lru_without_limit_and_helpers():
    cache = LRUCache()
    cache.update({i: i for i in range(100)}, extra=1)
    assert len(cache) == 101
    assert cache.get("missing", 5) == 5
    assert cache.popitem() == ("extra", 1)
    assert cache.popitem(last=False) == (0, 0)
    assert cache.values()[:2] == [1, 2]
    assert cache.items()[0] == (1, 1)
    assert list(cache)[:2] == [1, 2]
    del cache[1]
    assert 1 not in cache
    cache.clear()
    assert len(cache) == 0


def test_lru_incr_and_pickle():
    cache = LRUCache(limit=10)
    cache["n"] = "1"
    assert cache.incr("n") == 2
    assert cache.incr("n", 5) == 7
    assert cache["n"] == "7"
    clone = pickle.loads(pickle.dumps(cache))
    assert clone.items() == cache.items() and clone.limit == 10
    clone["x"] = 1  # the lock was recreated


def test_lru_is_thread_safe():
    cache = LRUCache(limit=50)

    def worker(base):
        for i in range(2000):
            cache[(base, i)] = i
            cache.get((base, i - 1))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 50


# -- memoize / lazy -----------------------------------------------------------------


def test_memoize_caches_and_evicts():
    calls = []

    @memoize(maxsize=2)
    def double(x, y=0):
        calls.append(x)
        return x * 2 + y

    assert double(1) == 2 and double(1) == 2
    assert double(1, y=1) == 3
    assert calls == [1, 1]
    assert double.hits == 1 and double.misses == 2
    double(2)
    double(3)  # evicts the (1,) entry
    double(1)
    assert calls == [1, 1, 2, 3, 1]
    double.clear()
    double(3)
    assert calls[-1] == 3 and double.hits == 0
    assert double.original_func.__name__ == "double"


def test_memoize_keyfun():
    @memoize(keyfun=lambda args, kwargs: args[0] % 2)
    def parity(x):
        return x

    assert parity(1) == 1
    assert parity(3) == 1  # same key


def test_lazy_evaluates_every_time():
    counter = iter(range(100))
    value = lazy(next, counter)
    assert value() == 0
    assert value.evaluate() == 1
    assert str(value) == "2"
    assert repr(value) == "3"
    assert value == 4
    assert value != 4
    assert maybe_evaluate(lazy(lambda: 42)) == 42
    assert maybe_evaluate(7) == 7
    assert copy.deepcopy(value) is value


def test_lazy_pickles():
    value = pickle.loads(pickle.dumps(lazy(sum, [1, 2, 3])))
    assert value() == 6


def test_channel_promise_calls_once():
    calls = []
    promise = ChannelPromise(lambda: calls.append(1) or "chan")
    assert "promise" in repr(promise)
    assert promise() == "chan" and promise() == "chan"
    assert calls == [1]
    assert repr(promise) == "'chan'"


# -- lists and dicts ------------------------------------------------------------------


def test_is_list_and_maybe_list():
    assert is_list([1]) and is_list((1,)) and is_list({1}) and is_list(iter([]))
    assert not is_list("abc") and not is_list({"a": 1}) and not is_list(1)
    assert is_list("abc", scalars=None)
    assert maybe_list(None) is None
    assert maybe_list("a") == ["a"]
    assert maybe_list({"a": 1}) == [{"a": 1}]
    items = [1, 2]
    assert maybe_list(items) is items


def test_dictfilter():
    assert dictfilter({"a": 1, "b": None, "c": 0}) == {"a": 1, "c": 0}
    assert dictfilter({"a": 1}, b=None, c=2) == {"a": 1, "c": 2}
    assert dictfilter(a=None, b=False) == {"b": False}


def test_shufflecycle_yields_members_forever():
    it = shufflecycle([1, 2, 3])
    assert {next(it) for _ in range(50)} <= {1, 2, 3}


# -- ranges ------------------------------------------------------------------------


def test_fxrange():
    assert list(fxrange(1.0, 3.0, 0.5)) == [1.0, 1.5, 2.0, 2.5, 3.0]
    it = fxrange(1, 2, 1, repeatlast=True)
    assert [next(it) for _ in range(4)] == [1.0, 2.0, 2.0, 2.0]
    it = fxrange(0, None, 2)
    assert [next(it) for _ in range(3)] == [0.0, 2.0, 4.0]


def test_fxrangemax():
    assert list(fxrangemax(1.0, 3.0, 1.0, max=10)) == [1.0, 2.0, 3.0, 3.0]
    assert sum(fxrangemax(1.0, None, 1.0, max=5)) <= 5 + 3


# -- retry_over_time ------------------------------------------------------------------


class Flaky:
    def __init__(self, failures, exc=OSError):
        self.failures = failures
        self.calls = 0
        self.exc = exc

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc(f"fail {self.calls}")
        return ("ok", args, kwargs)


def test_retry_until_success():
    fun = Flaky(3)
    seen = []
    result = retry_over_time(
        fun,
        OSError,
        (1,),
        {"k": 2},
        errback=lambda exc, intervals, retries: seen.append(retries) or 0,
        interval_start=0,
        interval_step=0,
        interval_max=0,
    )
    assert result == ("ok", (1,), {"k": 2})
    assert fun.calls == 4
    assert seen == [0, 1, 2]


def test_retry_max_retries_raises_last_error():
    fun = Flaky(10)
    with pytest.raises(OSError, match="fail 3"):
        retry_over_time(
            fun, OSError, max_retries=2, interval_start=0.001, interval_step=0, interval_max=0.001
        )
    assert fun.calls == 3


def test_retry_zero_means_no_retry():
    fun = Flaky(1)
    with pytest.raises(OSError):
        retry_over_time(fun, OSError, max_retries=0)
    assert fun.calls == 1


def test_retry_does_not_catch_other_errors():
    fun = Flaky(1, exc=KeyError)
    with pytest.raises(KeyError):
        retry_over_time(fun, OSError)


def test_retry_intervals_grow_to_the_max():
    intervals_seen = []

    def errback(exc, intervals, retries):
        intervals_seen.append(next(intervals))
        return 0

    with pytest.raises(OSError):
        retry_over_time(
            Flaky(10),
            OSError,
            errback=errback,
            max_retries=5,
            interval_start=1,
            interval_step=2,
            interval_max=4,
        )
    assert intervals_seen == [1.0, 3.0, 4.0, 4.0, 4.0]


def test_retry_sleeps_and_calls_back():
    callbacks = []
    start = time.monotonic()
    retry_over_time(
        Flaky(2),
        OSError,
        interval_start=0.01,
        interval_step=0.01,
        interval_max=0.02,
        callback=lambda: callbacks.append(1),
    )
    elapsed = time.monotonic() - start
    assert 0.03 <= elapsed < 1.0
    assert len(callbacks) >= 2


def test_retry_timeout_gives_up():
    fun = Flaky(10**6)
    start = time.monotonic()
    with pytest.raises(OSError):
        retry_over_time(
            fun, OSError, interval_start=0.01, interval_step=0, interval_max=0.01, timeout=0.1
        )
    elapsed = time.monotonic() - start
    assert 0.09 <= elapsed < 1.0
    assert fun.calls > 2


def test_retry_timeout_clips_a_long_sleep():
    start = time.monotonic()
    with pytest.raises(OSError):
        retry_over_time(Flaky(10), OSError, interval_start=30, timeout=0.05)
    assert time.monotonic() - start < 1.0


# -- repr helpers ----------------------------------------------------------------------


def test_reprcall_and_reprkwargs():
    assert reprkwargs({"a": 1, "b": "x"}) == "a=1, b='x'"
    assert reprcall("f") == "f()"
    assert reprcall("f", (1, "a")) == "f(1, 'a')"
    assert reprcall("f", (1,), {"k": None}) == "f(1, k=None)"
    assert reprcall("f", kwargs={"k": 2}) == "f(k=2)"


def test_accepts_argument():
    def f(a, *args, b=1, **kwargs):
        pass

    assert accepts_argument(f, "a") and accepts_argument(f, "b")
    assert not accepts_argument(f, "args") and not accepts_argument(f, "c")
    assert not accepts_argument(len, "nope")
