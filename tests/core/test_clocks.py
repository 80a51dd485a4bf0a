"""kombu.clocks: LamportClock and timetuple."""

from __future__ import annotations

import heapq
import pickle
import threading

from kombu.clocks import LamportClock, timetuple


def test_forward_and_adjust():
    c = LamportClock()
    assert c.value == 0
    assert c.forward() == 1
    assert c.adjust(10) == 11  # past the received value
    assert c.adjust(3) == 12  # never goes back
    assert c.value == 12
    assert LamportClock(initial_value=5).forward() == 6
    assert str(c) == "12" and repr(c) == "<LamportClock: 12>"


def test_custom_lock():
    c = LamportClock(Lock=threading.RLock)
    assert c.forward() == 1


def test_thread_safety():
    c = LamportClock()
    seen: list[int] = []

    def work():
        local = [c.forward() for _ in range(2000)]
        local += [c.adjust(0) for _ in range(2000)]
        seen.extend(local)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert c.value == 8 * 4000
    assert len(set(seen)) == len(seen)  # every event got its own value


def test_sort_heap():
    c = LamportClock()
    assert c.sort_heap([(1, "b"), (2, "a")]) == (1, "b")
    assert c.sort_heap([(1, "c", "x"), (1, "a", "y"), (1, "b", "z"), (2, "0")]) == (1, "a", "y")
    assert c.sort_heap([(4, "only")]) == (4, "only")


def test_timetuple_fields():
    t = timetuple(3, 100.0, "host:1", {"x": 1})
    assert (t.clock, t.timestamp, t.id, t.obj) == (3, 100.0, "host:1", {"x": 1})
    assert timetuple(1, 2.0, "h").obj is None
    assert pickle.loads(pickle.dumps(t)) == t
    assert "clock=3" in repr(t)


def test_timetuple_ordering():
    # logical clock first
    assert timetuple(1, 500.0, "b") < timetuple(2, 100.0, "a")
    assert timetuple(2, 100.0, "a") > timetuple(1, 500.0, "b")
    # equal clocks: process id decides
    assert timetuple(2, 500.0, "a") < timetuple(2, 100.0, "b")
    # without clock values, the timestamp decides
    assert timetuple(None, 1.0, "z") < timetuple(None, 2.0, "a")
    assert timetuple(0, 1.0, "z") < timetuple(5, 2.0, "a")
    assert timetuple(1, 1.0, "a") <= timetuple(1, 1.0, "a")
    assert timetuple(1, 1.0, "a") >= timetuple(1, 1.0, "a")


def test_timetuple_in_heap():
    heap: list[timetuple] = []
    for clock, ts, id in [(3, 1.0, "a"), (1, 9.0, "a"), (2, 5.0, "b"), (2, 4.0, "a")]:
        heapq.heappush(heap, timetuple(clock, ts, id, None))
    order = [heapq.heappop(heap)[:3] for _ in range(len(heap))]
    assert order == [(1, 9.0, "a"), (2, 4.0, "a"), (2, 5.0, "b"), (3, 1.0, "a")]
