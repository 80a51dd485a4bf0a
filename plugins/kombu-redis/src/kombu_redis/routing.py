"""Key names, priority steps and the binding members stored in Redis."""

from __future__ import annotations

import json
import re
from bisect import bisect
from collections.abc import Sequence
from typing import Any

from kombu.transport.virtual import Binding

__all__ = (
    "binding_member",
    "bindings_from_members",
    "kombu_topic_pattern",
    "parse_member",
    "priority_step",
)

#: kombu clamps message priorities to this range before picking a step.
MIN_PRIORITY, MAX_PRIORITY = 0, 9


def priority_step(priority: Any, steps: Sequence[int]) -> int:
    """The step (queue key suffix) a message of ``priority`` goes to."""
    try:
        value = int(priority)
    except (TypeError, ValueError):
        value = 0
    value = max(MIN_PRIORITY, min(value, MAX_PRIORITY))
    index = bisect(steps, value) - 1
    return steps[index] if index >= 0 else steps[0]


def kombu_topic_pattern(binding_key: str) -> str:
    """A regex string matching routing keys (as kombu reads the pattern field).

    ``*`` is one word, ``#`` zero or more words.  Only written for kombu
    clients sharing the Redis; kombu-core recompiles from the binding key.
    """
    words: list[str] = []
    for word in binding_key.split("."):
        if not (word == "#" and words and words[-1] == "#"):
            words.append(word)
    if words == ["#"]:
        return r"^.*\Z"
    out: list[str] = []
    lead = True  # the next piece starts the key: no dot before it
    for word in words:
        if word == "#":
            out.append(r"(?:[^.]*\.)*" if lead else r"(?:\.[^.]*)*")
            continue
        piece = "[^.]*" if word == "*" else re.escape(word)
        out.append(piece if lead else r"\." + piece)
        lead = False
    return "^" + "".join(out) + r"\Z"


def binding_member(exchange_type: str, routing_key: str, arguments: Any, queue: str,
                   sep: str) -> str:
    """The set member that stores one binding."""
    if exchange_type == "topic":
        pattern = kombu_topic_pattern(routing_key)
    elif exchange_type == "headers":
        pattern = json.dumps(arguments or {}, sort_keys=True)
    else:
        pattern = ""
    return sep.join((routing_key or "", pattern, queue or ""))


def parse_member(member: str, sep: str) -> tuple[str, str, str]:
    """``(routing_key, pattern, queue)`` from a stored member."""
    rkey, _, rest = member.partition(sep)
    pattern, _, queue = rest.partition(sep)
    return rkey, pattern, queue


def bindings_from_members(members: Sequence[bytes | str], exchange: str, exchange_type: str,
                          sep: str) -> tuple[Binding, ...]:
    """The bindings stored in an exchange's binding set (topic patterns are
    recompiled from the binding key by the exchange type)."""
    rows = []
    for raw in members:
        member = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        rkey, pattern, queue = parse_member(member, sep)
        args: Any = None
        if exchange_type == "headers":
            try:
                args = json.loads(pattern) if pattern else {}
            except ValueError:
                args = {}
        rows.append(Binding(queue, exchange, rkey, args))
    rows.sort(key=lambda b: (b.queue, b.routing_key))
    return tuple(rows)
