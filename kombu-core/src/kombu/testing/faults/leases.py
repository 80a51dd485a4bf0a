"""The lease measurement: a live consumer keeps its messages however long it
works; a killed or frozen one has them back within the lease.

One *busy* child process holds messages of every target at once, unacked, and
spends ``busy`` seconds in CPU-bound Python on its main thread; the engine's
lease keeper (a thread of that process, which needs the GIL to run) must
renew meanwhile.  Its renewals are logged, so the measurement shows the
longest gap between two of them next to the renewal period.  For each target
two more children each hold a message and are SIGKILLed and SIGSTOPped; the
parent consumes their queues (and polls the busy one: a poller is who gives
lapsed leases back) and times when their messages return.  No pytest here.

    python -m kombu.testing.faults.leases CONFIG_JSON     # the busy child
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

from ...connection import Connection
from ...messaging import Consumer
from ..workers import HeldMessage
from .events import EventLog, read_events
from .runtime import Target, wait_until
from .worker import queue_of

__all__ = ("LeaseResult", "busy_main", "measure_leases")

#: What a lease may take beyond its period: the restore pass (every second) and a poll.
SLACK = 3.0


@dataclass
class LeaseResult:
    lease: float
    busy_seconds: float
    #: The busy consumer's messages never went to anyone else, and its acks landed.
    busy_kept: bool
    busy_renewals: int
    #: Longest time between two renewals of the busy consumer (the keeper got the GIL).
    max_renewal_gap: float
    interval: float
    killed_back_after: float | None
    stopped_back_after: float | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 2) if isinstance(v, float) else v)
                for k, v in asdict(self).items()}

    def holds(self) -> bool:
        limit = self.lease + SLACK
        return (self.busy_kept and self.killed_back_after is not None
                and self.stopped_back_after is not None
                and self.killed_back_after <= limit and self.stopped_back_after <= limit)


def _spin(seconds: float) -> int:
    """CPU-bound pure Python for ``seconds`` (holds the GIL but for the interpreter's switches)."""
    end = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < end:
        sum(i * i for i in range(20000))
        rounds += 1
    return rounds


def busy_main(argv: list[str] | None = None) -> int:
    """The busy child: hold ``hold`` messages per target, spin, then ack them."""
    from ...transport.virtual.leases import LeaseKeeper

    config = json.loads((argv or sys.argv[1:])[0])
    log = EventLog(config["log"], "busy")
    original = LeaseKeeper.renew_once

    def renew_once(self: LeaseKeeper) -> int:
        renewed = original(self)
        log.write("renew", self.name.replace(" ", "_"), renewed)
        return renewed

    LeaseKeeper.renew_once = renew_once  # type: ignore[method-assign]
    held: list[tuple[Connection, list[Any]]] = []
    for t in config["targets"]:
        conn = Connection(t["url"], transport_options=t["options"])
        messages: list[Any] = []
        consumer = Consumer(conn.default_channel, [queue_of(t["queue"])],
                            on_message=messages.append, prefetch_count=int(config["hold"]),
                            auto_declare=False)
        consumer.consume()
        deadline = time.monotonic() + 30
        while len(messages) < int(config["hold"]) and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
        log.write("note", "holding", t["name"], len(messages))
        held.append((conn, messages))
    log.write("note", "busy", _spin(float(config["busy"])))
    for conn, messages in held:
        for message in messages:
            message.ack()
            log.write("ack-done", message.decode()["n"])
        conn.close()
    log.close()
    return 0


def measure_leases(targets: list[Target], busy: float, workdir: str,
                   hold: int = 2) -> dict[str, LeaseResult]:
    """Run the measurement for every target (each with its lease) at once."""
    log_path = os.path.join(workdir, "leases.events")
    queues: dict[str, dict[str, str]] = {}
    for t in targets:
        queues[t.name] = {kind: f"kombu-faults.lease-{kind}.{os.urandom(5).hex()}"
                          for kind in ("busy", "killed", "stopped")}
        with t.connection() as conn:
            producer = conn.Producer(auto_declare=False)
            for kind, name in queues[t.name].items():
                queue_of(name)(conn.default_channel).declare()
                for n in range(hold if kind == "busy" else 1):
                    producer.publish({"n": n, "kind": kind}, routing_key=name,
                                     delivery_mode=2)
    config = {"log": log_path, "busy": busy, "hold": hold,
              "targets": [{"name": t.name, "url": t.url, "options": t.options,
                           "queue": queues[t.name]["busy"]} for t in targets]}
    child = subprocess.Popen([sys.executable, "-m", "kombu.testing.faults.leases",
                              json.dumps(config)], start_new_session=True)
    holders: list[HeldMessage] = []
    conns: list[Connection] = []
    try:
        if not wait_until(lambda: _holding(log_path) >= len(targets), 60):
            raise AssertionError(f"the busy consumer did not take its messages: "
                                 f"{read_events(log_path)[-5:]}")
        signalled: dict[tuple[str, str], float] = {}
        for t in targets:
            for kind in ("killed", "stopped"):
                conn = t.connection()
                conns.append(conn)
                holder = HeldMessage(conn, queues[t.name][kind], timeout=30).__enter__()
                holders.append(holder)
                if holder.body is None:
                    raise AssertionError(f"{t.name}: the {kind} consumer got no message")
                holder.kill() if kind == "killed" else holder.freeze()
                signalled[(t.name, kind)] = time.monotonic()
        back, stolen = _watch(targets, queues, signalled, child, conns)
    finally:
        for holder in holders:
            holder.__exit__(None, None, None)
        if child.poll() is None:
            child.wait(busy + 120)
        for conn in conns:
            conn.close()
    events = read_events(log_path)
    results = {}
    for t in targets:
        keeper = [e for e in events if e[1] == "renew"]
        times = _renew_times(log_path, t)
        gaps = [b - a for a, b in pairwise(times)]
        acked = sum(1 for _w, e, v in events if e == "ack-done")
        results[t.name] = LeaseResult(
            lease=float(t.lease or 0), busy_seconds=busy,
            busy_kept=not stolen[t.name] and child.returncode == 0 and acked >= hold,
            busy_renewals=len(times) if keeper else 0,
            max_renewal_gap=max(gaps) if gaps else float("inf"),
            interval=float(t.lease or 0) / 4,
            killed_back_after=back.get((t.name, "killed")),
            stopped_back_after=back.get((t.name, "stopped")))
    return results


def _holding(log_path: str) -> int:
    return sum(1 for _w, e, v in read_events(log_path) if e == "note" and v[:1] == ["holding"])


def _renew_times(log_path: str, target: Target) -> list[float]:
    """Monotonic times of the busy child's renewals that renewed something, for ``target``."""
    driver = Connection(target.url).transport.driver_name
    times = []
    with open(log_path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 6 and parts[2] == "renew" and parts[3].endswith(driver) \
                    and parts[4] != "0":
                times.append(int(parts[-1]) / 1e9)
    return times


def _watch(targets: list[Target], queues: dict[str, dict[str, str]],
           signalled: dict[tuple[str, str], float], child: subprocess.Popen[bytes],
           conns: list[Connection]) -> tuple[dict[tuple[str, str], float],
                                             dict[str, list[Any]]]:
    """Consume every queue until the busy child is done; time the returns."""
    back: dict[tuple[str, str], float] = {}
    stolen: dict[str, list[Any]] = {t.name: [] for t in targets}
    watchers = []
    for t in targets:
        conn = t.connection()
        conns.append(conn)
        kinds = {name: kind for kind, name in queues[t.name].items()}

        def on_message(body: Any, message: Any, t: Target = t,
                       kinds: dict[str, str] = kinds) -> None:
            kind = kinds[message.delivery_info["routing_key"]]
            if kind == "busy":
                stolen[t.name].append(body)
            else:
                back.setdefault((t.name, kind), time.monotonic() - signalled[(t.name, kind)])
            message.ack()

        consumer = Consumer(conn.default_channel, [queue_of(q) for q in kinds],
                            callbacks=[on_message], auto_declare=False)
        consumer.consume()
        watchers.append(conn)
    while child.poll() is None:
        for conn in watchers:
            try:
                conn.drain_events(timeout=0.2)
            except TimeoutError:
                pass
    return back, stolen


if __name__ == "__main__":
    sys.exit(busy_main())
