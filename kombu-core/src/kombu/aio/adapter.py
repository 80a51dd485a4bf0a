"""The kernel's adapter: any blocking transport under :mod:`kombu.aio`, off the event loop.

Each async connection gets one worker thread that owns a blocking
:class:`kombu.Connection` and does everything that connection does:
declarations, publishes, acks and the drain loop.  The event loop only
queues work for it and awaits the answer, so nothing blocks the loop however
slow the broker.  While consumers are active the worker polls the broker
(``drain_events(timeout=0)``) and, when nothing was ready, waits up to
:data:`DRAIN_SLICE` on its job queue, so queued work starts at once;
deliveries cross to the loop in batches, one ``call_soon_threadsafe`` each.

At-least-once holds across the thread boundary: a message delivered to a
consumer that was cancelled meanwhile, or fetched by a ``basic_get`` whose
awaiting task was cancelled, is rejected with ``requeue=True`` by the worker
(it goes back to its queue, flagged redelivered) instead of being dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue as _queue
import threading
from collections.abc import Callable
from typing import Any

from ..exceptions import ConnectionError as KombuConnectionError
from .contract import ADAPTER, DeliveryCallback
from .entity import async_entity
from .message import Message, adopt

__all__ = ("AdapterChannel", "AdapterTransport", "DRAIN_SLICE")

logger = logging.getLogger(__name__)

#: Seconds the worker waits for work between two polls of an idle broker.
DRAIN_SLICE = 0.02

_STOP: Any = object()


class _Job:
    __slots__ = ("args", "fun", "future", "orphan")

    def __init__(self, fun: Callable[..., Any], args: tuple[Any, ...],
                 future: asyncio.Future[Any],
                 orphan: Callable[[Any], None] | None) -> None:
        self.fun = fun
        self.args = args
        self.future = future
        self.orphan = orphan


class _Worker(threading.Thread):
    """The thread that owns one blocking connection."""

    def __init__(self, transport: AdapterTransport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(name=f"kombu.aio-adapter-{transport.client.transport_cls}",
                         daemon=True)
        self.transport = transport
        self.loop = loop
        self.jobs: _queue.SimpleQueue[Any] = _queue.SimpleQueue()
        self.consuming = 0
        self.pending: list[tuple[AdapterChannel, str, Any]] = []
        self.finished: asyncio.Future[None] = loop.create_future()
        self.lost = False

    def submit(self, fun: Callable[..., Any], *args: Any,
               orphan: Callable[[Any], None] | None = None) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        self.jobs.put(_Job(fun, args, future, orphan))
        return future

    def stop(self) -> None:
        self.jobs.put(_STOP)

    # -- the thread -------------------------------------------------------------

    def run(self) -> None:
        try:
            while True:
                if self.consuming and not self.lost:
                    # Poll the broker; wait on the job queue (never inside the
                    # transport) so queued work starts at once.
                    delivered = self._drain()
                    try:
                        job = self.jobs.get_nowait() if delivered \
                            else self.jobs.get(timeout=DRAIN_SLICE)
                    except _queue.Empty:
                        continue
                else:
                    job = self.jobs.get()
                if job is _STOP:
                    return
                self._run(job)
                while True:  # everything queued meanwhile, before the next poll
                    try:
                        job = self.jobs.get_nowait()
                    except _queue.Empty:
                        break
                    if job is _STOP:
                        return
                    self._run(job)
        finally:
            self._flush()
            self._call(self._finish)

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    def _call(self, fun: Callable[..., Any], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fun, *args)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    def _run(self, job: _Job) -> None:
        try:
            result = job.fun(*job.args)
        except BaseException as exc:
            self._call(_settle, job, None, exc, self)
        else:
            self._call(_settle, job, result, None, self)
        self._flush()

    def _drain(self) -> bool:
        """Deliver what is ready (one poll); True if anything was."""
        client = self.transport.client
        try:
            client.drain_events(timeout=0)
        except TimeoutError:
            pass
        except self.transport.connection_errors as exc:
            self.lost = True
            self._call(self.transport._lost, exc)
        except Exception as exc:  # a channel error while delivering: tell the log, go on
            logger.warning("kombu.aio adapter: drain failed: %r", exc)
        delivered = bool(self.pending)
        self._flush()
        return delivered

    def _flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self._call(_dispatch, batch)


def _settle(job: _Job, result: Any, exc: BaseException | None, worker: _Worker) -> None:
    """On the loop: hand the worker's answer to the awaiting task (if it still waits)."""
    future = job.future
    if future.cancelled():
        if exc is None and job.orphan is not None and result is not None:
            worker.submit(job.orphan, result).add_done_callback(_retrieved)  # give it back
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # nobody awaits it: an error closing is not worth a log line


def _dispatch(batch: list[tuple[AdapterChannel, str, Any]]) -> None:
    for channel, tag, message in batch:
        channel._deliver(tag, message)


