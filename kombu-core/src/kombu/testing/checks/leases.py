"""The lease contract: what a consumer holds is kept while it lives, however long its
work runs, and comes back when it dies, freezes or was never local; an ack is final
the moment ``ack()`` returns; two channels of one connection never mix their acks."""

from __future__ import annotations

import time
from typing import Any

from ...messaging import Consumer
from .. import workers
from ..features import requires
from ..helpers import Kit

__all__ = ("LeaseChecks",)


def _lease_seconds(kit: Kit) -> float:
    """The transport's lease period (emulated brokers), or a stand-in.

    A native broker (no storage) keeps unacked messages while the connection
    lives: a second is plenty to see it.  An emulated one without leases keeps
    them in the holder's process: a moment shows it.
    """
    channel = kit.conn.default_channel
    storage = getattr(channel, "storage", None)
    if storage is None:
        return 1.0
    lease = getattr(storage, "lease_seconds", None)
    return float(lease) if lease else 0.2


class LeaseChecks:
    kit_group = "leases"
    #: Seconds a transport may take to give back messages of a frozen or dead holder.
    redelivery_timeout = 15.0
    #: Longest a check holds a message to outlive the lease (run the kit with a short
    #: lease, e.g. ``visibility_timeout=2``, to check it fully).
    longest_hold = 30.0

    @requires(group="at_least_once")
    def test_two_channels_of_one_connection_ack_their_own(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        conn = kit.connection()
        channels = [conn.channel(), conn.channel()]
        got: list[tuple[Any, Any]] = []
        consumers = []
        for channel in channels:
            def on_message(message: Any, channel: Any = channel) -> None:
                got.append((channel, message))
                message.ack()

            consumers.append(Consumer(channel, [queue], on_message=on_message,
                                      prefetch_count=2, auto_declare=False))
        for consumer in consumers:
            consumer.consume()
        for n in range(8):
            kit.publish({"n": n}, routing_key=queue.name)
        kit.drain(conn, lambda: len(got) >= 8)
        kit.drain(conn, lambda: False, kit.quiet)
        bodies = sorted(m.decode()["n"] for _, m in got)
        assert bodies == list(range(8)), f"each message once, got {bodies}"
        for channel, message in got:
            assert message.channel is channel, \
                "a message reached a consumer of another channel than the one holding it"
        for consumer in consumers:
            consumer.cancel()
        conn.close()
        again = kit.consume(queue, 1, timeout=kit.quiet)
        assert again == [], f"acked messages came back: {[m.decode() for m in again]}"

    @requires(group="at_least_once")
    def test_acks_survive_a_kill_right_after_them(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        for n in range(10):
            kit.publish({"n": n}, routing_key=queue.name)
        if kit.conn.transport.implements.get("cross_process"):
            acked = workers.ack_some_then_get_killed(kit.conn, queue.name, 10, 5,
                                                     timeout=kit.timeout * 4)
        else:  # in-process broker: the consumer's connection is dropped instead
            conn = kit.connection()
            held = kit.consume(queue, 10, conn=conn, ack=False, prefetch_count=10)
            acked = []
            for message in held[:5]:
                message.ack()
                acked.append(message.decode())
            conn.collect()
        assert len(acked) == 5, f"the consumer acked {len(acked)} of 5 before it died"
        again = kit.consume(queue, 10 - len(acked), timeout=self.redelivery_timeout,
                            linger=kit.quiet)
        bodies = [m.decode() for m in again]
        twice = [b for b in bodies if b in acked]
        assert not twice, f"messages acked before the kill were delivered again: {twice}"
        assert sorted(b["n"] for b in bodies) == sorted(
            n for n in range(10) if {"n": n} not in acked), \
            f"the unacked messages must come back, got {bodies}"

    @requires(group="at_least_once")
    def test_live_holder_outlives_the_lease(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "long"}, routing_key=queue.name)
        worker = kit.connection()
        held = kit.consume(queue, 1, conn=worker, ack=False, prefetch_count=1)
        assert len(held) == 1
        hold = min(self.longest_hold, 2.5 * _lease_seconds(kit))
        other = kit.connection()
        stolen = kit.consume(queue, 1, conn=other, timeout=hold)
        assert stolen == [], (f"a message held by a live consumer for {hold:.1f}s was "
                              f"delivered to another consumer")
        held[0].ack()
        worker.close()
        assert kit.consume(queue, 1, conn=other, timeout=kit.quiet) == []

    @requires(group="at_least_once")
    def test_basic_get_holder_outlives_the_lease(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "got"}, routing_key=queue.name)
        worker = kit.connection()
        message = queue.bind(worker.default_channel).get(no_ack=False)
        assert message is not None
        time.sleep(min(self.longest_hold, 2.5 * _lease_seconds(kit)))  # an idle holder
        other = kit.connection()
        assert queue.bind(other.default_channel).get(no_ack=True) is None, \
            "a message taken with get() went to another consumer while its holder lived"
        message.ack()
        worker.close()
        assert kit.consume(queue, 1, conn=other, timeout=kit.quiet) == []

    @requires("cross_process", "leases", group="leases")
    def test_frozen_consumer_gives_its_messages_back(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "frozen"}, routing_key=queue.name)
        with workers.HeldMessage(kit.conn, queue.name, timeout=kit.timeout * 4) as holder:
            assert holder.body == {"n": "frozen"}, f"the child got {holder.body!r}"
            holder.freeze()
            again = kit.consume(queue, 1, timeout=self.redelivery_timeout)
            assert [m.decode() for m in again] == [{"n": "frozen"}], \
                "a frozen (SIGSTOPped) consumer kept its message"
            assert again[0].delivery_info.get("redelivered")

    @requires("cross_process", "leases", group="leases")
    def test_claim_left_by_a_foreign_host_comes_back(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": "foreign"}, routing_key=queue.name)
        # The holder runs in a PID namespace of its own when the system allows it:
        # the process id it knows itself by means nothing here, as on another host.
        with workers.HeldMessage(kit.conn, queue.name, timeout=kit.timeout * 4,
                                 foreign=True) as holder:
            assert holder.body == {"n": "foreign"}, f"the child got {holder.body!r}"
            holder.kill()
            again = kit.consume(queue, 1, timeout=self.redelivery_timeout)
            assert [m.decode() for m in again] == [{"n": "foreign"}], \
                "a claim left by a holder on another host never came back"
