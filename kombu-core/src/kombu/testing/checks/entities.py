"""Declarations: declare, bind, unbind, delete and passive declares of missing entities."""

from __future__ import annotations

import pytest

from ...entity import Exchange, Queue, binding
from ..helpers import Kit, unique_name

__all__ = ("EntityChecks",)


class EntityChecks:
    kit_group = "declare"

    def test_declare_bind_and_route(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, routing_key="rk")
        kit.declare(queue)
        kit.publish({"ok": True}, routing_key="rk", exchange=exchange)
        assert kit.bodies(queue, 1) == [{"ok": True}]

    def test_declare_twice_is_harmless(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, routing_key="rk")
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key="rk", exchange=exchange)
        kit.declare(queue)
        kit.declare(exchange)
        assert kit.bodies(queue, 1) == [{"n": 1}], "redeclaring must keep messages"

    def test_queue_declare_returns_counts(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        name, messages, _consumers = queue(kit.conn.default_channel).queue_declare()
        assert (name, messages) == (queue.name, 0)

    def test_multiple_bindings(self, kit: Kit) -> None:
        x1, x2 = kit.exchange("direct"), kit.exchange("direct")
        queue = kit.queue(bindings=[binding(x1, "one"), binding(x2, "two")])
        kit.declare(queue)
        kit.publish({"via": 1}, routing_key="one", exchange=x1)
        kit.publish({"via": 2}, routing_key="two", exchange=x2)
        bodies = kit.bodies(queue, 2)
        assert sorted(b["via"] for b in bodies) == [1, 2]

    def test_unbind(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, routing_key="rk")
        kit.declare(queue)
        queue(kit.conn.default_channel).queue_unbind()
        kit.publish({"lost": True}, routing_key="rk", exchange=exchange)
        kit.publish({"direct": True}, routing_key=queue.name)
        got = kit.bodies(queue, 1, linger=kit.quiet)
        assert got == [{"direct": True}], f"message routed through a removed binding: {got}"

    def test_delete_queue(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        queue(kit.conn.default_channel).delete()
        with pytest.raises(kit.channel_errors):
            kit.size(queue)

    def test_delete_exchange(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        kit.declare(exchange)
        exchange(kit.conn.default_channel).delete()
        channel = kit.conn.channel()
        try:
            with pytest.raises(kit.channel_errors):
                exchange(channel).declare(passive=True)
        finally:
            kit.conn.maybe_close_channel(channel)

    def test_passive_declare_missing_queue(self, kit: Kit) -> None:
        queue = Queue(unique_name("missing"))
        with pytest.raises(kit.channel_errors) as info:
            kit.size(queue)
        assert queue.name in str(info.value), f"the error should name the queue: {info.value}"

    def test_passive_declare_missing_exchange(self, kit: Kit) -> None:
        exchange = Exchange(unique_name("missing"), "direct")
        channel = kit.conn.channel()
        try:
            with pytest.raises(kit.channel_errors) as info:
                exchange(channel).declare(passive=True)
        finally:
            kit.conn.maybe_close_channel(channel)
        assert exchange.name in str(info.value), f"the error should name the exchange: {info.value}"
