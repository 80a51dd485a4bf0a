"""kombu.utils.eventio: one poller interface over epoll, poll and select."""

from __future__ import annotations

import errno
import os
import select
import socket

import pytest

from kombu.utils import eventio
from kombu.utils.eventio import ERR, READ, SELECT_BAD_FD, WRITE, poll

POLLERS = [
    pytest.param(
        eventio.EpollPoller,
        marks=pytest.mark.skipif(not hasattr(select, "epoll"), reason="no epoll"),
    ),
    pytest.param(
        eventio.PollPoller, marks=pytest.mark.skipif(not hasattr(select, "poll"), reason="no poll")
    ),
    eventio.SelectPoller,
]


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_constants():
    assert (READ, WRITE, ERR) == (0x001, 0x004, 0x018)
    assert eventio.POLL_READ == READ and eventio.POLL_WRITE == WRITE and eventio.POLL_ERR == ERR
    assert errno.EBADF in SELECT_BAD_FD


def test_poll_picks_best_available():
    p = poll()
    try:
        if hasattr(select, "epoll"):
            assert isinstance(p, eventio.EpollPoller)
        elif hasattr(select, "poll"):
            assert isinstance(p, eventio.PollPoller)
        else:
            assert isinstance(p, eventio.SelectPoller)
    finally:
        p.close()


@pytest.mark.parametrize("cls", POLLERS)
def test_read_write_events(cls, pair):
    a, b = pair
    p = cls()
    try:
        assert p.register(a, READ | ERR) == a.fileno()  # objects with fileno()
        assert p.poll(0) == []
        b.send(b"x")
        assert dict(p.poll(1))[a.fileno()] & READ
        p.register(b.fileno(), WRITE)  # raw ints
        events = dict(p.poll(1))
        assert events[b.fileno()] & WRITE
        p.unregister(a)
        p.unregister(b.fileno())
        p.unregister(b.fileno())  # unknown fds are ignored
        assert p.poll(0) == []
    finally:
        p.close()


@pytest.mark.parametrize("cls", POLLERS)
def test_register_again_changes_interest(cls, pair):
    a, _ = pair
    p = cls()
    try:
        p.register(a, READ)
        assert p.poll(0) == []
        p.register(a, READ | WRITE)
        assert dict(p.poll(1))[a.fileno()] & WRITE
    finally:
        p.close()


@pytest.mark.parametrize("cls", POLLERS)
def test_hangup_is_reported(cls, pair):
    a, b = pair
    p = cls()
    try:
        p.register(a, READ | ERR)
        b.close()
        events = dict(p.poll(1))
        assert events[a.fileno()] & (READ | ERR)
        assert a.recv(1) == b""
    finally:
        p.close()


def test_poll_timeout_is_seconds(pair):
    import time

    a, _ = pair
    p = poll()
    try:
        p.register(a, READ)
        t0 = time.monotonic()
        assert p.poll(0.05) == []
        assert 0.03 < time.monotonic() - t0 < 1
    finally:
        p.close()


def test_select_drops_bad_fds():
    r, w = os.pipe()
    p = eventio.SelectPoller()
    try:
        p.register(r, READ | ERR)
        os.close(r)
        os.close(w)
        assert p.poll(0) == [(r, ERR)]
        assert p.poll(0) == []  # gone for good
    finally:
        p.close()


def test_poll_reports_closed_fd_as_error():
    if not hasattr(select, "poll"):
        pytest.skip("no poll")
    r, w = os.pipe()
    p = eventio.PollPoller()
    try:
        p.register(r, READ | ERR)
        os.close(r)
        os.close(w)
        ((fd, ev),) = p.poll(0)
        assert fd == r and ev & ERR
    finally:
        p.close()


@pytest.mark.parametrize("cls", POLLERS)
def test_fd_number_reused_after_close(cls):
    p = cls()
    try:
        a, b = socket.socketpair()
        fd = a.fileno()
        p.register(a, READ | ERR)
        a.close()  # without unregister: epoll forgets it, poll/select do not
        b.close()
        c, d = socket.socketpair()
        try:
            reused = c if c.fileno() == fd else d
            if reused.fileno() != fd:
                pytest.skip("fd number not reused")
            p.register(reused, READ | ERR)
            other = d if reused is c else c
            other.send(b"x")
            assert dict(p.poll(1)).get(fd, 0) & READ
        finally:
            c.close()
            d.close()
    finally:
        p.close()
