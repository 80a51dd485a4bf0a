"""Broker extensions a transport states in ``implements``: priority, message TTL,
queue expiry and dead-lettering."""

from __future__ import annotations

import random
import time
from time import monotonic
from typing import Any

from ..features import requires
from ..helpers import Kit

__all__ = ("ExtensionChecks",)

#: How long TTL checks let messages live (seconds), and how long they wait after.
TTL = 0.2
PAST_TTL = 0.5


class ExtensionChecks:
    kit_group = "priority"

    # -- priority -------------------------------------------------------------

    @requires("priority")
    def test_priority_order(self, kit: Kit) -> None:
        queue = kit.queue(max_priority=9)
        kit.declare(queue)
        levels = [0, 5, 9] * 4
        random.Random(7).shuffle(levels)
        for n, level in enumerate(levels):
            kit.publish({"n": n, "p": level}, routing_key=queue.name, priority=level)
        assert kit.wait_size(queue, len(levels)) == len(levels)
        got = [b["p"] for b in kit.bodies(queue, len(levels), prefetch_count=1)]
        assert got == sorted(levels, reverse=True), \
            f"higher priority must be delivered first: published {levels}, got {got}"

    @requires("priority")
    def test_priority_fifo_within_level(self, kit: Kit) -> None:
        queue = kit.queue(max_priority=9)
        kit.declare(queue)
        for n in range(6):
            kit.publish({"n": n}, routing_key=queue.name, priority=5)
        assert kit.wait_size(queue, 6) == 6
        got = [b["n"] for b in kit.bodies(queue, 6, prefetch_count=1)]
        assert got == list(range(6)), f"equal priorities must stay in order: {got}"

    # -- message TTL ----------------------------------------------------------

    @requires("message_ttl")
    def test_message_expiration(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "short"}, routing_key=queue.name, expiration=TTL)
        kit.publish({"n": "long"}, routing_key=queue.name, expiration=60)
        kit.publish({"n": "forever"}, routing_key=queue.name)
        time.sleep(PAST_TTL)
        got = kit.bodies(queue, 2, linger=kit.quiet)
        assert got == [{"n": "long"}, {"n": "forever"}], f"expired message delivered: {got}"

    @requires("message_ttl")
    def test_queue_message_ttl(self, kit: Kit) -> None:
        queue = kit.queue(message_ttl=TTL)
        kit.declare(queue)
        kit.publish({"n": "old"}, routing_key=queue.name)
        time.sleep(PAST_TTL)
        kit.publish({"n": "new"}, routing_key=queue.name)
        got = kit.bodies(queue, 1, linger=kit.quiet)
        assert got == [{"n": "new"}], f"x-message-ttl not applied: {got}"

    # -- queue expiry -----------------------------------------------------------

    @requires("queue_ttl")
    def test_queue_expires_when_unused(self, kit: Kit) -> None:
        queue = kit.queue(expires=TTL * 2)
        kit.declare(queue)
        kit.size(queue)  # exists now
        deadline = monotonic() + PAST_TTL * 8
        while True:
            # every declare (even passive) counts as use: wait longer than expires
            time.sleep(PAST_TTL * 2)
            try:
                kit.size(queue)
            except kit.channel_errors:
                return
            assert monotonic() < deadline, "a queue declared with expires was not deleted"

    # -- dead letters -----------------------------------------------------------

    def _dead_letter_pair(self, kit: Kit, routing_key: str | None = "dead",
                          **queue_options: Any) -> tuple[Any, Any]:
        dlx = kit.exchange("direct")
        arguments: dict[str, Any] = {"x-dead-letter-exchange": dlx.name}
        if routing_key is not None:
            arguments["x-dead-letter-routing-key"] = routing_key
        work = kit.queue(queue_arguments=arguments, **queue_options)
        dead = kit.queue(dlx, routing_key=routing_key or work.name)
        kit.declare(dead, work)
        return work, dead

    @requires("dead_letter")
    def test_dead_letter_on_reject(self, kit: Kit) -> None:
        work, dead = self._dead_letter_pair(kit)
        kit.publish({"n": 1}, routing_key=work.name, headers={"keep": "me"})
        [message] = kit.consume(work, 1, ack=False)
        message.reject(requeue=False)
        [lost] = kit.consume(dead, 1) or [None]
        assert lost is not None, "a message rejected without requeue was not dead-lettered"
        assert lost.decode() == {"n": 1}
        assert lost.headers.get("keep") == "me"
        assert kit.consume(work, 1, timeout=kit.quiet) == []

    @requires("dead_letter")
    def test_dead_letter_keeps_routing_key(self, kit: Kit) -> None:
        work, dead = self._dead_letter_pair(kit, routing_key=None)
        kit.publish({"n": 2}, routing_key=work.name)
        [message] = kit.consume(work, 1, ack=False)
        message.reject(requeue=False)
        assert kit.bodies(dead, 1) == [{"n": 2}], \
            "without x-dead-letter-routing-key the original routing key is used"

    @requires("dead_letter")
    def test_requeue_does_not_dead_letter(self, kit: Kit) -> None:
        work, dead = self._dead_letter_pair(kit)
        kit.publish({"n": 3}, routing_key=work.name)
        [message] = kit.consume(work, 1, ack=False)
        message.requeue()
        assert kit.bodies(work, 1) == [{"n": 3}]
        assert kit.consume(dead, 1, timeout=kit.quiet) == []

    @requires("dead_letter", "message_ttl", group="dead_letter")
    def test_dead_letter_on_expiry(self, kit: Kit) -> None:
        work, dead = self._dead_letter_pair(kit, message_ttl=TTL)
        kit.publish({"n": 4}, routing_key=work.name)
        time.sleep(PAST_TTL)
        kit.size(work)  # some brokers expire lazily, on access
        kit.consume(work, 1, timeout=kit.quiet)
        assert kit.bodies(dead, 1) == [{"n": 4}], "an expired message was not dead-lettered"
