"""Mixins for consumer programs that survive connection loss.

A class using :class:`ConsumerMixin` sets ``self.connection`` and
implements :meth:`~ConsumerMixin.get_consumers`; :meth:`~ConsumerMixin.run`
then consumes until ``should_stop`` is set, reconnecting (with back-off)
whenever the connection is lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from itertools import count
from time import sleep
from typing import Any

from .common import ignore_errors
from .messaging import Consumer, Producer
from .utils.objects import cached_property

__all__ = ("ConsumerMixin", "ConsumerProducerMixin")

logger = logging.getLogger(__name__)


def _safe_repr(obj: Any, limit: int = 200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[:limit] + "..."


class ConsumerMixin:
    """Base for consumer programs: consume, reconnect on connection loss, repeat.

    Needs a ``connection`` attribute (a :class:`~kombu.Connection`) and
    :meth:`get_consumers`.  Hooks: :meth:`on_connection_error`,
    :meth:`on_connection_revived`, :meth:`on_consume_ready`,
    :meth:`on_consume_end`, :meth:`on_iteration`, :meth:`on_decode_error`
    and the :meth:`extra_context` context manager.
    """

    connection: Any = None
    #: How many times to retry connecting before giving up (None: forever).
    connect_max_retries: int | None = None
    #: Set to True to make :meth:`run` return after the current iteration.
    should_stop = False

    def get_consumers(self, Consumer: Any, channel: Any) -> list[Any]:
        """Return the :class:`~kombu.Consumer` objects to consume with.

        ``Consumer`` is the class with ``channel`` and ``on_decode_error``
        already filled in.
        """
        raise NotImplementedError("Subclass responsibility: implement get_consumers()")

    def on_connection_revived(self) -> None:
        """Called when the connection is (re-)established."""

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: list[Any], **kwargs: Any
    ) -> None:
        """Called when consumers are ready; ``kwargs`` are those given to :meth:`consume`."""

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        """Called after the consumers were cancelled."""

    def on_iteration(self) -> None:
        """Called before each wait for events."""

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        """A message body could not be decoded: log it and ack it (so it isn't redelivered)."""
        logger.error(
            "Can't decode message body: %r (type:%r encoding:%r raw:%s)",
            exc,
            message.content_type,
            message.content_encoding,
            _safe_repr(message.body),
        )
        message.ack()

    def on_connection_error(self, exc: Exception, interval: float) -> None:
        """The connection failed; it is retried in ``interval`` seconds."""
        logger.warning(
            "Broker connection error, trying again in %s seconds: %r.", interval, exc, exc_info=True
        )

    @contextmanager
    def extra_context(self, connection: Any, channel: Any) -> Iterator[None]:
        """Entered after the consumers are set up (override to add resources)."""
        yield

    def run(self, _tokens: int = 1, **kwargs: Any) -> None:
        """Consume until :attr:`should_stop`, reconnecting after connection errors.

        Restarts are rate limited by :attr:`restart_limit`.
        """
        restart_limit = self.restart_limit
        errors = (*self.connection_errors, *self.channel_errors)
        while not self.should_stop:
            try:
                if restart_limit.can_consume(_tokens):
                    for _ in self.consume(limit=None, **kwargs):
                        pass
                else:
                    sleep(restart_limit.expected_time(_tokens))
            except errors:
                logger.warning(
                    "Connection to broker lost, trying to re-establish connection...", exc_info=True
                )

    @contextmanager
    def consumer_context(self, **kwargs: Any) -> Iterator[tuple[Any, Any, list[Any]]]:
        """Connect, set up the consumers and :meth:`extra_context`; yields them."""
        with (
            self.Consumer() as (connection, channel, consumers),
            self.extra_context(connection, channel),
        ):
            self.on_consume_ready(connection, channel, consumers, **kwargs)
            yield connection, channel, consumers

    def consume(
        self,
        limit: int | None = None,
        timeout: float | None = None,
        safety_interval: float = 1,
        **kwargs: Any,
    ) -> Iterator[None]:
        """Consume, yielding after each event (``limit`` events, or forever).

        Waits for events ``safety_interval`` seconds at a time (checking
        :attr:`should_stop` and heartbeats in between); raises
        :class:`socket.timeout` after ``timeout`` seconds without one.
        """
        elapsed = 0.0
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            for _ in range(limit) if limit else count():
                if self.should_stop:
                    break
                self.on_iteration()
                try:
                    conn.drain_events(timeout=safety_interval)
                except TimeoutError:
                    conn.heartbeat_check()
                    elapsed += safety_interval
                    if timeout and elapsed >= timeout:
                        raise
                except OSError:
                    if not self.should_stop:
                        raise
                else:
                    yield
                    elapsed = 0.0

    def create_connection(self) -> Any:
        """A new connection like :attr:`connection` (used for each (re)connect)."""
        return self.connection.clone()

    @contextmanager
    def establish_connection(self) -> Iterator[Any]:
        """Connect (retrying with back-off, see :attr:`connect_max_retries`); yields it."""
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries)
            yield conn

    @contextmanager
    def Consumer(self) -> Iterator[tuple[Any, Any, list[Any]]]:
        """Connect and consume; yields ``(connection, channel, consumers)``."""
        with self.establish_connection() as conn:
            self.on_connection_revived()
            logger.info("Connected to %s", conn.as_uri())
            channel = conn.default_channel
            cls = partial(Consumer, channel, on_decode_error=self.on_decode_error)
            with self._consume_from(*self.get_consumers(cls, channel)) as consumers:
                yield conn, channel, consumers
            logger.debug("Consumers cancelled")
            self.on_consume_end(conn, channel)
        logger.debug("Connection closed")

    @contextmanager
    def _consume_from(self, *consumers: Any) -> Iterator[list[Any]]:
        with ExitStack() as stack:
            yield [stack.enter_context(consumer) for consumer in consumers]

    def maybe_conn_error(self, fun: Any) -> Any:
        """Call ``fun()`` ignoring connection errors (prefer :func:`kombu.common.ignore_errors`)."""
        return ignore_errors(self, fun)

    @cached_property
    def restart_limit(self) -> Any:
        """Rate limit for restarting :meth:`consume` (one per second)."""
        from .utils.limits import TokenBucket

        return TokenBucket(1)

    @cached_property
    def connection_errors(self) -> tuple[type[BaseException], ...]:
        return tuple(self.connection.connection_errors)

    @cached_property
    def channel_errors(self) -> tuple[type[BaseException], ...]:
        return tuple(self.connection.channel_errors)


class ConsumerProducerMixin(ConsumerMixin):
    """A :class:`ConsumerMixin` that also publishes, on a separate connection.

    Publishing on the consuming connection could block it when the broker
    applies flow control; :attr:`producer` uses :attr:`producer_connection`.
    """

    _producer_connection: Any = None

    def on_consume_end(self, connection: Any, channel: Any) -> None:
        if self._producer_connection is not None:
            self._producer_connection.close()
            self._producer_connection = None

    @property
    def producer(self) -> Producer:
        """A producer on :attr:`producer_connection`."""
        return Producer(self.producer_connection)

    @property
    def producer_connection(self) -> Any:
        """The connection to publish on (connected on first use)."""
        if self._producer_connection is None:
            conn = self.connection.clone()
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries)
            self._producer_connection = conn
        return self._producer_connection
