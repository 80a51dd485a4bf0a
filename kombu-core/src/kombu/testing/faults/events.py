"""The event log of a fault scenario, and the counts made from it.

Every process of a scenario (producers, consumers, the final sweep) appends
one line per event to one file opened with ``O_APPEND``: a line is written
with a single ``write`` as the event happens, so the kernel keeps it even if
the process is SIGKILLed a moment later, and the file's order is the order in
which the events happened.  Events::

    pub-start N / pub-done N      before publish / after publish returned
    got N R                       a consumer's callback received N (R: redelivered flag)
    ack-start N / ack-done N      before ack / after ack returned
    bad KIND                      on_decode_error got a message that failed to decode
    note TEXT                     anything worth keeping (ready, holding, ...)

:func:`tally` turns the log into the counts the reliability table shows.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ("EventLog", "Tally", "read_events", "tally")


class EventLog:
    """Appends events to ``path`` (one ``write`` per line, safe across processes)."""

    def __init__(self, path: str | os.PathLike[str], who: str) -> None:
        self.path = str(path)
        self.who = who.replace(" ", "_")
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, event: str, *values: Any) -> None:
        line = " ".join([self.who, str(os.getpid()), event, *map(str, values),
                         str(time.monotonic_ns())]) + "\n"
        os.write(self.fd, line.encode("utf-8", "replace"))

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def read_events(path: str | os.PathLike[str]) -> list[tuple[str, str, list[str]]]:
    """``(who, event, values)`` per line, in the order they happened."""
    out = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) >= 4:
            out.append((parts[0], parts[2], parts[3:-1]))
    return out


@dataclass
class Tally:
    """What a scenario counts, from the broker's side, at its end."""

    #: Messages whose ``publish`` returned.
    published: int = 0
    #: Distinct published messages acknowledged by a consumer (or the final sweep).
    consumed: int = 0
    #: Published messages never consumed nor found on the broker at the end.
    lost: int = 0
    #: Deliveries of a message after an ``ack()`` of it had returned.
    twice: int = 0
    #: Deliveries flagged redelivered (at-least-once at work: not a failure).
    redelivered: int = 0
    #: Messages whose publish was cut short (may or may not exist: not counted lost).
    unsure: int = 0
    #: Messages the consumers could not decode, reported to ``on_decode_error``.
    bad_reported: int = 0
    #: Messages delivered more than once, whatever the reason (redeliveries included).
    copies: int = 0
    lost_ids: list[int] = field(default_factory=list)
    twice_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lost_ids"] = data["lost_ids"][:20]
        data["twice_ids"] = data["twice_ids"][:20]
        return data

    def explain(self) -> str:
        text = (f"published {self.published}, consumed {self.consumed}, lost {self.lost}, "
                f"delivered twice after an ack {self.twice}, redelivered {self.redelivered}")
        if self.lost_ids:
            text += f"; lost: {self.lost_ids[:20]}"
        if self.twice_ids:
            text += f"; twice after an ack: {self.twice_ids[:20]}"
        return text


def tally(path: str | os.PathLike[str], published: set[int] | None = None) -> Tally:
    """Count a scenario's log.  ``published``: ids known published besides the log's."""
    done: set[int] = set(published or ())
    started: set[int] = set()
    acking: set[int] = set()
    acked: set[int] = set()
    twice: Counter[int] = Counter()
    deliveries: Counter[int] = Counter()
    redelivered = bad = 0
    for _who, event, values in read_events(path):
        if event == "bad":
            bad += 1
            continue
        if not values or not values[0].lstrip("-").isdigit():
            continue
        n = int(values[0])
        if event == "pub-start":
            started.add(n)
        elif event == "pub-done":
            done.add(n)
        elif event == "got":
            deliveries[n] += 1
            if n in acked:
                twice[n] += 1
            if len(values) > 1 and values[1] == "1":
                redelivered += 1
        elif event == "ack-start":
            acking.add(n)
        elif event == "ack-done":
            acked.add(n)
    consumed = done & (acking | acked)
    lost = sorted(done - consumed)
    return Tally(published=len(done), consumed=len(consumed), lost=len(lost),
                 twice=sum(twice.values()), redelivered=redelivered,
                 unsure=len(started - done), bad_reported=bad,
                 copies=sum(c - 1 for c in deliveries.values() if c > 1), lost_ids=lost,
                 twice_ids=sorted(twice))
