"""kombu.utils.limits.TokenBucket."""

from __future__ import annotations

import time

import pytest

from kombu.utils.limits import TokenBucket


def test_capacity_and_consumption():
    bucket = TokenBucket(fill_rate=1, capacity=3)
    assert bucket.capacity == 3.0 and bucket.fill_rate == 1.0
    assert bucket.can_consume(2)
    assert bucket.can_consume(1)
    assert not bucket.can_consume(1)
    assert not bucket.can_consume(5)  # never more than the capacity


def test_all_or_nothing():
    bucket = TokenBucket(fill_rate=0.001, capacity=2)
    assert not bucket.can_consume(3)
    assert bucket.can_consume(2)  # the failed attempt consumed nothing


def test_refill_over_time():
    bucket = TokenBucket(fill_rate=100, capacity=1)
    assert bucket.can_consume()
    assert not bucket.can_consume()
    wait = bucket.expected_time()
    assert 0 < wait <= 0.011
    time.sleep(wait + 0.005)
    assert bucket.can_consume()


def test_expected_time():
    bucket = TokenBucket(fill_rate=2, capacity=4)
    assert bucket.expected_time() == 0.0
    assert bucket.can_consume(4)
    assert bucket.expected_time(2) == pytest.approx(1.0, abs=0.05)


def test_pending_items():
    bucket = TokenBucket(fill_rate=1)
    bucket.add("a")
    bucket.add("b")
    assert bucket.pop() == "a"
    assert list(bucket.contents) == ["b"]
    bucket.clear_pending()
    with pytest.raises(IndexError):
        bucket.pop()
    assert "fill_rate=1.0" in repr(bucket)
