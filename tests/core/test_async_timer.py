"""kombu.asynchronous.timer: Timer, Entry, to_timestamp."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from time import monotonic

import pytest

from kombu.asynchronous.timer import Entry, Timer, to_timestamp


def drain(timer: Timer, until: float = 1.0) -> None:
    """Run the timer the way the hub does, until nothing is left or ``until`` passes."""
    deadline = monotonic() + until
    it = iter(timer)
    while monotonic() < deadline:
        delay, entry = next(it)
        if entry is not None:
            timer.apply_entry(entry)
        elif delay is None:
            return
        else:
            time.sleep(min(delay, 0.01))


def test_entry():
    calls = []
    e = Entry(lambda *a, **kw: calls.append((a, kw)), (1, 2), {"x": 3})
    e()
    assert calls == [((1, 2), {"x": 3})]
    assert not e.canceled and not e.cancelled
    e.cancel()
    assert e.canceled and e.cancelled
    assert Entry(print).args == [] and Entry(print).kwargs == {}
    assert "print" in repr(Entry(print))
    assert e.tref.canceled  # a weak proxy to the entry


def test_iteration_protocol():
    t = Timer()
    it = iter(t)
    assert next(it) == (None, None)  # nothing scheduled
    calls = []
    t.call_after(0.05, calls.append, ("later",))
    delay, entry = next(it)
    assert entry is None and 0 < delay <= 0.05
    t.call_at(monotonic() - 1, calls.append, ("now",))
    delay, entry = next(it)
    assert delay is None and entry is not None
    entry()
    assert calls == ["now"]


def test_max_interval_caps_the_wait():
    t = Timer(max_interval=0.5)
    t.call_after(60, print)
    delay, entry = next(iter(t))
    assert entry is None and delay == 0.5
    assert Timer().max_interval == 2.0


def test_order_by_eta_then_priority_then_fifo():
    t = Timer()
    calls = []
    now = monotonic() - 1
    t.call_at(now + 0.5, calls.append, ("late",))
    t.call_at(now, calls.append, ("p1-a",), priority=1)
    t.call_at(now, calls.append, ("p0",), priority=0)
    t.call_at(now, calls.append, ("p1-b",), priority=1)
    assert [s.entry.args[0] for s in t.queue] == ["p0", "p1-a", "p1-b", "late"]
    assert len(t) == 4
    drain(t)
    assert calls == ["p0", "p1-a", "p1-b", "late"]
    assert t.empty() and len(t) == 0


def test_cancel_and_clear():
    t = Timer()
    calls = []
    a = t.call_after(0, calls.append, ("a",))
    t.call_after(0, calls.append, ("b",))
    t.cancel(a)
    drain(t)
    assert calls == ["b"]
    t.call_after(10, calls.append, ("c",))
    t.clear()
    assert not t.queue and bool(t)


def test_call_after_timing():
    t = Timer()
    fired = []
    start = monotonic()
    t.call_after(0.05, lambda: fired.append(monotonic() - start))
    drain(t)
    assert len(fired) == 1 and 0.05 <= fired[0] < 0.5


def test_call_at_datetime():
    t = Timer()
    calls = []
    t.call_at(datetime.now(timezone.utc) + timedelta(seconds=0.03), calls.append, ("dt",))
    (item,) = t.queue
    assert item.eta == pytest.approx(monotonic() + 0.03, abs=0.02)
    drain(t)
    assert calls == ["dt"]


def test_call_repeatedly():
    t = Timer()
    calls = []
    entry = t.call_repeatedly(0.02, calls.append, ("tick",))
    deadline = monotonic() + 0.15
    it = iter(t)
    while monotonic() < deadline:
        delay, e = next(it)
        if e is not None:
            e()
        else:
            time.sleep(min(delay or 0.01, 0.01))
    assert 3 <= len(calls) <= 8
    entry.cancel()
    n = len(calls)
    drain(t, until=0.1)
    assert len(calls) == n
    assert t.empty()


def test_errors_go_to_on_error():
    errors = []
    t = Timer(on_error=errors.append)

    def boom():
        raise KeyError("x")

    t.apply_entry(Entry(boom))
    assert isinstance(errors[0], KeyError)
    assert t.handle_error(ValueError()) is True
    assert Timer().handle_error(ValueError()) is None
    Timer().apply_entry(Entry(boom))  # no on_error: logged, not raised


def test_enter_at_defaults_to_now():
    t = Timer()
    e = t.enter_at(Entry(print))
    assert t.queue[0].eta <= monotonic()
    assert t.queue[0].entry is e
    with t as same:
        assert same is t
    assert t.schedule is t


def test_to_timestamp():
    assert to_timestamp(12.5) == 12.5
    aware = datetime.now(timezone.utc) + timedelta(seconds=10)
    assert to_timestamp(aware) == pytest.approx(monotonic() + 10, abs=0.05)
    naive = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=5)
    assert to_timestamp(naive) == pytest.approx(monotonic() + 5, abs=0.05)
    tz = timezone(timedelta(hours=2))
    naive_local = datetime.now(tz).replace(tzinfo=None)
    assert to_timestamp(naive_local, default_timezone=tz) == pytest.approx(monotonic(), abs=0.05)
    assert to_timestamp(aware, time=time.time) == pytest.approx(aware.timestamp())
