"""What every check uses: unique entity names, cleanup, publishing and draining."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import monotonic, sleep
from typing import Any
from uuid import uuid4

from ..connection import Connection
from ..entity import Exchange, Queue
from ..messaging import Consumer, Producer

__all__ = ("Kit", "unique_name")


def unique_name(what: str) -> str:
    """A fresh entity name: ``kombu-kit.<what>.<hex>``."""
    return f"kombu-kit.{what}.{uuid4().hex[:12]}"


class Kit:
    """Per-check helper bound to one connection.

    Entities made with :meth:`queue` and :meth:`exchange` get unique names and
    are deleted by :meth:`cleanup`, as are connections from :meth:`connection`.
    """

    def __init__(self, conn: Connection, timeout: float = 5.0, quiet: float = 0.3) -> None:
        self.conn = conn
        self.timeout = timeout
        self.quiet = quiet
        self._queues: list[Queue] = []
        self._exchanges: list[Exchange] = []
        self._connections: list[Connection] = []

    # -- entities -----------------------------------------------------------

    def connection(self) -> Connection:
        """Another connection to the same broker (closed at cleanup)."""
        conn = self.conn.clone()
        self._connections.append(conn)
        return conn

    def exchange(self, type: str = "direct", **kwargs: Any) -> Exchange:
        """An undeclared exchange with a unique name."""
        exchange = Exchange(unique_name(f"x-{type}"), type=type, **kwargs)
        self._exchanges.append(exchange)
        return exchange

    def queue(self, exchange: Any = None, routing_key: str | None = None,
              name: str | None = None, **kwargs: Any) -> Queue:
        """An undeclared queue with a unique name (its routing key defaults to it)."""
        name = name or unique_name("q")
        if exchange is None and routing_key is None:
            routing_key = name
        queue = Queue(name, exchange=exchange, routing_key=routing_key or "", **kwargs)
        self._queues.append(queue)
        return queue

    def track(self, *entities: Any) -> None:
        """Delete ``entities`` (queues or exchanges made elsewhere) at cleanup."""
        for entity in entities:
            (self._exchanges if isinstance(entity, Exchange) else self._queues).append(entity)

    @property
    def channel_errors(self) -> tuple[type[BaseException], ...]:
        """What the transport raises for a channel-level failure (e.g. not found)."""
        return tuple(self.conn.channel_errors)

    def declare(self, *entities: Any, channel: Any = None) -> None:
        """Declare ``entities`` on ``channel`` (default: the kit's default channel)."""
        channel = channel or self.conn.default_channel
        for entity in entities:
            entity(channel).declare()

    def producer(self, conn: Connection | None = None, **kwargs: Any) -> Producer:
        return Producer((conn or self.conn).default_channel, **kwargs)

    def publish(self, body: Any, routing_key: str = "", exchange: Any = "",
                conn: Connection | None = None, **kwargs: Any) -> None:
        """Publish ``body`` (json unless ``serializer``/``content_type`` say otherwise)."""
        self.producer(conn, auto_declare=False).publish(
            body, routing_key=routing_key, exchange=exchange, **kwargs)

    # -- receiving ----------------------------------------------------------

    def drain(self, conn: Connection, until: Callable[[], bool],
              timeout: float | None = None) -> bool:
        """Drain events from ``conn`` until ``until()`` is true; False on timeout."""
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while not until():
            remaining = deadline - monotonic()
            if remaining <= 0:
                return False
            try:
                conn.drain_events(timeout=min(remaining, 0.25))
            except TimeoutError:
                pass
        return True

    def consume(self, queues: Any, count: int, conn: Connection | None = None,
                channel: Any = None, ack: bool = True, timeout: float | None = None,
                linger: float = 0.0, **consumer_options: Any) -> list[Any]:
        """Receive ``count`` raw messages (acking each if ``ack``), waiting ``timeout``.

        Fewer are returned when they do not arrive in time.  With ``linger``,
        keep draining that many seconds more and return any extra messages too.
        """
        conn = conn or self.conn
        got: list[Any] = []

        def on_message(message: Any) -> None:
            got.append(message)
            if ack:
                message.ack()

        queues = list(queues) if isinstance(queues, (list, tuple)) else [queues]
        consumer_options.setdefault("auto_declare", False)
        consumer = Consumer(channel or conn.default_channel, queues, on_message=on_message,
                            **consumer_options)
        with consumer:
            self.drain(conn, lambda: len(got) >= count, timeout)
            if linger:
                self.drain(conn, lambda: False, linger)
        return got

    def bodies(self, queue: Queue, count: int, **kwargs: Any) -> list[Any]:
        """Decoded bodies of ``count`` messages from ``queue`` (acked)."""
        return [m.decode() for m in self.consume(queue, count, **kwargs)]

    def size(self, queue: Queue, conn: Connection | None = None) -> int:
        """The queue's ready message count (passive ``queue_declare``)."""
        channel = (conn or self.conn).channel()
        try:
            return int(queue.bind(channel).queue_declare(passive=True)[1])
        finally:
            channel.close()

    def wait_for(self, condition: Callable[[], bool], timeout: float | None = None) -> bool:
        """Poll ``condition`` (without draining) until true; False on timeout."""
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while not condition():
            if monotonic() > deadline:
                return False
            sleep(0.02)
        return True

    def wait_size(self, queue: Queue, expected: int, timeout: float | None = None) -> int:
        """Poll :meth:`size` until it is ``expected``; returns the last size seen."""
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            size = self.size(queue)
            if size == expected or monotonic() > deadline:
                return size
            sleep(0.05)

    # -- cleanup ------------------------------------------------------------

    def cleanup(self) -> None:
        """Delete every entity made through the kit and close extra connections."""
        for conn in self._connections:
            _quietly(conn.close)
        conn = self.conn.clone()
        try:
            for entity in [*self._queues, *self._exchanges]:
                _delete(conn, entity)
        finally:
            _quietly(conn.close)

    def forget(self, entities: Iterable[Any]) -> None:
        """Do not delete ``entities`` at cleanup (a check already did)."""
        gone = {id(e) for e in entities}
        self._queues = [q for q in self._queues if id(q) not in gone]
        self._exchanges = [x for x in self._exchanges if id(x) not in gone]


def _quietly(fun: Callable[[], Any]) -> None:
    try:
        fun()
    except Exception:  # cleanup must never hide the check's own outcome
        pass


def _delete(conn: Connection, entity: Any) -> None:
    def delete() -> None:
        channel = conn.channel()
        try:
            entity.bind(channel).delete()
        finally:
            _quietly(channel.close)

    _quietly(delete)
