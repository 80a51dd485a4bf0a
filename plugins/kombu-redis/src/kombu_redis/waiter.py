"""The Pub/Sub side of a connection: queue wake-up notices and fanout broadcasts.

Publishers send a notice on ``_kombu.wake/<db>.<queue>`` when a queue goes
from empty to non-empty, so an idle consumer wakes at once instead of
polling; it still polls every ``polling_interval`` (kombu clients publish
without a notice).  Fanout messages arrive on the exchange's Pub/Sub channel
(kombu's ``/{db}.<exchange>``) and are pushed to the channels consuming a
queue bound to it: at-most-once, as in kombu.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Collection
from typing import Any

from kombu.transport.virtual import Delivery

from .storage import PUSHED_PREFIX

__all__ = ("RedisWaiter", "glob_escape")

logger = logging.getLogger(__name__)


def glob_escape(text: str) -> str:
    """``text`` with the Redis glob characters escaped."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


Targets = dict[str, list[tuple[Any, str]]]


class RedisWaiter:
    """The Pub/Sub connection of one transport, shared by its channels."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self._pubsub: Any = None
        self._exact: Targets = {}
        self._patterns: Targets = {}
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
        if self.dirty:
            self.update()
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

    # -- the Waiter protocol --------------------------------------------------

    def watch(self, queues: Collection[str]) -> None:
        self.dirty = True

    def token(self) -> Any:
        return None

    def wait(self, token: Any, timeout: float | None) -> None:
        self.read(1.0 if timeout is None else timeout)

    # -- subscriptions ----------------------------------------------------------

    def _wanted(self) -> tuple[Targets, Targets, set[str]]:
        exact: Targets = {}
        patterns: Targets = {}
        wakes: set[str] = set()
        layout = self.transport.layout
        fanout = self.transport.fanout_queues
        for channel in list(self.transport.channels):
            if channel.closed:
                continue
            for queue in channel.consuming_queues:
                binding = fanout.get(queue)
                if not binding:
                    name = layout.wake(queue)
                    wakes.add(name)
                    exact.setdefault(name, [])
                    continue
                for exchange, routing_key in binding:
                    topic = layout.fanout_topic(exchange)
                    if layout.fanout_filter and routing_key not in ("", "#"):
                        pattern = glob_escape(topic + "/") + "".join(
                            "*" if c == "#" else glob_escape(c) for c in routing_key)
                        patterns.setdefault(pattern, []).append((channel, queue))
                        continue
                    exact.setdefault(topic, []).append((channel, queue))
                    if layout.fanout_patterns:
                        every = glob_escape(topic + "/") + "*"
                        patterns.setdefault(every, []).append((channel, queue))
        return exact, patterns, wakes

    def update(self) -> None:
        """Subscribe to what the consumers need now; waits for Redis to confirm."""
        self.dirty = False
        exact, patterns, wakes = self._wanted()
        if not (exact or patterns or self._exact or self._patterns):
            return
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

    # -- reading ----------------------------------------------------------------

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
        for channel, queue in targets:
            if not channel.closed:
                channel.push(Delivery(queue, f"{PUSHED_PREFIX}{next(self._seq)}", data, False))
        return True


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