class AdapterChannel:
    """An async channel over one blocking channel, driven by the worker thread."""

    def __init__(self, transport: AdapterTransport, channel: Any) -> None:
        self.transport = transport
        self.blocking = channel
        self.channel_id = getattr(channel, "channel_id", id(channel))
        self.no_ack_consumers: set[str] = set()
        self._callbacks: dict[str, DeliveryCallback] = {}
        self._closed = False

    def adopt_entity(self, entity: Any) -> Any:
        """``entity`` bound to this channel, in its async form (see :mod:`kombu.aio.entity`)."""
        return async_entity(entity, self)

    def __repr__(self) -> str:
        return f"<kombu.aio adapter channel {self.channel_id} of {self.transport.client!r}>"

    @property
    def is_open(self) -> bool:
        return not self._closed and self.transport.connected

    def _submit(self, fun: Callable[..., Any], *args: Any,
                orphan: Callable[[Any], None] | None = None) -> asyncio.Future[Any]:
        if self._closed:
            raise KombuConnectionError(f"{self!r} is closed: open a new channel.")
        return self.transport._submit(fun, *args, orphan=orphan)

    # -- publishing -------------------------------------------------------------

    def prepare_message(self, body: Any, priority: int | None = None,
                        content_type: str | None = None, content_encoding: str | None = None,
                        headers: dict[str, Any] | None = None,
                        properties: dict[str, Any] | None = None) -> Any:
        return (body, priority, content_type, content_encoding, headers, properties)

    async def basic_publish(self, message: Any, exchange: str = "", routing_key: str = "",
                            mandatory: bool = False, immediate: bool = False,
                            **kwargs: Any) -> Any:
        blocking = self.blocking

        def publish() -> Any:
            prepared = blocking.prepare_message(*message)
            return blocking.basic_publish(prepared, exchange=exchange, routing_key=routing_key,
                                          mandatory=mandatory, immediate=immediate, **kwargs)

        return await self._submit(publish)

    # -- declarations -----------------------------------------------------------

    async def exchange_declare(self, exchange: str, type: str = "direct", durable: bool = False,
                               auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                               nowait: bool = False, passive: bool = False) -> Any:
        return await self._submit(lambda: self.blocking.exchange_declare(
            exchange=exchange, type=type, durable=durable, auto_delete=auto_delete,
            arguments=arguments, nowait=nowait, passive=passive))

    async def exchange_delete(self, exchange: str, if_unused: bool = False,
                              nowait: bool = False) -> Any:
        return await self._submit(lambda: self.blocking.exchange_delete(
            exchange=exchange, if_unused=if_unused, nowait=nowait))

    async def queue_declare(self, queue: str = "", passive: bool = False,
                            durable: bool = False, exclusive: bool = False,
                            auto_delete: bool = False, arguments: dict[str, Any] | None = None,
                            nowait: bool = False) -> tuple[str, int, int]:
        blocking = self.blocking
        if hasattr(blocking, "prepare_queue_arguments"):
            arguments = blocking.prepare_queue_arguments(arguments)
        ret = await self._submit(lambda: blocking.queue_declare(
            queue=queue, passive=passive, durable=durable, exclusive=exclusive,
            auto_delete=auto_delete, arguments=arguments, nowait=nowait))
        return (ret[0], int(ret[1]), int(ret[2])) if ret is not None else (queue, 0, 0)

    async def queue_bind(self, queue: str, exchange: str = "", routing_key: str = "",
                         arguments: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        return await self._submit(lambda: self.blocking.queue_bind(
            queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments,
            nowait=nowait))

    async def queue_unbind(self, queue: str, exchange: str = "", routing_key: str = "",
                           arguments: dict[str, Any] | None = None,
                           nowait: bool = False) -> Any:
        return await self._submit(lambda: self.blocking.queue_unbind(
            queue=queue, exchange=exchange, routing_key=routing_key, arguments=arguments,
            nowait=nowait))

    async def queue_purge(self, queue: str, nowait: bool = False) -> int:
        return int(await self._submit(
            lambda: self.blocking.queue_purge(queue=queue, nowait=nowait)) or 0)

    async def queue_delete(self, queue: str, if_unused: bool = False, if_empty: bool = False,
                           nowait: bool = False) -> int:
        return int(await self._submit(lambda: self.blocking.queue_delete(
            queue=queue, if_unused=if_unused, if_empty=if_empty, nowait=nowait)) or 0)

    # -- consuming --------------------------------------------------------------

    async def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                        apply_global: bool = False) -> None:
        await self._submit(self.blocking.basic_qos, prefetch_size, prefetch_count, apply_global)

    async def basic_consume(self, queue: str, no_ack: bool, callback: DeliveryCallback,
                            consumer_tag: str, arguments: dict[str, Any] | None = None) -> str:
        worker = self.transport._worker
        if worker is None:  # closed meanwhile (a consumer starting while close() runs)
            self.transport._submit(lambda: None)  # raises the closed-connection error
        assert worker is not None
        blocking = self.blocking

        def on_message(raw: Any, tag: str = consumer_tag) -> None:  # in the worker thread
            m2p = getattr(blocking, "message_to_python", None)
            message = m2p(raw) if m2p is not None else raw
            worker.pending.append((self, tag, message))

        def consume() -> str:
            kwargs = {"arguments": arguments} if arguments else {}
            tag = blocking.basic_consume(queue=queue, no_ack=no_ack, callback=on_message,
                                         consumer_tag=consumer_tag, **kwargs)
            worker.consuming += 1
            return str(tag or consumer_tag)

        self._callbacks[consumer_tag] = callback
        if no_ack:
            self.no_ack_consumers.add(consumer_tag)
        try:
            return str(await self._submit(consume))
        except BaseException:
            self._callbacks.pop(consumer_tag, None)
            self.no_ack_consumers.discard(consumer_tag)
            raise

    async def basic_cancel(self, consumer_tag: str) -> None:
        if self._callbacks.pop(consumer_tag, None) is None:
            return
        worker = self.transport._worker

        def cancel() -> None:
            self.blocking.basic_cancel(consumer_tag)
            if worker is not None:
                worker.consuming = max(0, worker.consuming - 1)

        try:
            await self._submit(cancel)
        finally:
            self.no_ack_consumers.discard(consumer_tag)

    def _deliver(self, tag: str, blocking_message: Any) -> None:
        """On the loop: hand a delivery to its consumer, or give it back if none waits."""
        callback = self._callbacks.get(tag)
        message = adopt(blocking_message, self)
        if callback is None or self._closed:
            if tag not in self.no_ack_consumers and self.transport.connected:
                self.transport._submit(self._give_back, message.delivery_tag).add_done_callback(
                    _retrieved)
            return
        callback(message)

    def _give_back(self, delivery_tag: Any) -> None:
        self.blocking.basic_reject(delivery_tag, requeue=True)

    async def basic_get(self, queue: str, no_ack: bool = False) -> Message | None:
        blocking = self.blocking

        def get() -> Any:
            raw = blocking.basic_get(queue=queue, no_ack=no_ack)
            if raw is None:
                return None
            m2p = getattr(blocking, "message_to_python", None)
            return m2p(raw) if m2p is not None else raw

        def orphan(message: Any) -> None:  # the awaiting task was cancelled
            if not no_ack:
                blocking.basic_reject(message.delivery_tag, requeue=True)

        got = await self._submit(get, orphan=orphan)
        return adopt(got, self) if got is not None else None

    async def basic_ack(self, delivery_tag: Any, multiple: bool = False) -> None:
        await self._submit(self.blocking.basic_ack, delivery_tag, multiple)

    async def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        await self._submit(self.blocking.basic_reject, delivery_tag, requeue)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._callbacks.clear()
        if self.transport.connected:
            worker = self.transport._worker

            def close() -> None:
                consumers = len(getattr(self.blocking, "_consumers", ()) or ())
                try:
                    self.blocking.close()
                finally:
                    if worker is not None:
                        worker.consuming = max(0, worker.consuming - consumers)

            try:
                await self.transport._submit(close)
            except self.transport.connection_errors:
                pass


