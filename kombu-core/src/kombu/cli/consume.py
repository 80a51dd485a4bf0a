"""``kombu consume [URL] QUEUE``: print and acknowledge each message.

A message that cannot be decoded, or whose content type is not accepted, is
handled per ``--on-error``: ``stop`` (exit status 3, the message stays),
``reject``, ``requeue`` or ``print``.  A message this command holds without
acknowledging (printed, or requeued once and back again) returns to the
queue when the command exits; the prefetch window grows by one for each, so
the messages behind it still arrive.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any

from ..exceptions import ContentDisallowed
from .broker import Broker, ConnectionLost, close_quietly
from .errors import CommandError, Exit
from .output import Reporter

__all__ = ("consume",)

#: Prefetch window without ``--count``.
PREFETCH = 100


def show(body: Any) -> str:
    """A decoded body as one printable text."""
    if isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body).decode("utf-8", "replace")
    return json.dumps(body, default=str, ensure_ascii=False)


def _raw(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode("utf-8", "surrogatepass")
    return bytes(body or b"")


def dump(message: Any, reason: str) -> str:
    """A message that was not decoded, as ``--on-error print`` shows it."""
    raw = _raw(message.body)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = repr(raw)
    headers = json.dumps(message.headers or {}, default=str, sort_keys=True)
    return "\n".join([
        f"# message not decoded: {reason}",
        f"# content-type: {message.content_type}, "
        f"content-encoding: {message.content_encoding}, {len(raw)} bytes",
        f"# headers: {headers}",
        text,
    ])


class Consumption:
    """The state of one ``kombu consume`` run, across reconnections."""

    def __init__(self, ns: argparse.Namespace, out: Reporter) -> None:
        self.ns = ns
        self.out = out
        self.received = 0
        self.held = 0
        self.requeued: set[str] = set()
        self.halt: str | None = None
        self.consumer: Any = None

    @property
    def done(self) -> bool:
        return self.ns.count is not None and self.received >= self.ns.count

    def prefetch(self) -> int:
        base = PREFETCH if self.ns.count is None else self.ns.count - self.received
        return max(base, 1) + self.held

    # -- callbacks ------------------------------------------------------------

    def on_message(self, body: Any, message: Any) -> None:
        if self.done or self.halt:  # left unacknowledged: back to the queue on close
            return
        self.out.emit(show(body))
        message.ack()
        self.received += 1

    def on_bad(self, message: Any, exc: Exception) -> None:
        if self.done or self.halt:
            return
        reason, accept_hint = self._reason(message, exc)
        where = f"a message on {self.ns.queue!r} that {reason}"
        policy = self.ns.on_error
        if policy == "stop":
            choices = ("choose --on-error reject (drop or dead-letter it), requeue (put it "
                       "back and go on) or print (show it and go on)")
            self.halt = (f"stopped at {where}. It stays on the queue: "
                         f"{accept_hint + ', or ' if accept_hint else ''}{choices}.")
        elif policy == "reject":
            message.reject(requeue=False)
            self.out.say(f"rejected {where}")
        elif policy == "requeue":
            key = self._fingerprint(message)
            if key in self.requeued:
                self._hold()
                self.out.say(f"{where} came back after being requeued: kept unacknowledged "
                             f"so it is not redelivered in a loop; it returns to the queue "
                             f"when kombu consume exits")
            else:
                message.requeue()
                self.requeued.add(key)
                self.out.say(f"requeued {where}")
        else:
            self.out.emit(dump(message, reason))
            self._hold()
            self.out.say(f"printed {where}; it stays on the queue")

    def _reason(self, message: Any, exc: Exception) -> tuple[str, str]:
        """Why ``message`` was not decoded, and the ``--accept`` that would decode it."""
        if isinstance(exc, ContentDisallowed):
            from ..serialization import registry

            ctype = message.content_type or "application/data"
            name = registry.type_to_name.get(ctype, ctype)
            accept = [*(self.ns.accept_list or ["json"]), name]
            return (f"is not accepted (content type {ctype!r}, {name})",
                    f"pass --accept {','.join(accept)} to decode it (only from senders you "
                    f"trust)")
        text = str(exc) or type(exc).__name__
        return f"cannot be decoded ({text[:1].lower()}{text[1:]})", ""

    @staticmethod
    def _fingerprint(message: Any) -> str:
        digest = hashlib.sha256(_raw(message.body))
        digest.update(f"{message.content_type}|{message.content_encoding}".encode())
        return digest.hexdigest()

    def _hold(self) -> None:
        self.held += 1
        self._qos()

    def _qos(self) -> None:
        # Channel-wide (global): RabbitMQ applies a changed per-consumer limit only to
        # consumers started afterwards, a channel-wide one at once.
        if self.consumer is not None:
            self.consumer.qos(prefetch_count=self.prefetch(), apply_global=True)

    # -- the loop -------------------------------------------------------------

    def run(self, conn: Any, announce: bool, where: str) -> int:
        from ..entity import Queue

        ns = self.ns
        self.held = 0  # what this command held went back to the queue with the old connection
        queue = Queue(ns.queue, routing_key=ns.queue)
        self.consumer = conn.Consumer([queue], callbacks=[self.on_message],
                                      on_decode_error=self.on_bad, accept=ns.accept_list)
        self._qos()
        self.consumer.consume()
        if announce and self.out.stderr_is_terminal():
            self.out.say(f"waiting for messages on {ns.queue!r} at {where} (Ctrl-C to stop)")
        while not self.done:
            try:
                conn.drain_events(timeout=ns.timeout)
            except TimeoutError:
                if ns.timeout is None:
                    continue
                self._cancel()
                raise CommandError(Exit.NO_MESSAGE,
                                   f"no message on {ns.queue!r} within {ns.timeout:g} s")
            if self.halt:
                self._cancel()
                raise CommandError(Exit.BAD_MESSAGE, self.halt)
        self._cancel()
        return Exit.OK

    def _cancel(self) -> None:
        """Stop deliveries before the connection closes (what is unacked goes back)."""
        try:
            self.consumer.cancel()
        except Exception:  # the connection is closing anyway
            pass


def consume(ns: argparse.Namespace, out: Reporter) -> int:
    """Consume QUEUE, reconnecting (announced) if the connection drops."""
    broker = Broker(ns.url, retries=ns.retries, connect_timeout=ns.connect_timeout,
                    say=out.say)
    state = Consumption(ns, out)
    first, losses, progress = True, 0, 0
    while True:
        conn = broker.connect()
        try:
            with broker.errors(conn):
                return state.run(conn, announce=first, where=broker.display)
        except ConnectionLost as lost:
            first = False
            losses = 1 if state.received > progress else losses + 1
            progress = state.received
            if losses > ns.retries:
                raise broker.fail(lost.cause, "lost the connection to") from lost
            out.say(f"lost the connection to {broker.display} ({lost}); reconnecting")
        finally:
            close_quietly(conn)
