"""kombu.asynchronous.hub: the event loop, with real sockets."""

from __future__ import annotations

import errno
import os
import select
import socket
from queue import Empty
from time import monotonic

import pytest

import kombu.asynchronous as asynchronous
from kombu.asynchronous import ERR, READ, WRITE, Hub, get_event_loop, set_event_loop
from kombu.asynchronous import hub as hub_module
from kombu.asynchronous.debug import callback_for, repr_flag
from kombu.asynchronous.hub import Stop
from kombu.asynchronous.timer import Timer
from kombu.utils import eventio

POLLERS = [
    name
    for name, ok in [
        ("EpollPoller", hasattr(select, "epoll")),
        ("PollPoller", hasattr(select, "poll")),
        ("SelectPoller", True),
    ]
    if ok
]


@pytest.fixture(params=POLLERS)
def hub(request, monkeypatch):
    """A hub on each poller this platform has."""
    monkeypatch.setattr(hub_module, "poll", getattr(eventio, request.param))
    h = Hub()
    assert type(h.poller).__name__ == request.param
    yield h
    h.close()


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def spin(hub: Hub, until, timeout: float = 2.0) -> None:
    deadline = monotonic() + timeout
    while not until():
        assert monotonic() < deadline, "condition not reached"
        hub.run_once()


def test_exports():
    assert (asynchronous.READ, asynchronous.WRITE, asynchronous.ERR) == (1, 4, 24)
    assert (Hub.READ, Hub.WRITE, Hub.ERR) == (READ, WRITE, ERR)
    assert asynchronous.__all__ == (
        "ERR",
        "READ",
        "WRITE",
        "Hub",
        "get_event_loop",
        "set_event_loop",
    )


def test_event_loop_registry():
    previous = get_event_loop()
    try:
        h = Hub()
        assert set_event_loop(h) is h
        assert get_event_loop() is h
        h.close()
    finally:
        set_event_loop(previous)


def test_default_timer(hub):
    assert isinstance(hub.timer, Timer)
    t = Timer()
    assert Hub(timer=t).timer is t


def test_reader_fires_on_data(hub, pair):
    a, b = pair
    got = []
    hub.add_reader(a, lambda sock: got.append(sock.recv(100)), a)
    assert a.fileno() in hub.readers
    hub.call_later(0.02, lambda: None)  # bounds the poll: nothing to read yet
    hub.run_once()
    assert got == []
    b.send(b"hello")
    spin(hub, lambda: got)
    assert got == [b"hello"]


def test_writer_fires_and_remove(hub, pair):
    a, _ = pair
    calls = []
    hub.add_writer(a.fileno(), calls.append, "w")
    spin(hub, lambda: calls)
    hub.remove_writer(a)
    assert a.fileno() not in hub.writers
    n = len(calls)
    hub.run_once()
    assert len(calls) == n


def test_remove_reader_keeps_writer(hub, pair):
    a, b = pair
    reads, writes = [], []
    hub.add_reader(a, reads.append, "r")
    hub.add_writer(a, writes.append, "w")
    b.send(b"x")
    spin(hub, lambda: reads and writes)
    hub.remove_reader(a)
    assert a.fileno() not in hub.readers and a.fileno() in hub.writers
    reads.clear()
    writes.clear()
    hub.run_once()
    assert writes and not reads
    hub.remove(a)
    assert not hub.readers and not hub.writers


def test_eof_reaches_reader_then_fd_is_dropped(hub):
    r, w = os.pipe()
    try:
        got = []
        hub.add_reader(r, lambda: got.append(os.read(r, 10)))
        os.write(w, b"ab")
        os.close(w)
        w = -1
        spin(hub, lambda: b"" in got)
        assert got[:2] == [b"ab", b""]
        if not isinstance(hub.poller, eventio.SelectPoller):  # select has no hang-up flag
            assert r not in hub.readers  # hang-up: removed after the callback saw EOF
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_closed_fd_in_callback_is_removed(hub, pair):
    a, b = pair

    def on_read():
        raise OSError(errno.EBADF, "bad fd")

    hub.add_reader(a, on_read)
    b.send(b"x")
    spin(hub, lambda: a.fileno() not in hub.readers)


def test_other_errors_propagate(hub, pair):
    a, b = pair

    def on_read():
        a.recv(10)
        raise RuntimeError("boom")

    hub.add_reader(a, on_read)
    b.send(b"x")
    with pytest.raises(RuntimeError):
        spin(hub, lambda: False)
    # the loop can be resumed
    assert a.fileno() in hub.readers
    b.send(b"y")
    with pytest.raises(RuntimeError):
        hub.run_once()


def test_empty_is_ignored(hub, pair):
    a, b = pair
    calls = []

    def on_read():
        calls.append(a.recv(10))
        raise Empty()

    hub.add_reader(a, on_read)
    b.send(b"x")
    spin(hub, lambda: calls)
    assert a.fileno() in hub.readers


def test_generator_callbacks(hub, pair):
    a, _ = pair
    steps = []

    def writer():
        steps.append(1)
        yield
        steps.append(2)

    hub.add_writer(a, writer())
    spin(hub, lambda: len(steps) == 2)
    hub.run_once()  # exhausted generator: StopIteration is swallowed


def test_call_soon_order_and_handle(hub):
    calls = []
    h1 = hub.call_soon(calls.append, 1)
    hub.call_soon(calls.append, 2)
    h3 = hub.call_soon(calls.append, 3)
    h3.cancel()
    results = []
    h1.then(results.append)
    assert h1 in hub._ready
    hub.run_once()
    assert calls == [1, 2]
    assert results == [None]
    assert not hub._ready


