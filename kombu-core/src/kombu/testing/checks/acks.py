"""Acknowledgement: ack, reject, requeue (redelivered flag), no_ack, basic_get, purge,
size."""

from __future__ import annotations

import pytest

from ...exceptions import MessageStateError
from ..helpers import Kit

__all__ = ("AckChecks",)


class AckChecks:
    kit_group = "acks"

    def test_ack_removes_for_good(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        conn = kit.connection()
        [message] = kit.consume(queue, 1, conn=conn, ack=True)
        assert message.acknowledged
        conn.close()
        assert kit.consume(queue, 1, timeout=kit.quiet) == [], "an acked message came back"
        assert kit.size(queue) == 0

    def test_ack_twice_is_an_error(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        [message] = kit.consume(queue, 1)
        with pytest.raises(MessageStateError):
            message.ack()

    def test_reject_drops(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        conn = kit.connection()
        [message] = kit.consume(queue, 1, conn=conn, ack=False)
        message.reject(requeue=False)
        conn.close()
        assert kit.consume(queue, 1, timeout=kit.quiet) == [], "a rejected message came back"

    def test_requeue_redelivers(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        [first] = kit.consume(queue, 1, ack=False)
        assert not first.delivery_info.get("redelivered"), "a first delivery is not redelivered"
        first.requeue()
        again = kit.consume(queue, 1)
        assert [m.decode() for m in again] == [{"n": 1}], "the requeued message was lost"
        assert again[0].delivery_info.get("redelivered") is True, \
            "a requeued message must come back with delivery_info['redelivered'] True"

    def test_reject_with_requeue_redelivers(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(3):
            kit.publish({"n": n}, routing_key=queue.name)
        received = kit.consume(queue, 3, ack=False)
        assert len(received) == 3
        for message in received:
            message.reject(requeue=True)
        again = kit.consume(queue, 3)
        assert sorted(m.decode()["n"] for m in again) == [0, 1, 2], \
            "messages rejected with requeue=True were lost"
        assert all(m.delivery_info.get("redelivered") for m in again)

    def test_no_ack(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        conn = kit.connection()
        [message] = kit.consume(queue, 1, conn=conn, ack=False, no_ack=True)
        message.ack()  # nothing to acknowledge: must be harmless
        conn.close()
        assert kit.consume(queue, 1, timeout=kit.quiet) == [], "a no_ack message came back"

    def test_basic_get(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        bound = queue(kit.conn.default_channel)
        assert bound.get() is None, "get() on an empty queue returns None"
        kit.publish({"n": 1}, routing_key=queue.name)
        kit.publish({"n": 2}, routing_key=queue.name)
        assert kit.wait_size(queue, 2) == 2
        first = bound.get()
        assert first is not None and first.payload == {"n": 1}
        first.ack()
        second = bound.get(no_ack=True)
        assert second is not None and second.payload == {"n": 2}
        assert bound.get() is None

    def test_basic_get_unacked_comes_back(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name)
        assert kit.wait_size(queue, 1) == 1
        channel = kit.conn.channel()
        message = queue(channel).get()
        assert message is not None
        channel.close()
        again = kit.consume(queue, 1)
        assert [m.decode() for m in again] == [{"n": 1}]
        assert again[0].delivery_info.get("redelivered") is True

    def test_purge(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(5):
            kit.publish({"n": n}, routing_key=queue.name)
        assert kit.wait_size(queue, 5) == 5
        assert queue(kit.conn.default_channel).purge() == 5
        assert kit.size(queue) == 0
        assert kit.consume(queue, 1, timeout=kit.quiet) == []

    def test_size(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        assert kit.size(queue) == 0
        for n in range(7):
            kit.publish({"n": n}, routing_key=queue.name)
        assert kit.wait_size(queue, 7) == 7
        bound = queue(kit.conn.default_channel)
        for _ in range(3):
            bound.get().ack()
        assert kit.wait_size(queue, 4) == 4

    def test_fifo_order(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(20):
            kit.publish({"n": n}, routing_key=queue.name)
        got = [b["n"] for b in kit.bodies(queue, 20)]
        assert got == list(range(20)), "one producer, one consumer: order must be kept"
