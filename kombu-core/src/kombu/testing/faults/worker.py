"""The producer and consumer processes of the fault scenarios.

Run as ``python -m kombu.testing.faults.worker CONFIG_JSON``; each writes its
events to the scenario's :class:`~.events.EventLog`.  The consumer is a
:class:`kombu.mixins.ConsumerMixin` (kombu's reconnecting consumer: it
re-establishes the connection and consumes again after connection errors);
the producer publishes with ``retry=True``.  No pytest here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ...connection import Connection
from ...entity import Queue
from ...mixins import ConsumerMixin
from .events import EventLog

__all__ = ("RETRY_POLICY", "StreamConsumer", "main", "produce")

#: How producers retry while the broker or the network is away (about a minute).
RETRY_POLICY = {"max_retries": 120, "interval_start": 0.1, "interval_step": 0.2,
                "interval_max": 0.5}


def connect(config: dict[str, Any]) -> Connection:
    return Connection(config["url"], transport_options=config.get("options") or {},
                      heartbeat=float(config.get("heartbeat") or 0),
                      connect_timeout=float(config.get("connect_timeout") or 4))


def queue_of(name: str) -> Queue:
    """The scenario's queue: durable, on the default exchange."""
    return Queue(name, routing_key=name, durable=True)


def produce(config: dict[str, Any], log: EventLog) -> None:
    """Publish ``count`` numbered messages from ``start``, logging each side of publish."""
    name = config["queue"]
    pause = float(config.get("pause") or 0)
    with connect(config) as conn:
        producer = conn.Producer(auto_declare=False)
        for n in range(int(config["start"]), int(config["start"]) + int(config["count"])):
            log.write("pub-start", n)
            producer.publish({"n": n}, routing_key=name, delivery_mode=2,
                             retry=bool(config.get("retry", True)), retry_policy=RETRY_POLICY)
            log.write("pub-done", n)
            if pause:
                time.sleep(pause)
    log.write("note", "producer-done")


class StreamConsumer(ConsumerMixin):
    """Acks what it gets after ``work`` seconds; after ``hold_after`` acks, holds the rest."""

    def __init__(self, config: dict[str, Any], log: EventLog) -> None:
        self.config = config
        self.log = log
        self.connection = connect(config)
        self.work = float(config.get("work") or 0)
        self.hold_after = config.get("hold_after")
        self.acked = 0
        self.held: list[Any] = []
        self.deadline = time.monotonic() + float(config.get("seconds") or 60)
        self.stop_file = config.get("stop_file")

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        return [Consumer([queue_of(self.config["queue"])], callbacks=[self.on_message],
                         prefetch_count=int(self.config.get("prefetch") or 10),
                         accept=self.config.get("accept") or ["json"], auto_declare=False)]

    def on_message(self, body: Any, message: Any) -> None:
        n = body.get("n") if isinstance(body, dict) else None
        self.log.write("got", n, int(bool(message.delivery_info.get("redelivered"))))
        if self.hold_after is not None and self.acked >= int(self.hold_after):
            self.held.append(message)
            self.log.write("note", "holding", len(self.held))
            return
        if self.work:
            time.sleep(self.work)
        self.log.write("ack-start", n)
        message.ack()
        self.log.write("ack-done", n)
        self.acked += 1

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        self.log.write("bad", type(exc).__name__)
        message.reject(requeue=False)

    def on_iteration(self) -> None:
        if time.monotonic() > self.deadline or (
                self.stop_file and os.path.exists(self.stop_file)):
            self.should_stop = True

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        self.log.write("note", "connection-error", type(exc).__name__)

    def on_connection_revived(self) -> None:
        self.log.write("note", "connected")


def main(argv: list[str] | None = None) -> int:
    config = json.loads((argv or sys.argv[1:])[0])
    log = EventLog(config["log"], config.get("who") or config["role"])
    try:
        if config["role"] == "produce":
            produce(config, log)
        else:
            StreamConsumer(config, log).run()
    finally:
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
