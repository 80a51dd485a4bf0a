"""What a fault scenario runs on: its broker target, its workers, the final sweep.

A :class:`Target` is one broker as a scenario sees it: URL and transport
options (pointed at a server or proxy of the suite's own when it has one) and
what the transport states (cross-process, leases).  A :class:`Run` owns one
scenario's queue, event log and worker processes (threads for an in-process
broker), and counts at the end with :meth:`Run.sweep` and :meth:`Run.tally`.
No pytest here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...connection import Connection
from ...messaging import Consumer
from .events import EventLog, Tally, read_events, tally
from .worker import StreamConsumer, queue_of

__all__ = ("Run", "Target", "Worker", "wait_until")


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


@dataclass
class Target:
    """One broker as the scenarios see it."""

    name: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)
    heartbeat: float = 0.0
    #: Whether other processes share the broker (False: in-process, workers are threads).
    cross_process: bool = True
    #: The transport's lease period in seconds (None: no leases).
    lease: float | None = None

    def connection(self, **options: Any) -> Connection:
        return Connection(self.url, transport_options={**self.options, **options},
                          heartbeat=self.heartbeat, connect_timeout=4)

    def with_options(self, **options: Any) -> Target:
        return Target(self.name, self.url, {**self.options, **options}, self.heartbeat,
                      self.cross_process, self.lease)


class Worker:
    """A producer or consumer: a child process (its own session) or, in process, a thread."""

    def __init__(self, run: Run, config: dict[str, Any]) -> None:
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        if run.target.cross_process:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kombu.testing.faults.worker", json.dumps(config)],
                start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=open(config["log"] + f".{config['who']}.err", "wb"))  # noqa: SIM115
        else:
            self.thread = threading.Thread(target=self._in_thread, daemon=True)
            self.thread.start()

    def _in_thread(self) -> None:
        from .worker import produce

        log = EventLog(self.config["log"], self.config["who"])
        try:
            if self.config["role"] == "produce":
                produce(self.config, log)
            else:
                StreamConsumer(self.config, log).run()
        except BaseException as exc:  # reported by the scenario
            self.error = exc
        finally:
            log.close()

    def signal(self, sig: int) -> None:
        if self.proc is None:
            raise RuntimeError("an in-process worker cannot be signalled")
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return self.thread is not None and self.thread.is_alive()

    def wait(self, timeout: float) -> bool:
        if self.proc is not None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        assert self.thread is not None
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def failure(self) -> str | None:
        """Why the worker died on its own, or None (killed by the scenario is no failure)."""
        if self.error is not None:
            return repr(self.error)
        if self.proc is not None and self.proc.returncode not in (None, 0, -signal.SIGKILL,
                                                                  -signal.SIGTERM):
            err = self.config["log"] + f".{self.config['who']}.err"
            tail = ""
            if os.path.exists(err):
                with open(err, errors="replace") as fh:
                    tail = fh.read()[-1500:]
            return f"exit {self.proc.returncode}: {tail}"
        return None


class Run:
    """One scenario: a queue of its own, an event log, workers, and the final count."""

    def __init__(self, target: Target, workdir: str, scenario: str) -> None:
        self.target = target
        self.workdir = workdir
        self.queue = f"kombu-faults.{scenario}.{uuid.uuid4().hex[:10]}"
        self.log_path = os.path.join(workdir, f"{scenario}.events")
        self.stop_file = os.path.join(workdir, f"{scenario}.stop")
        self.log = EventLog(self.log_path, "test")
        self.workers: list[Worker] = []
        self._seq = 0
        with target.connection() as conn:
            queue_of(self.queue)(conn.default_channel).declare()

    # -- workers ------------------------------------------------------------------

    def spawn(self, role: str, target: Target | None = None, **config: Any) -> Worker:
        target = target or self.target
        self._seq += 1
        full = {"role": role, "who": f"{role}{self._seq}", "url": target.url,
                "options": target.options, "heartbeat": target.heartbeat,
                "queue": self.queue, "log": self.log_path, "stop_file": self.stop_file,
                **config}
        worker = Worker(self, full)
        self.workers.append(worker)
        return worker

    def stop_workers(self, timeout: float = 15.0) -> None:
        with open(self.stop_file, "w"):
            pass
        for worker in self.workers:
            if worker.proc is not None and worker.proc.poll() is None:
                worker.signal(signal.SIGCONT)
            if not worker.wait(timeout) and worker.proc is not None:
                worker.signal(signal.SIGKILL)
                worker.wait(5)
        os.unlink(self.stop_file)

    def failures(self) -> list[str]:
        return [f"{w.config['who']}: {f}" for w in self.workers if (f := w.failure())]

    # -- publishing and counting ----------------------------------------------------

    def publish(self, numbers: range, **kwargs: Any) -> None:
        """Publish ``{"n": n}`` for each number from this process, logging each side."""
        with self.target.connection() as conn:
            producer = conn.Producer(auto_declare=False)
            for n in numbers:
                self.log.write("pub-start", n)
                producer.publish({"n": n}, routing_key=self.queue, delivery_mode=2, **kwargs)
                self.log.write("pub-done", n)

    def tally(self) -> Tally:
        return tally(self.log_path)

    def count(self, event: str, who: str | None = None) -> int:
        return sum(1 for w, e, _ in read_events(self.log_path)
                   if e == event and (who is None or w == who))

    def all_consumed(self) -> bool:
        t = self.tally()
        return t.published > 0 and t.consumed >= t.published

    def sweep(self, timeout: float, quiet: float = 1.0) -> Tally:
        """Consume what the broker still holds until every published message is
        accounted for and the queue stayed quiet, or ``timeout``; then count."""
        log = EventLog(self.log_path, "sweep")
        last = [time.monotonic()]

        def on_message(body: Any, message: Any) -> None:
            n = body.get("n") if isinstance(body, dict) else None
            log.write("got", n, int(bool(message.delivery_info.get("redelivered"))))
            log.write("ack-start", n)
            message.ack()
            log.write("ack-done", n)
            last[0] = time.monotonic()

        def on_decode_error(message: Any, exc: Exception) -> None:
            log.write("bad", type(exc).__name__)
            message.reject(requeue=False)
            last[0] = time.monotonic()

        deadline = time.monotonic() + timeout
        try:
            with self.target.connection() as conn, \
                    Consumer(conn.default_channel, [queue_of(self.queue)],
                             callbacks=[on_message], on_decode_error=on_decode_error,
                             accept=["json"], prefetch_count=50, auto_declare=False):
                    while time.monotonic() < deadline:
                        if self.all_consumed() and time.monotonic() - last[0] > quiet:
                            break
                        try:
                            conn.drain_events(timeout=0.25)
                        except TimeoutError:
                            pass
        finally:
            log.close()
        return self.tally()

    def size(self) -> int:
        with self.target.connection() as conn:
            return int(queue_of(self.queue)(conn.default_channel).queue_declare(
                passive=True)[1])

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive() and worker.proc is not None:
                worker.signal(signal.SIGKILL)
                worker.signal(signal.SIGCONT)
                worker.wait(5)
        self.log.close()
        try:
            with self.target.connection() as conn:
                queue_of(self.queue)(conn.default_channel).delete()
        except Exception:  # the broker may be gone with a failed scenario
            pass
