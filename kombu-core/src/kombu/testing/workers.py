"""Child processes for the cross-process checks (spawned, so they share nothing
with the test process but the broker).  This module must not import pytest."""

from __future__ import annotations

import multiprocessing
import queue as _queue
import time
from typing import Any

from ..connection import Connection
from ..entity import Queue
from ..messaging import Consumer, Producer

__all__ = ("publish_in_process", "receive_then_get_killed", "run_processes")


def _context() -> Any:
    return multiprocessing.get_context("spawn")


def _connect(conn: Connection) -> Connection:
    return conn.clone()


def _produce(conn: Connection, queue_name: str, prefix: str, count: int) -> None:
    with _connect(conn) as c:
        producer = Producer(c.default_channel, auto_declare=False)
        for n in range(count):
            producer.publish({"id": f"{prefix}-{n}"}, routing_key=queue_name)


def _consume(conn: Connection, queue_name: str, results: Any, stop: Any) -> None:
    with _connect(conn) as c:
        def on_message(message: Any) -> None:
            results.put((message.decode()["id"], bool(message.delivery_info.get("redelivered"))))
            message.ack()

        with Consumer(c.default_channel, [Queue(queue_name)], on_message=on_message,
                      prefetch_count=10, auto_declare=False):
            while not stop.is_set():
                try:
                    c.drain_events(timeout=0.2)
                except TimeoutError:
                    pass


def _take_one(conn: Connection, queue_name: str, pipe: Any) -> None:
    c = _connect(conn)
    held: list[Any] = []
    consumer = Consumer(c.default_channel, [Queue(queue_name)], on_message=held.append,
                        auto_declare=False, prefetch_count=1)
    consumer.consume()
    while not held:
        try:
            c.drain_events(timeout=0.5)
        except TimeoutError:
            pass
    pipe.send(held[0].decode())
    while True:  # hold it, unacked, until killed
        time.sleep(1)


def _publish_one(conn: Connection, queue_name: str, body: Any) -> None:
    with _connect(conn) as c:
        Producer(c.default_channel, auto_declare=False).publish(
            body, routing_key=queue_name, delivery_mode="persistent")


def run_processes(conn: Connection, queue_name: str, producers: int, consumers: int,
                  per_producer: int, timeout: float) -> tuple[set[str], list[tuple[str, bool]]]:
    """Run producer and consumer processes on ``queue_name``; returns (sent, deliveries)."""
    ctx = _context()
    results = ctx.Queue()
    stop = ctx.Event()
    sent = {f"p{p}-{n}" for p in range(producers) for n in range(per_producer)}
    procs = [ctx.Process(target=_consume, args=(conn, queue_name, results, stop), daemon=True)
             for _ in range(consumers)]
    procs += [ctx.Process(target=_produce, args=(conn, queue_name, f"p{p}", per_producer),
                          daemon=True) for p in range(producers)]
    for proc in procs:
        proc.start()
    deliveries: list[tuple[str, bool]] = []
    deadline = time.monotonic() + timeout
    try:
        while len({i for i, _ in deliveries}) < len(sent) and time.monotonic() < deadline:
            try:
                deliveries.append(results.get(timeout=0.2))
            except _queue.Empty:
                if not any(p.is_alive() for p in procs):
                    break
        time.sleep(0.2)  # let duplicates, if any, arrive
        while True:
            try:
                deliveries.append(results.get_nowait())
            except _queue.Empty:
                break
    finally:
        stop.set()
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    failed = [p.exitcode for p in procs if p.exitcode not in (0, None)]
    assert not failed, f"child processes failed with exit codes {failed}"
    return sent, deliveries


def receive_then_get_killed(conn: Connection, queue_name: str, timeout: float) -> Any:
    """A child receives one message without acking and is SIGKILLed; returns its body."""
    ctx = _context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_take_one, args=(conn, queue_name, child), daemon=True)
    proc.start()
    try:
        body = parent.recv() if parent.poll(timeout) else None
    finally:
        proc.kill()
        proc.join()
    return body


def publish_in_process(conn: Connection, queue_name: str, body: Any, timeout: float) -> int:
    """Publish ``body`` from a child process that then exits; returns its exit code."""
    proc = _context().Process(target=_publish_one, args=(conn, queue_name, body))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
    return int(proc.exitcode or 0)
