"""kombu.asynchronous.semaphore: LaxBoundedSemaphore and DummyLock."""

from __future__ import annotations

from kombu.asynchronous.semaphore import DummyLock, LaxBoundedSemaphore


def test_acquire_runs_now_or_queues():
    calls = []
    s = LaxBoundedSemaphore(2)
    assert s.acquire(calls.append, 1) is True
    assert s.acquire(calls.append, 2) is True
    assert s.acquire(calls.append, 3) is False
    assert s.acquire(lambda **kw: calls.append(kw), x=4) is False
    assert calls == [1, 2]
    assert s.value == 0
    assert len(s._waiting) == 2
    s.release()  # hands the slot to the first waiter
    assert calls == [1, 2, 3]
    s.release()
    assert calls == [1, 2, 3, {"x": 4}]
    assert s.value == 0
    s.release()
    s.release()
    assert s.value == 2


def test_release_is_lax():
    s = LaxBoundedSemaphore(1)
    for _ in range(5):
        s.release()
    assert s.value == 1 == s.initial_value


def test_grow_gives_new_slots_to_waiters_first():
    calls = []
    s = LaxBoundedSemaphore(1)
    s.acquire(calls.append, "a")
    s.acquire(calls.append, "b")
    s.acquire(calls.append, "c")
    s.grow(1)
    assert calls == ["a", "b"]
    assert (s.value, s.initial_value) == (0, 2)
    s.grow(2)
    assert calls == ["a", "b", "c"]
    assert (s.value, s.initial_value) == (1, 4)
    # three holders now: releasing them all restores the full value
    for _ in range(3):
        s.release()
    assert s.value == 4


def test_shrink():
    s = LaxBoundedSemaphore(3)
    s.shrink(2)
    assert (s.value, s.initial_value) == (1, 1)
    s.shrink(5)
    assert (s.value, s.initial_value) == (0, 0)
    called = []
    assert s.acquire(called.append, 1) is False
    s.grow()
    assert called == [1]


def test_clear():
    s = LaxBoundedSemaphore(1)
    s.acquire(lambda: None)
    s.acquire(lambda: None)
    s.clear()
    assert s.value == 1 and not s._waiting
    assert "value:1" in repr(s) and "waiting:0" in repr(s)


def test_dummy_lock():
    lock = DummyLock()
    with lock as entered:
        assert entered is lock