class AdapterTransport:
    """:class:`~kombu.aio.contract.AsyncTransport` for any blocking transport (a worker thread)."""

    path = ADAPTER

    def __init__(self, client: Any) -> None:
        #: This connection's own blocking Connection (a clone of the settings).
        self.client = client.clone()
        self.on_lost: Callable[[BaseException], None] | None = None
        #: The :class:`kombu.aio.Connection` this transport serves.
        self.owner: Any = None
        errors = tuple(self.client.connection_errors)
        self.connection_errors: tuple[type[BaseException], ...] = (
            *errors, KombuConnectionError)
        self.channel_errors: tuple[type[BaseException], ...] = tuple(self.client.channel_errors)
        self.recoverable_connection_errors: tuple[type[BaseException], ...] = tuple(
            self.client.recoverable_connection_errors)
        self._worker: _Worker | None = None
        self._connected = False

    @property
    def connected(self) -> bool:
        return self._connected

    def _submit(self, fun: Callable[..., Any], *args: Any,
                orphan: Callable[[Any], None] | None = None) -> asyncio.Future[Any]:
        worker = self._worker
        if worker is None or not self._connected:
            raise KombuConnectionError(
                f"kombu.aio: the connection to {self.client.as_uri()} is closed or lost: "
                f"call ensure_connection() (or connect()) first.")
        return worker.submit(fun, *args, orphan=orphan)

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        worker = self._worker = _Worker(self, loop)
        worker.start()
        self._connected = True
        try:
            await worker.submit(self.client.connect)
        except BaseException:
            await self.close()
            raise

    async def channel(self) -> AdapterChannel:
        blocking = await self._submit(self.client.channel)
        return AdapterChannel(self, blocking)

    def _lost(self, exc: BaseException) -> None:
        if not self._connected:
            return
        self._connected = False
        if self.on_lost is not None:
            self.on_lost(exc)

    async def close(self) -> None:
        worker, self._worker = self._worker, None
        was_connected, self._connected = self._connected, False
        if worker is None:
            return
        client = self.client
        done = worker.submit(client.close if was_connected and not worker.lost
                             else client.collect)
        done.add_done_callback(_retrieved)
        worker.stop()
        await asyncio.shield(worker.finished)