def test_call_soon_accepts_promises(hub):
    class Promise:
        def __init__(self):
            self.called = 0

        def __call__(self):
            self.called += 1

        def then(self, cb):
            return cb

    p = Promise()
    assert hub.call_soon(p) is p
    hub.run_once()
    assert p.called == 1


def test_call_soon_error_keeps_the_rest(hub):
    calls = []

    def boom():
        raise KeyError("x")

    hub.call_soon(boom)
    hub.call_soon(calls.append, "after")
    with pytest.raises(KeyError):
        hub.run_once()
    hub.run_once()
    assert calls == ["after"]


def test_call_later_ordering_and_timing(hub):
    calls = []
    start = monotonic()
    hub.call_later(0.06, lambda: calls.append(("c", monotonic() - start)))
    hub.call_later(0.02, lambda: calls.append(("a", monotonic() - start)))
    hub.call_later(0.04, lambda: calls.append(("b", monotonic() - start)))
    spin(hub, lambda: len(calls) == 3)
    assert [name for name, _ in calls] == ["a", "b", "c"]
    assert calls[0][1] >= 0.02 and calls[2][1] >= 0.06
    assert calls[2][1] < 1.0


def test_call_at(hub):
    calls = []
    hub.call_at(monotonic() + 0.02, calls.append, "at")
    spin(hub, lambda: calls)
    assert calls == ["at"]


def test_call_repeatedly_and_cancel(hub, pair):
    a, _ = pair
    calls = []
    entry = hub.call_repeatedly(0.01, calls.append, "tick")
    hub.add_reader(a, lambda: None)  # poll with a timeout, not the idle nap
    spin(hub, lambda: len(calls) >= 3)
    entry.cancel()
    n = len(calls)
    hub.call_later(0.06, lambda: None)  # bounds the last poll
    deadline = monotonic() + 0.05
    while monotonic() < deadline:
        hub.run_once()
    assert len(calls) == n


def test_timer_errors_are_logged(hub, caplog):
    calls = []

    def boom():
        raise ValueError("timer failed")

    hub.call_later(0, boom)
    hub.call_later(0, calls.append, "next")
    spin(hub, lambda: calls)
    assert "Error in timer" in caplog.text

    hub.propagate_errors = (ValueError,)
    hub.call_later(0, boom)
    with pytest.raises(ValueError):
        spin(hub, lambda: False)


def test_fire_timers():
    hub = Hub(timer=Timer(max_interval=10))
    assert hub.fire_timers(min_delay=1) == 1
    hub.call_later(5, print)
    assert 4 < hub.fire_timers(max_delay=10) <= 5
    assert hub.fire_timers(max_delay=0.5) == 0.5
    calls = []
    for i in range(3):
        hub.call_later(0, calls.append, i)
    assert hub.fire_timers(max_timers=2) == 0  # more may be due: do not wait
    assert calls == [0, 1]
    hub.fire_timers()
    assert calls == [0, 1, 2]
    hub.close()


def test_on_tick():
    hub = Hub()
    ticks = []
    hub.on_tick.add(lambda: ticks.append(1))
    hub.run_once()
    hub.run_once()
    assert len(ticks) == 2
    hub.close()


def test_run_forever_and_stop(hub, pair):
    a, b = pair
    got = []

    def on_read():
        got.append(a.recv(10))
        hub.stop()

    hub.add_reader(a, on_read)
    hub.call_later(0.01, b.send, b"ping")
    hub.run_forever()
    assert got == [b"ping"]
    assert not hub._running
    with pytest.raises(Stop):
        hub.stop()
        hub.run_once()


def test_loop_iterator():
    hub = Hub()
    calls = []
    hub.call_soon(calls.append, 1)
    next(hub.loop)
    assert calls == [1]
    loop = hub.create_loop()
    hub.call_soon(calls.append, 2)
    next(loop)
    assert calls == [1, 2]
    hub.close()


def test_consolidate(hub, pair):
    a, _ = pair
    batches = []
    hub.consolidate_callback = batches.append
    hub.add(a, None, WRITE | ERR, consolidate=True)
    assert hub.writers[a.fileno()] is None and a.fileno() in hub.consolidate
    spin(hub, lambda: batches)
    assert batches[0] == [a.fileno()]
    hub.remove(a)
    assert a.fileno() not in hub.consolidate


def test_close_and_reset(pair):
    a, _ = pair
    h = Hub()
    closed, pending = [], []
    h.on_close.add(closed.append)
    h.add_reader(a, print)
    h.call_soon(pending.append, "ack")
    h.close()
    assert closed == [h] and pending == ["ack"]
    assert h._poller is None and not h.readers
    h.close()  # twice is fine
    h.reset()
    assert h._poller is not None
    h.add_writer(a, pending.append, "w")
    spin(h, lambda: "w" in pending)
    with h:
        pass
    assert h._poller is None


def test_add_bad_fd_raises(hub):
    with pytest.raises(ValueError):
        hub.add_reader(-1, print)
    assert -1 not in hub.readers


def test_debug_reprs(hub, pair):
    a, _ = pair

    def on_read():
        pass

    hub.add_reader(a, on_read)
    fd = a.fileno()
    assert f"({fd})R!->" in hub.repr_active() and "on_read" in hub.repr_active()
    assert "on_read" in hub.repr_events([(fd, READ)])
    assert "(GONE)" in hub.repr_events([(999, WRITE)])
    assert repr_flag(READ | WRITE | ERR) == "RW!"
    assert callback_for(hub, fd, READ) is on_read
    assert callback_for(hub, 999, READ, None) is None
    assert "R:1" in repr(hub)
