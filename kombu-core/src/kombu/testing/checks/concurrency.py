"""Several producers and consumers on one queue, in threads and in processes."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from ...messaging import Consumer
from .. import workers
from ..features import requires
from ..helpers import Kit

__all__ = ("ConcurrencyChecks", "check_deliveries")


def check_deliveries(sent: set[str], deliveries: list[tuple[str, bool]]) -> None:
    """Every id in ``sent`` delivered; a second delivery only with the redelivered flag."""
    counts = Counter(ident for ident, _ in deliveries)
    missing = sent - set(counts)
    assert not missing, f"{len(missing)} of {len(sent)} messages never delivered"
    unknown = set(counts) - sent
    assert not unknown, f"delivered messages nobody sent: {sorted(unknown)[:5]}"
    seen: set[str] = set()
    for ident, redelivered in deliveries:
        assert ident not in seen or redelivered, \
            f"message {ident} delivered twice without the redelivered flag"
        seen.add(ident)


class ConcurrencyChecks:
    kit_group = "concurrency"
    producers = 3
    consumers = 3
    per_producer = 60

    def test_threads(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        sent = {f"{p}-{n}" for p in range(self.producers) for n in range(self.per_producer)}
        deliveries: list[tuple[str, bool]] = []
        lock = threading.Lock()
        done = threading.Event()
        errors: list[BaseException] = []

        def produce(p: int) -> None:
            try:
                conn = kit.connection()
                producer = conn.Producer(auto_declare=False)
                for n in range(self.per_producer):
                    producer.publish({"id": f"{p}-{n}"}, routing_key=queue.name)
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        def consume() -> None:
            try:
                conn = kit.connection()

                def on_message(message: Any) -> None:
                    with lock:
                        deliveries.append((message.decode()["id"],
                                           bool(message.delivery_info.get("redelivered"))))
                    message.ack()

                with Consumer(conn.default_channel, [queue], on_message=on_message,
                              prefetch_count=10):
                    kit.drain(conn, done.is_set, timeout=kit.timeout * 6)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=consume) for _ in range(self.consumers)]
        threads += [threading.Thread(target=produce, args=(p,)) for p in range(self.producers)]
        for thread in threads:
            thread.start()
        kit.wait_for(lambda: len({i for i, _ in deliveries}) >= len(sent) or bool(errors),
                     timeout=kit.timeout * 6)
        done.set()
        for thread in threads:
            thread.join(kit.timeout * 2)
        assert not errors, f"a producer or consumer thread failed: {errors[0]!r}"
        check_deliveries(sent, deliveries)

    @requires("cross_process", group="cross_process")
    def test_processes(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        sent, deliveries = workers.run_processes(
            kit.conn, queue.name, producers=2, consumers=2, per_producer=50,
            timeout=kit.timeout * 6)
        check_deliveries(sent, deliveries)
