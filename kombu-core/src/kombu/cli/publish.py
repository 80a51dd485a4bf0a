"""``kombu publish [URL] QUEUE BODY [BODY ...]``: one message per BODY."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .broker import Broker, ConnectionLost, close_quietly
from .errors import CommandError, Exit
from .output import Reporter

__all__ = ("publish",)


def _stdin() -> str:
    text = sys.stdin.read()
    return text[:-1] if text.endswith("\n") else text  # as $(cat) would, but one only


def _payloads(ns: argparse.Namespace) -> list[Any]:
    payloads: list[Any] = []
    for number, body in enumerate(ns.bodies, 1):
        text = _stdin() if body == "-" else body
        if ns.json:
            try:
                payloads.append(json.loads(text))
            except ValueError as exc:
                which = "standard input" if body == "-" else f"BODY {number} ({text[:40]!r})"
                raise CommandError(Exit.USAGE, f"--json given but {which} is not JSON: {exc}")
        else:
            payloads.append(text)
    return payloads


def publish(ns: argparse.Namespace, out: Reporter) -> int:
    """Publish every BODY to QUEUE, reconnecting (announced) if the connection drops."""
    from ..entity import Queue

    payloads = _payloads(ns)
    queue = Queue(ns.queue, routing_key=ns.queue)
    broker = Broker(ns.url, retries=ns.retries, connect_timeout=ns.connect_timeout,
                    say=out.say)
    sent = losses = 0
    while sent < len(payloads):
        conn = broker.connect()
        try:
            with broker.errors(conn):
                producer = conn.Producer(serializer=ns.serializer)
                while sent < len(payloads):
                    producer.publish(payloads[sent], routing_key=ns.queue, declare=[queue])
                    sent += 1
                    losses = 0
        except ConnectionLost as lost:
            losses += 1
            if losses > ns.retries:
                raise broker.fail(lost.cause, "lost the connection to") from lost
            out.say(f"lost the connection to {broker.display} ({lost}); reconnecting")
        finally:
            close_quietly(conn)
    noun = "message" if sent == 1 else "messages"
    out.say(f"published {sent} {noun} to {ns.queue!r} on {broker.display}")
    return Exit.OK
