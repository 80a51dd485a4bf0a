"""At-least-once delivery and prefetch: unacked messages come back after the channel
closes, the connection closes or drops, or the consumer's process dies; prefetch_count
bounds what a consumer holds."""

from __future__ import annotations

from typing import Any

from ...messaging import Consumer
from .. import workers
from ..features import requires
from ..helpers import Kit

__all__ = ("PrefetchChecks", "ReliabilityChecks")


def _redelivered(kit: Kit, queue: Any, expected: list[Any], timeout: float | None = None,
                 ) -> None:
    again = kit.consume(queue, len(expected), timeout=timeout)
    bodies = sorted((m.decode() for m in again), key=repr)
    assert bodies == sorted(expected, key=repr), \
        f"unacked messages were lost: expected {expected}, got {bodies}"
    assert all(m.delivery_info.get("redelivered") for m in again), \
        "messages delivered again must carry delivery_info['redelivered'] True"


class ReliabilityChecks:
    kit_group = "at_least_once"
    #: Seconds a transport may take to give back messages of a dead consumer.
    redelivery_timeout = 15.0

    def _hold(self, kit: Kit, queue: Any, conn: Any, channel: Any = None,
              count: int = 2) -> list[Any]:
        kit.declare(queue)
        bodies = [{"n": n} for n in range(count)]
        for body in bodies:
            kit.publish(body, routing_key=queue.name)
        held = kit.consume(queue, count, conn=conn, channel=channel, ack=False)
        assert len(held) == count
        return bodies

    def test_unacked_return_after_channel_close(self, kit: Kit) -> None:
        queue = kit.queue()
        conn = kit.connection()
        channel = conn.channel()
        bodies = self._hold(kit, queue, conn, channel)
        channel.close()
        _redelivered(kit, queue, bodies)

    def test_unacked_return_after_connection_close(self, kit: Kit) -> None:
        queue = kit.queue()
        conn = kit.connection()
        bodies = self._hold(kit, queue, conn)
        conn.close()
        _redelivered(kit, queue, bodies)

    def test_unacked_return_after_connection_drop(self, kit: Kit) -> None:
        queue = kit.queue()
        conn = kit.connection()
        bodies = self._hold(kit, queue, conn)
        conn.collect()  # drop without a closing handshake
        _redelivered(kit, queue, bodies, timeout=self.redelivery_timeout)

    def test_unacked_kept_while_consumer_cancelled(self, kit: Kit) -> None:
        queue = kit.queue()
        conn = kit.connection()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        held: list[Any] = []
        with Consumer(conn.default_channel, [queue], on_message=held.append):
            kit.drain(conn, lambda: bool(held))
        assert len(held) == 1
        held[0].ack()  # acking after cancel is allowed and final
        conn.close()
        assert kit.consume(queue, 1, timeout=kit.quiet) == []

    @requires("cross_process", group="at_least_once")
    def test_unacked_return_after_consumer_process_killed(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "killed"}, routing_key=queue.name)
        got = workers.receive_then_get_killed(kit.conn, queue.name, timeout=kit.timeout * 4)
        assert got == {"n": "killed"}, f"the child consumer did not get the message: {got!r}"
        _redelivered(kit, queue, [{"n": "killed"}], timeout=self.redelivery_timeout)


class PrefetchChecks:
    kit_group = "prefetch"

    def test_prefetch_count_honoured(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(6):
            kit.publish({"n": n}, routing_key=queue.name)
        conn = kit.connection()
        held: list[Any] = []
        with Consumer(conn.default_channel, [queue], on_message=held.append,
                      prefetch_count=2):
            kit.drain(conn, lambda: len(held) >= 2)
            kit.drain(conn, lambda: False, kit.quiet)
            assert len(held) == 2, f"prefetch_count=2 but {len(held)} unacked were delivered"
            held[0].ack()
            kit.drain(conn, lambda: len(held) >= 3)
            kit.drain(conn, lambda: False, kit.quiet)
            assert len(held) == 3, f"one ack must let exactly one more in, got {len(held) - 2}"
            for message in held[1:]:
                message.ack()
            kit.drain(conn, lambda: len(held) >= 5)
            kit.drain(conn, lambda: False, kit.quiet)
            assert len(held) == 5

    def test_prefetch_change(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(4):
            kit.publish({"n": n}, routing_key=queue.name)
        conn = kit.connection()
        held: list[Any] = []
        # like Celery: where basic.qos binds only new consumers, set it channel-wide
        channel_wide = not conn.qos_semantics_matches_spec
        consumer = Consumer(conn.default_channel, [queue], on_message=held.append)
        consumer.qos(prefetch_count=1, apply_global=channel_wide)
        with consumer:
            kit.drain(conn, lambda: len(held) >= 1)
            kit.drain(conn, lambda: False, kit.quiet)
            assert len(held) == 1, f"prefetch_count=1 but {len(held)} unacked were delivered"
            consumer.qos(prefetch_count=3, apply_global=channel_wide)
            kit.drain(conn, lambda: len(held) >= 3)
            kit.drain(conn, lambda: False, kit.quiet)
            assert len(held) == 3, f"prefetch raised to 3 but {len(held)} are held"

    def test_prefetch_zero_is_unlimited(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(30):
            kit.publish({"n": n}, routing_key=queue.name)
        got = kit.consume(queue, 30, ack=False, prefetch_count=0)
        assert len(got) == 30
        for message in got:
            message.ack()
