"""kombu.resource: the generic pool behind connection, channel and producer pools."""

from __future__ import annotations

import threading
import time

import pytest

from kombu.exceptions import LimitExceeded
from kombu.resource import LifoQueue, Resource


class Thing:
    created = 0

    def __init__(self) -> None:
        type(self).created += 1
        self.id = type(self).created
        self.closed = False

    def close(self) -> None:
        self.closed = True


class ThingPool(Resource):
    def __init__(self, *args, **kwargs) -> None:
        self.made: list[Thing] = []
        super().__init__(*args, **kwargs)

    def new(self) -> Thing:
        thing = Thing()
        self.made.append(thing)
        return thing


def test_resources_are_created_lazily_up_to_the_limit():
    pool = ThingPool(limit=3)
    assert pool.made == []
    a = pool.acquire()
    b = pool.acquire()
    assert len(pool.made) == 2
    assert a is not b
    assert pool.limit == 3


def test_preload_creates_resources_up_front():
    pool = ThingPool(limit=3, preload=2)
    assert len(pool.made) == 2


def test_exhausted_pool_raises_limit_exceeded_at_once_without_block():
    pool = ThingPool(limit=2)
    pool.acquire()
    pool.acquire()
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="all 2 resources are in use"):
        pool.acquire()
    assert time.monotonic() - started < 0.2


def test_blocking_acquire_gives_up_after_timeout():
    pool = ThingPool(limit=1)
    pool.acquire()
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match=r"after waiting 0\.3 seconds"):
        pool.acquire(block=True, timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 1.0


def test_blocking_acquire_gets_a_released_resource():
    pool = ThingPool(limit=1)
    held = pool.acquire()
    threading.Timer(0.1, held.release).start()
    started = time.monotonic()
    again = pool.acquire(block=True, timeout=5)
    assert again is held
    assert time.monotonic() - started < 2


def test_release_returns_to_pool_and_reuses_last_released_first():
    pool = ThingPool(limit=3)
    a, b = pool.acquire(), pool.acquire()
    a.release()
    b.release()
    assert pool.acquire() is b  # LIFO
    assert pool.acquire() is a
    assert not a.closed and not b.closed


def test_double_release_does_not_hand_out_a_resource_twice():
    pool = ThingPool(limit=2)
    a = pool.acquire()
    a.release()
    a.release()
    first, second = pool.acquire(), pool.acquire()
    assert first is not second


def test_without_limit_every_acquire_creates_and_release_closes():
    pool = ThingPool()
    a = pool.acquire()
    b = pool.acquire()
    assert a is not b
    a.release()
    assert a.closed


def test_replace_closes_and_keeps_the_slot():
    pool = ThingPool(limit=1)
    bad = pool.acquire()
    pool.replace(bad)
    assert bad.closed
    fresh = pool.acquire()
    assert fresh is not bad


def test_failed_creation_does_not_shrink_the_pool():
    class Flaky(ThingPool):
        fail = True

        def new(self):
            if self.fail:
                self.fail = False
                raise OSError("cannot create")
            return super().new()

    pool = Flaky(limit=1)
    with pytest.raises(OSError):
        pool.acquire()
    assert isinstance(pool.acquire(), Thing)


def test_force_close_all_closes_in_use_and_idle_and_closes_pool():
    pool = ThingPool(limit=3)
    a, b = pool.acquire(), pool.acquire()
    b.release()
    pool.force_close_all()
    assert a.closed and b.closed
    with pytest.raises(RuntimeError, match="closed"):
        pool.acquire()


def test_resize_grows_and_refuses_to_shrink_while_in_use():
    pool = ThingPool(limit=1)
    a = pool.acquire()
    pool.resize(3)
    pool.acquire()
    pool.acquire()
    with pytest.raises(LimitExceeded):
        pool.acquire()
    with pytest.raises(RuntimeError, match="Cannot shrink"):
        pool.resize(1)
    pool.resize(1, force=True)
    assert a.closed
    assert pool.limit == 1


def test_resize_shrinks_idle_pool_and_limit_setter():
    pool = ThingPool(limit=3, preload=3)
    pool.limit = 1
    assert pool.limit == 1
    pool.acquire()
    with pytest.raises(LimitExceeded):
        pool.acquire()
    assert sum(t.closed for t in pool.made) == 2


def test_lifo_queue_is_last_in_first_out():
    q = LifoQueue()
    for i in range(3):
        q.put(i)
    assert [q.get(), q.get(), q.get()] == [2, 1, 0]


def test_subclass_must_implement_new():
    with pytest.raises(NotImplementedError):
        Resource(limit=None).acquire()
