"""kombu.utils.scheduling: FairCycle and the queue-order cycles."""

from __future__ import annotations

from queue import Empty

import pytest

from kombu.utils.scheduling import (
    FairCycle,
    cycle_by_name,
    priority_cycle,
    round_robin_cycle,
    sorted_cycle,
)


def test_fair_cycle_round_robin_over_resources():
    calls = []

    def fun(resource, callback, **kwargs):
        calls.append(resource)
        return callback(resource, **kwargs)

    cycle = FairCycle(fun, ["a", "b", "c"], Empty)
    got = [cycle.get(lambda r, **kw: (r, kw), x=1) for _ in range(4)]
    assert got == [("a", {"x": 1}), ("b", {"x": 1}), ("c", {"x": 1}), ("a", {"x": 1})]
    assert calls == ["a", "b", "c", "a"]
    cycle.close()


def test_fair_cycle_skips_resources_raising_predicate():
    ready = {"b": [1, 2]}

    def fun(resource, callback):
        items = ready.get(resource)
        if not items:
            raise Empty()
        return callback(items.pop(0))

    cycle = FairCycle(fun, ["a", "b", "c"], Empty)
    assert cycle.get(lambda x: x) == 1
    assert cycle.get(lambda x: x) == 2
    with pytest.raises(Empty):
        cycle.get(lambda x: x)


def test_fair_cycle_other_errors_propagate_and_empty_resources_raise():
    def fun(resource, callback):
        raise KeyError(resource)

    with pytest.raises(KeyError):
        FairCycle(fun, ["a"], Empty).get(lambda x: x)
    with pytest.raises(Empty):
        FairCycle(fun, [], Empty).get(lambda x: x)


def test_fair_cycle_sees_live_resource_list():
    resources: list[str] = []
    cycle = FairCycle(lambda r, cb: cb(r), resources, Empty)
    with pytest.raises(Empty):
        cycle.get(lambda r: r)
    resources.append("q")
    assert cycle.get(lambda r: r) == "q"
    resources[:] = ["x", "y"]
    assert {cycle.get(lambda r: r) for _ in range(2)} == {"x", "y"}


def test_round_robin_cycle():
    cycle = round_robin_cycle(["a", "b", "c"])
    assert cycle.consume(2) == ["a", "b"]
    assert cycle.rotate("a") == "a"
    assert cycle.consume(3) == ["b", "c", "a"]
    cycle.rotate("missing")
    assert cycle.consume(3) == ["b", "c", "a"]
    cycle.update(["z", "y"])
    assert cycle.consume(5) == ["z", "y"]
    assert round_robin_cycle().consume(1) == []


def test_priority_cycle_never_rotates():
    cycle = priority_cycle(["a", "b"])
    cycle.rotate("a")
    assert cycle.consume(2) == ["a", "b"]


def test_sorted_cycle():
    cycle = sorted_cycle(["c", "a", "b"])
    assert cycle.consume(2) == ["a", "b"]
    cycle.rotate("a")
    assert cycle.consume(3) == ["a", "b", "c"]


def test_cycle_by_name():
    assert cycle_by_name("round_robin") is round_robin_cycle
    assert cycle_by_name("priority") is priority_cycle
    assert cycle_by_name("sorted") is sorted_cycle
    assert cycle_by_name(sorted_cycle) is sorted_cycle
    assert cycle_by_name("kombu.utils.scheduling:priority_cycle") is priority_cycle
    with pytest.raises(KeyError, match="round_robin"):
        cycle_by_name("nope")
