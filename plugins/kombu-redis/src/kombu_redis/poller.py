"""Pub/Sub side of a connection: fanout deliveries and queue wake-up notices.

Publishers send a notice on ``_kombu.wake/<db>.<queue>`` when a queue goes
from empty to non-empty, so an idle consumer wakes at once instead of
polling.  Consumers still poll every ``polling_interval`` (messages pushed
by kombu clients come without a notice).
"""

from __future__ import annotations

import itertools
import logging
import time
from typing import Any

__all__ = ("Poller", "glob_escape")

logger = logging.getLogger(__name__)


def glob_escape(text: str) -> str:
    """``text`` with the Redis glob characters escaped."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class Poller:
    """The Pub/Sub connection of one transport, shared by its channels."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self._pubsub: Any = None
        self._exact: dict[str, list[tuple[Any, str]]] = {}
        self._patterns: dict[str, list[tuple[Any, str]]] = {}
        self._wakes: set[str] = set()
        self.dirty = True
        self._seq = itertools.count(1)

    @property
    def pubsub(self) -> Any:
        if self._pubsub is None:
            self._pubsub = self.transport.redis_client().pubsub()
        return self._pubsub

    @property
    def subscribed(self) -> bool:
        return bool(self._exact or self._patterns)

    def fileno(self) -> int | None:
        conn = getattr(self._pubsub, "connection", None)
        sock = getattr(conn, "_sock", None)
        return sock.fileno() if sock is not None else None

    def close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        self._exact, self._patterns = {}, {}
        self.dirty = True
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:
                logger.debug("kombu-redis: error closing pubsub", exc_info=True)

    # -- subscriptions ------------------------------------------------------

    def _wanted(self) -> tuple[dict[str, list[tuple[Any, str]]],
                               dict[str, list[tuple[Any, str]]], set[str]]:
        exact: dict[str, list[tuple[Any, str]]] = {}
        patterns: dict[str, list[tuple[Any, str]]] = {}
        wakes: set[str] = set()
        fanout = self.transport.fanout_queues
        for channel in list(self.transport.channels):
            if channel.closed:
                continue
            for queue in dict.fromkeys(channel._active_queues):
                binding = fanout.get(queue)
                if not binding:
                    name = channel._wake(queue)
                    wakes.add(name)
                    exact.setdefault(name, [])
                    continue
                for exchange, routing_key in binding:
                    topic = channel._fanout_topic(exchange)
                    every = glob_escape(topic + "/") + "*"
                    if channel._fanout_filter and routing_key not in ("", "#"):
                        pattern = glob_escape(topic + "/") + "".join(
                            "*" if c == "#" else glob_escape(c) for c in routing_key)
                        patterns.setdefault(pattern, []).append((channel, queue))
                        continue
                    exact.setdefault(topic, []).append((channel, queue))
                    if channel.fanout_patterns:
                        patterns.setdefault(every, []).append((channel, queue))
        return exact, patterns, wakes

    def update(self) -> None:
        """Subscribe to what the consumers need now; waits for Redis to confirm."""
        self.dirty = False
        exact, patterns, wakes = self._wanted()
        pubsub = self.pubsub
        pending = 0
        add = [n for n in exact if n not in self._exact]
        drop = [n for n in self._exact if n not in exact]
        padd = [p for p in patterns if p not in self._patterns]
        pdrop = [p for p in self._patterns if p not in patterns]
        self._exact, self._patterns, self._wakes = exact, patterns, wakes
        if add:
            pubsub.subscribe(*add)
            pending += len(add)
        if padd:
            pubsub.psubscribe(*padd)
            pending += len(padd)
        if drop:
            pubsub.unsubscribe(*drop)
        if pdrop:
            pubsub.punsubscribe(*pdrop)
        deadline = time.monotonic() + max(self.transport.connect_timeout, 1.0)
        while pending > 0 and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
            if message is None:
                continue
            if message["type"] in ("subscribe", "psubscribe"):
                pending -= 1
            else:
                self._handle(message)

    # -- reading ------------------------------------------------------------

    def read(self, timeout: float) -> bool:
        """Handle what arrived (waiting up to ``timeout``); True if anything did."""
        if self.dirty:
            self.update()
        if not self.subscribed:
            if timeout > 0:
                time.sleep(timeout)
            return False
        pubsub = self.pubsub
        message = pubsub.get_message(timeout=timeout)
        got = False
        while message is not None:
            got = self._handle(message) or got
            message = pubsub.get_message(timeout=0)
        return got

    def _handle(self, message: dict[str, Any]) -> bool:
        kind = message.get("type")
        if kind == "message":
            name = _text(message["channel"])
            if name in self._wakes:
                return True
            targets = self._exact.get(name)
        elif kind == "pmessage":
            targets = self._patterns.get(_text(message["pattern"]))
        else:
            return False
        if not targets:
            return False
        data = message["data"]
        if isinstance(data, str):
            data = data.encode("utf-8")
        from .channel import _Entry

        for channel, queue in targets:
            if not channel.closed:
                channel._buffer.append(_Entry(queue, f"fanout.{next(self._seq)}", data, False))
        return True


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
