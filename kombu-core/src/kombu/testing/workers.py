"""Child processes for the cross-process checks (spawned, so they share nothing
with the test process but the broker).  This module must not import pytest."""

from __future__ import annotations

import json
import multiprocessing
import os
import queue as _queue
import shutil
import signal
import subprocess
import sys
import time
from functools import cache
from typing import Any

from ..connection import Connection
from ..entity import Queue
from ..messaging import Consumer, Producer

__all__ = ("HeldMessage", "ack_some_then_get_killed", "publish_in_process",
           "receive_then_get_killed", "run_processes")


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


def _ack_some(conn: Connection, queue_name: str, take: int, ack: int, pipe: Any) -> None:
    c = _connect(conn)
    held: list[Any] = []
    consumer = Consumer(c.default_channel, [Queue(queue_name)], on_message=held.append,
                        auto_declare=False, prefetch_count=take)
    consumer.consume()
    deadline = time.monotonic() + 30
    while len(held) < take and time.monotonic() < deadline:
        try:
            c.drain_events(timeout=0.5)
        except TimeoutError:
            pass
    acked = []
    for message in held[:ack]:
        message.ack()
        acked.append(message.decode())
    pipe.send(acked)  # the parent kills this process as soon as it reads this
    while True:
        time.sleep(1)


def ack_some_then_get_killed(conn: Connection, queue_name: str, take: int, ack: int,
                             timeout: float) -> list[Any]:
    """A child takes ``take`` messages, acks ``ack`` of them and is SIGKILLed at once.

    Returns the bodies it acked.
    """
    ctx = _context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_ack_some, args=(conn, queue_name, take, ack, child), daemon=True)
    proc.start()
    try:
        acked = parent.recv() if parent.poll(timeout) else []
    finally:
        proc.kill()
        proc.join()
    return list(acked)


@cache
def _can_unshare_pids() -> bool:
    tool = shutil.which("unshare")
    if tool is None or sys.platform != "linux":
        return False
    try:
        return subprocess.run([tool, "--pid", "--fork", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class HeldMessage:
    """A child process (its own session) that takes one message and holds it, unacked.

    ``foreign=True`` runs it in a PID namespace of its own where the system
    allows it, so its process id means nothing to this host.  :meth:`freeze`
    SIGSTOPs it, :meth:`kill` SIGKILLs it; leaving the block kills it.
    """

    def __init__(self, conn: Connection, queue_name: str, timeout: float,
                 foreign: bool = False) -> None:
        self.conn = conn
        self.queue_name = queue_name
        self.timeout = timeout
        self.foreign = foreign
        self.body: Any = None
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> HeldMessage:
        heartbeat = 2 if self.conn.transport.implements.get("heartbeats") else 0
        args = [sys.executable, "-c", "from kombu.testing.workers import _hold_main; "
                "_hold_main()", self.conn.as_uri(include_password=True),
                json.dumps(self.conn.transport_options or {}), self.queue_name, str(heartbeat)]
        if self.foreign and _can_unshare_pids():
            args = [str(shutil.which("unshare")), "--pid", "--fork", *args]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        import selectors

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if sel.select(self.timeout):
                line = self.proc.stdout.readline()
                self.body = json.loads(line) if line.strip() else None
        return self

    def _signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def freeze(self) -> None:
        self._signal(signal.SIGSTOP)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def __exit__(self, *exc_info: Any) -> None:
        self._signal(signal.SIGKILL)
        self._signal(signal.SIGCONT)
        if self.proc is not None:
            try:
                self.proc.wait(10)
            finally:
                if self.proc.stdout is not None:
                    self.proc.stdout.close()


def _hold_main() -> None:
    """Child of :class:`HeldMessage`: ``URL OPTIONS_JSON QUEUE HEARTBEAT``."""
    url, options, queue_name, heartbeat = sys.argv[1:5]
    conn = Connection(url, transport_options=json.loads(options),
                      heartbeat=float(heartbeat))
    held: list[Any] = []
    consumer = Consumer(conn.default_channel, [Queue(queue_name)], on_message=held.append,
                        auto_declare=False, prefetch_count=1)
    consumer.consume()
    deadline = time.monotonic() + 60
    while not held and time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=0.2)
        except TimeoutError:
            pass
        if float(heartbeat):
            conn.heartbeat_check()
    print(json.dumps(held[0].decode() if held else None), flush=True)
    while True:  # hold it, unacked, until frozen or killed
        time.sleep(0.2)
        if float(heartbeat):
            conn.heartbeat_check()
