"""Routing: the default exchange, direct, topic, fanout and headers exchanges."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...entity import Queue
from ...messaging import Consumer
from ..features import requires
from ..helpers import Kit

__all__ = ("RoutingChecks", "assert_routes")

#: ``label -> binding key`` or ``label -> (binding key, binding arguments)``.
Bindings = Mapping[str, Any]
#: ``(routing key, headers, labels of the queues that must get it)``.
Expect = Sequence[tuple[str, dict[str, Any] | None, set[str]]]


def assert_routes(kit: Kit, exchange_type: str, bindings: Bindings, expect: Expect,
                  unbind: tuple[str, ...] = ()) -> None:
    """Bind one queue per label (then remove the bindings of ``unbind``), publish each
    message while consumers are active, and compare where they went."""
    exchange = kit.exchange(exchange_type)
    queues = {}
    for label, spec in bindings.items():
        key, args = spec if isinstance(spec, tuple) else (spec, None)
        queues[label] = kit.queue(exchange, routing_key=key, binding_arguments=args)
    kit.declare(*queues.values())
    for label in unbind:
        queues[label](kit.conn.default_channel).queue_unbind()
    want: dict[str, list[int]] = {label: [] for label in bindings}
    for index, (_, _, labels) in enumerate(expect):
        for label in labels:
            want[label].append(index)
    got: dict[str, list[int]] = {label: [] for label in bindings}
    channel = kit.conn.default_channel
    consumers = []

    def receiver(label: str) -> Any:
        def on_message(message: Any) -> None:
            got[label].append(message.decode()["i"])
            message.ack()
        return on_message

    for label, queue in queues.items():
        consumers.append(Consumer(channel, [queue], on_message=receiver(label),
                                  auto_declare=False, tag_prefix=f"{queue.name}-"))
    total = sum(len(v) for v in want.values())
    for consumer in consumers:
        consumer.consume()
    try:
        if exchange_type == "fanout":  # fanout over pub/sub reaches only active consumers
            kit.drain(kit.conn, lambda: False, kit.quiet)
        for index, (key, headers, _) in enumerate(expect):
            kit.publish({"i": index}, routing_key=key, exchange=exchange, headers=headers)
        kit.drain(kit.conn, lambda: sum(len(v) for v in got.values()) >= total)
        kit.drain(kit.conn, lambda: False, kit.quiet)
    finally:
        for consumer in consumers:
            consumer.cancel()

    def describe(routes: dict[str, list[int]]) -> dict[str, list[str]]:
        return {label: [repr(expect[i][0]) + (f" {expect[i][1]}" if expect[i][1] else "")
                        for i in sorted(ids)] for label, ids in routes.items()}

    assert {k: sorted(v) for k, v in got.items()} == want, (
        f"{exchange_type} routing differs: expected {describe(want)}, got {describe(got)}"
        f"\n  bindings: {dict(bindings)}")


class RoutingChecks:
    kit_group = "default_exchange"

    def test_default_exchange_routes_by_queue_name(self, kit: Kit) -> None:
        q1, q2 = kit.queue(), kit.queue()
        kit.declare(q1, q2)
        kit.publish({"to": 1}, routing_key=q1.name)
        kit.publish({"to": 2}, routing_key=q2.name)
        assert kit.bodies(q1, 1) == [{"to": 1}]
        assert kit.bodies(q2, 1) == [{"to": 2}]

    def test_default_exchange_unknown_queue_is_dropped(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.track(Queue(queue.name + ".nobody"))  # brokers that keep it anyway
        kit.publish({"nowhere": True}, routing_key=queue.name + ".nobody")
        kit.publish({"here": True}, routing_key=queue.name)
        assert kit.bodies(queue, 1, linger=kit.quiet) == [{"here": True}]

    # -- direct ---------------------------------------------------------------

    @requires("exchange_type:direct")
    def test_direct(self, kit: Kit) -> None:
        assert_routes(kit, "direct", {"a": "k1", "b": "k2", "c": "k1"}, [
            ("k1", None, {"a", "c"}),
            ("k2", None, {"b"}),
            ("k3", None, set()),
            ("", None, set()),
        ])

    @requires("exchange_type:direct")
    def test_direct_one_copy_per_queue(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, routing_key="k")
        kit.declare(queue)
        queue(kit.conn.default_channel).bind_to(exchange, "k2")
        kit.publish({"n": 1}, routing_key="k", exchange=exchange)
        kit.publish({"n": 2}, routing_key="k2", exchange=exchange)
        got = kit.bodies(queue, 2, linger=kit.quiet)
        assert sorted(b["n"] for b in got) == [1, 2]

    @requires("exchange_type:direct")
    def test_direct_binding_made_by_another_connection(self, kit: Kit) -> None:
        # The publisher has routed through the exchange (and may cache its routes);
        # a binding made meanwhile by another connection must not cost a message.
        exchange = kit.exchange("direct")
        first = kit.queue(exchange, routing_key="k1")
        second = kit.queue(exchange, routing_key="k2")
        kit.declare(first)
        kit.publish({"n": 1}, routing_key="k1", exchange=exchange)
        kit.declare(second, channel=kit.connection().default_channel)
        kit.publish({"n": 2}, routing_key="k1", exchange=exchange)
        kit.publish({"n": 3}, routing_key="k2", exchange=exchange)
        got = sorted(b["n"] for b in kit.bodies(first, 2, linger=kit.quiet))
        assert got == [1, 2], f"the queue bound before got {got}, expected [1, 2]"
        assert kit.bodies(second, 1, linger=kit.quiet) == [{"n": 3}]

    # -- topic ----------------------------------------------------------------

    @requires("exchange_type:topic")
    def test_topic_exact_words(self, kit: Kit) -> None:
        assert_routes(kit, "topic", {"ab": "a.b", "abc": "a.b.c"}, [
            ("a.b", None, {"ab"}),
            ("a.b.c", None, {"abc"}),
            ("a", None, set()),
            ("a.bc", None, set()),
            ("a.b.c.d", None, set()),
        ])

    @requires("exchange_type:topic")
    def test_topic_star(self, kit: Kit) -> None:
        assert_routes(kit, "topic", {"mid": "a.*.c", "one": "*", "tail": "a.*"}, [
            ("a.b.c", None, {"mid"}),
            ("a.xyz.c", None, {"mid"}),
            ("a.c", None, {"tail"}),
            ("a.b.b.c", None, set()),
            ("x.b.c", None, set()),
            ("w", None, {"one"}),
            ("w.x", None, set()),
        ])

    @requires("exchange_type:topic")
    def test_topic_hash(self, kit: Kit) -> None:
        assert_routes(kit, "topic", {"all": "#", "head": "a.#", "tail": "#.z", "mid": "a.#.c"}, [
            ("a", None, {"all", "head"}),
            ("a.b", None, {"all", "head"}),
            ("a.b.c.d", None, {"all", "head"}),
            ("a.c", None, {"all", "head", "mid"}),
            ("a.b.b.c", None, {"all", "head", "mid"}),
            ("z", None, {"all", "tail"}),
            ("x.y.z", None, {"all", "tail"}),
            ("b.a", None, {"all"}),
            ("z.y", None, {"all"}),
        ])

    @requires("exchange_type:topic")
    def test_topic_empty_words(self, kit: Kit) -> None:
        assert_routes(kit, "topic",
                      {"star": "a.*.c", "lead": "*.b", "hash": "a.#", "all": "#", "one": "*"}, [
            ("a..c", None, {"star", "hash", "all"}),
            (".b", None, {"lead", "all"}),
            ("a.", None, {"hash", "all"}),
            ("", None, {"all"}),
        ])

    @requires("exchange_type:topic")
    def test_topic_many_levels(self, kit: Kit) -> None:
        key = ".".join(f"l{i}" for i in range(1, 13))
        assert_routes(kit, "topic", {
            "ends": "l1.#.l12",
            "stars": "l1." + "*." * 10 + "l12",
            "few": "l1.*.l12",
            "near_end": "#.l11.*",
            "wrong_end": "l1.#.l11",
        }, [
            (key, None, {"ends", "stars", "near_end"}),
        ])

    @requires("exchange_type:topic")
    def test_topic_one_copy_per_queue(self, kit: Kit) -> None:
        exchange = kit.exchange("topic")
        queue = kit.queue(exchange, routing_key="a.*")
        kit.declare(queue)
        queue(kit.conn.default_channel).bind_to(exchange, "*.b")
        queue(kit.conn.default_channel).bind_to(exchange, "#")
        kit.publish({"n": 1}, routing_key="a.b", exchange=exchange)
        got = kit.bodies(queue, 1, linger=kit.quiet)
        assert got == [{"n": 1}], "a message matching several bindings of one queue " \
            f"must reach it once, got {len(got)} copies"

    # -- fanout ---------------------------------------------------------------

    @requires("exchange_type:fanout")
    def test_fanout(self, kit: Kit) -> None:
        assert_routes(kit, "fanout", {"a": "", "b": "x", "c": "y.z"}, [
            ("", None, {"a", "b", "c"}),
            ("anything.at.all", None, {"a", "b", "c"}),
        ])

    @requires("exchange_type:fanout")
    def test_fanout_unbind(self, kit: Kit) -> None:
        assert_routes(kit, "fanout", {"kept": "", "gone": ""}, [("", None, {"kept"})],
                      unbind=("gone",))

    # -- headers --------------------------------------------------------------

    @requires("exchange_type:headers")
    def test_headers_match_all(self, kit: Kit) -> None:
        args = {"x-match": "all", "a": 1, "b": "two"}
        assert_routes(kit, "headers", {"all": ("", args)}, [
            ("", {"a": 1, "b": "two"}, {"all"}),
            ("", {"a": 1, "b": "two", "c": 3}, {"all"}),
            ("", {"a": 1}, set()),
            ("", {"a": 2, "b": "two"}, set()),
            ("", {}, set()),
        ])

    @requires("exchange_type:headers")
    def test_headers_match_any(self, kit: Kit) -> None:
        args = {"x-match": "any", "a": 1, "b": "two"}
        assert_routes(kit, "headers", {"any": ("", args)}, [
            ("", {"a": 1}, {"any"}),
            ("", {"b": "two", "c": 3}, {"any"}),
            ("", {"a": 2, "b": "three"}, set()),
            ("", {}, set()),
        ])

    @requires("exchange_type:headers")
    def test_headers_default_is_all(self, kit: Kit) -> None:
        assert_routes(kit, "headers", {"plain": ("", {"a": 1, "b": 2})}, [
            ("", {"a": 1, "b": 2}, {"plain"}),
            ("", {"a": 1}, set()),
        ])
