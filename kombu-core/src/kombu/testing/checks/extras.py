"""Transport-level features: the kombu event loop, heartbeats, fanout across
connections and persistence."""

from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import Any

from ...messaging import Consumer
from .. import workers
from ..features import requires
from ..helpers import Kit

__all__ = ("ExtraChecks",)


def _collector(into: list[Any]) -> Callable[[Any, Any], None]:
    def on_message(body: Any, message: Any) -> None:
        into.append(body)
    return on_message


class ExtraChecks:
    kit_group = "asynchronous"

    @requires("asynchronous")
    def test_consume_with_event_loop(self, kit: Kit) -> None:
        from ...asynchronous import Hub

        queue = kit.queue()
        kit.declare(queue)
        conn = kit.connection()
        got: list[Any] = []

        def on_message(message: Any) -> None:
            got.append(message.decode())
            message.ack()

        hub = Hub()
        try:
            conn.register_with_event_loop(hub)
            with Consumer(conn.default_channel, [queue], on_message=on_message):
                for n in range(3):
                    kit.publish({"n": n}, routing_key=queue.name)
                deadline = monotonic() + kit.timeout
                while len(got) < 3 and monotonic() < deadline:
                    hub.run_once()
        finally:
            try:
                conn.transport.unregister_from_event_loop(conn.connection, hub)
            finally:
                hub.close()
        assert got == [{"n": 0}, {"n": 1}, {"n": 2}], f"the event loop delivered {got}"

    @requires("heartbeats")
    def test_heartbeats(self, kit: Kit) -> None:
        conn = kit.conn.clone(heartbeat=10)
        try:
            conn.connect()
            assert conn.supports_heartbeats
            assert conn.get_heartbeat_interval() > 0, "heartbeat=10 was not negotiated"
            conn.heartbeat_check()
            conn.heartbeat_check(rate=2)
        finally:
            conn.close()

    @requires("fanout_across_connections", "exchange_type:fanout")
    def test_fanout_across_connections(self, kit: Kit) -> None:
        exchange = kit.exchange("fanout")
        q1, q2 = kit.queue(exchange, routing_key=""), kit.queue(exchange, routing_key="")
        a, b, publisher = kit.connection(), kit.connection(), kit.connection()
        got: dict[str, list[Any]] = {"a": [], "b": []}
        consumers = []
        for label, conn, queue in (("a", a, q1), ("b", b, q2)):
            kit.declare(queue, channel=conn.default_channel)
            consumers.append(Consumer(conn.default_channel, [queue],
                                      callbacks=[_collector(got[label])], no_ack=True))
        for consumer in consumers:
            consumer.consume()
        kit.drain(a, lambda: False, kit.quiet)
        kit.drain(b, lambda: False, kit.quiet)
        kit.publish({"n": 1}, exchange=exchange, conn=publisher)
        kit.drain(a, lambda: bool(got["a"]))
        kit.drain(b, lambda: bool(got["b"]))
        assert got == {"a": [{"n": 1}], "b": [{"n": 1}]}, f"deliveries: {got}"

    @requires("persistent", group="persistent")
    def test_messages_outlive_publisher(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        body = {"kept": True}
        if kit.conn.transport.implements.get("cross_process"):
            code = workers.publish_in_process(kit.conn, queue.name, body, kit.timeout * 4)
            assert code == 0, f"the publishing process failed (exit {code})"
        else:
            publisher = kit.conn.clone()
            kit.publish(body, routing_key=queue.name, conn=publisher, delivery_mode="persistent")
            publisher.close()
        kit.conn.close()
        fresh = kit.connection()
        assert kit.bodies(queue, 1, conn=fresh) == [body], \
            "a persistent message did not outlive its publisher"
