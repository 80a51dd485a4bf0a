"""Batched publishing: ``with producer.batch(): producer.publish(...)``.

Inside the block, publishes made by the thread that opened it go to a batch
the transport owns (one round trip for many messages) instead of one
``basic_publish`` each.  Leaving the block normally flushes what is still
buffered; leaving it with an exception discards what was not flushed yet.
Blocks nest: only the outermost one flushes.

The transport's side of the contract, on its channel::

    channel.create_publish_batch(max_size) -> session
    session.channel                 # the channel it publishes on
    session.publish(message, exchange=..., routing_key=..., **kwargs)
    session.flush()                 # send what is buffered (also when max_size is reached)
    session.discard()               # drop what is buffered
    session.close()
    channel.supports_batch_publish  # optional; False turns batching off

and ``Transport.implements.batch_publish = True``.  A transport without it
publishes each message at once, as if there were no batch.  A flush whose
outcome is uncertain (some messages may have gone) raises
:class:`kombu.exceptions.BatchPublishError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

__all__ = ("DEFAULT_BATCH_SIZE", "PublishBatch", "batch_for", "supports_batch_publish")

#: Transport operations buffered before a batch flushes by itself.
DEFAULT_BATCH_SIZE = 1000


class _BatchState:
    """What nested batch blocks of one thread on one producer share."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.aborted = False
        self.session: Any = None
        self.immediate = False  # the channel cannot batch: publish at once

    def _session_for(self, channel: Any) -> Any:
        if self.immediate:
            return None
        if self.session is None:
            create = getattr(channel, "create_publish_batch", None)
            if create is None or not getattr(channel, "supports_batch_publish", True):
                self.immediate = True
                return None
            self.session = create(max_size=self.max_size)
        elif self.session.channel is not channel:
            raise RuntimeError(
                "The producer's channel changed while a publish batch was open "
                "(a reconnect?): leave the batch block and open a new one")
        return self.session

    def publish(self, channel: Any, message: Any, **kwargs: Any) -> Any:
        if self.aborted:
            raise RuntimeError("Cannot publish through a batch that was aborted by an error")
        session = self._session_for(channel)
        if session is None:
            return channel.basic_publish(message, **kwargs)
        return session.publish(message, **kwargs)

    def flush(self) -> None:
        if self.aborted:
            raise RuntimeError("Cannot flush a batch that was aborted by an error")
        if self.session is not None:
            self.session.flush()

    def abort(self) -> None:
        if not self.aborted:
            self.aborted = True
            if self.session is not None:
                self.session.discard()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


class PublishBatch:
    """The context manager :meth:`kombu.Producer.batch` returns."""

    def __init__(self, producer: Any, max_size: int = DEFAULT_BATCH_SIZE) -> None:
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size <= 0:
            raise ValueError(f"max_size must be a positive integer, not {max_size!r}")
        self.producer = producer
        self.max_size = max_size
        self._state: _BatchState | None = None
        self._outermost = False
        self._entered = False
        self.active = False

    def __enter__(self) -> PublishBatch:
        if self._entered:
            raise RuntimeError("A publish batch block cannot be entered twice: "
                               "call producer.batch() again for a new one")
        self._entered = self.active = True
        local = _local_of(self.producer)
        state = getattr(local, "current", None)
        if state is None:
            state = local.current = _BatchState(self.max_size)
            self._outermost = True
        self._state = state
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        state = self._state
        if state is None:
            return
        failure: BaseException | None = None
        try:
            if self._outermost:
                del _local_of(self.producer).current
            if exc_type is not None:
                try:
                    state.abort()
                except BaseException as exc:  # the block's own error wins
                    failure = exc
            if self._outermost:
                if exc_type is None and not state.aborted:
                    try:
                        state.flush()
                    except BaseException as exc:
                        failure = exc
                try:
                    state.close()
                except BaseException as exc:
                    failure = failure or exc
        finally:
            self.active = False
        if exc_type is None and failure is not None:
            raise failure

    def flush(self) -> None:
        """Send what the batch holds now (the block stays open)."""
        if not self.active or self._state is None:
            raise RuntimeError("This publish batch is not open: flush() inside its with block")
        self._state.flush()


def _local_of(producer: Any) -> threading.local:
    local = producer.__dict__.get("_batches")
    if local is None:
        import threading  # on first use: `import kombu` stays free of it

        local = producer._batches = threading.local()
    return local  # type: ignore[no-any-return]


def batch_for(producer: Any) -> _BatchState | None:
    """The batch the calling thread has open on ``producer``, if any."""
    local = producer._batches
    return None if local is None else getattr(local, "current", None)


def supports_batch_publish(producer: Any) -> bool:
    """Whether ``producer``'s transport (and channel) can defer batched publishes."""
    connection = producer.connection
    if connection is None:
        return False
    try:
        supported = bool(connection.transport.implements.batch_publish)
    except (AttributeError, KeyError):
        return False
    channel = producer._channel
    if channel is not None and hasattr(channel, "basic_publish"):
        return supported and bool(getattr(channel, "supports_batch_publish", supported))
    return supported and bool(getattr(connection.transport, "supports_batch_publish",
                                      supported))
