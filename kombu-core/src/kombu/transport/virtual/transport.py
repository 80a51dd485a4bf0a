"""The virtual transport: connections of the emulated broker and its one drain loop.

A transport for a broker without AMQP sets :attr:`Transport.Storage` (a
:class:`~.contract.Storage` class, built as ``Storage(transport, channel)``)
and, if it can be told when work arrives, :meth:`Transport.create_waiter`.
The drain loop is the same for every such transport: deliver what channels
have buffered; else take a waiter token, let each channel fetch up to its
prefetch room; else wait.  Lapsed leases of any client are given back every
``restore_interval`` seconds by whoever polls.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from ...utils.scheduling import FairCycle
from .. import base
from .channel import Channel
from .hooks import HookStorage
from .leases import LeaseKeeper
from .routing import Router
from .state import BrokerState
from .waiters import PollingWaiter

__all__ = ("Management", "Transport")


class Management(base.Management):
    """Management of an emulated broker: reads its bindings through a channel of its own."""

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self.channel = transport.client.channel()

    def get_bindings(self) -> list[dict[str, Any]]:
        """Every binding: ``{"queue", "exchange", "routing_key", "arguments"}``."""
        return self.channel.get_bindings()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.channel.close()


class Transport(base.Transport):
    """A virtual transport: channels over a storage without AMQP.

    ``state`` (kombu's broker state) is shared by every connection of one
    transport class; in-process storages keep their bindings there.
    """

    Channel: Any = Channel
    Management = Management  # type: ignore[assignment]
    #: The storage class (``Storage(transport, channel)``); None: the channel's
    #: classic hooks (``_get``, ``_put``, ...) through :class:`~.hooks.HookStorage`.
    Storage: Any = None
    Cycle = FairCycle
    #: Seconds to sleep between unsuccessful polls (when no waiter can tell).
    polling_interval: float | None = 1.0
    #: Seconds between two restores of lapsed leases (by whoever polls).
    restore_interval = 1.0
    default_port: int | None = None
    channel_max = 65535
    driver_type = "virtual"
    driver_name = "virtual"
    #: Most messages delivered by one ``drain_events`` call.
    drain_batch_size = 100
    state: BrokerState = BrokerState()
    cycle: FairCycle | None = None
    #: The open channels of a connection (set per instance).
    channels: list[Channel] = None  # type: ignore[assignment]
    implements = base.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "state" not in cls.__dict__:
            # Each transport class gets its own broker, of its parent's state type.
            cls.state = type(cls.state)()

    def __init__(self, client: Any, **kwargs: Any) -> None:
        self.client = client
        self.channels: list[Channel] = []
        self._avail_channels: list[Channel] = []
        self.router = Router()
        self.cycle = self.Cycle(lambda channel, callback, **kw: channel.drain_events(
            callback=callback, **kw), self.channels, Empty)
        options = getattr(client, "transport_options", None) or {}
        polling_interval = options.get("polling_interval")
        if polling_interval is not None:
            self.polling_interval = float(polling_interval)
        self._avail_channel_ids = list(range(self.channel_max, 0, -1))
        self._waiter: Any = None
        self._keeper: LeaseKeeper | None = None
        self._next_restore = 0.0
        self._chan_pos = 0
        self._loop: Any = None
        self._loop_fd: int | None = None
        self._tick: Any = None
        self._drain_scheduled = False
        self._fetch_full = False

    # -- storage and waiting ----------------------------------------------------

    def create_storage(self, channel: Channel | None) -> Any:
        """The storage for ``channel`` (None: for the lease keeper)."""
        if self.Storage is None:
            if channel is None:
                raise TypeError("classic-hook transports have no leases to keep")
            if type(channel)._get is Channel._get or type(channel)._put is Channel._put:
                raise TypeError(
                    f"Transport {type(self).__name__} has no storage: set "
                    f"Transport.Storage to a kombu.transport.virtual.Storage class, or "
                    f"implement kombu's hooks (_get, _put, _size, _purge, ...) on "
                    f"{type(channel).__name__}.")
            return HookStorage(channel)
        return self.Storage(self, channel)

    def create_waiter(self) -> Any:
        """How this connection waits for work (override to wake on news)."""
        return PollingWaiter(self.polling_interval)

    @property
    def waiter(self) -> Any:
        if self._waiter is None:
            self._waiter = self.create_waiter()
        return self._waiter

    def consumers_changed(self) -> None:
        """The queues this connection consumes from changed: tell the waiter."""
        queues = {q for c in self.channels if not c.closed for q in c.consuming_queues}
        self.waiter.watch(queues)

    def _leases_held(self, channel: Channel) -> None:
        """``channel`` holds leased entries: make sure someone renews them."""
        keeper = self._keeper
        # A keeper inherited through fork() is not running in this process.
        if keeper is None or (not keeper.is_alive() and not keeper.stopped.is_set()):
            lease = channel.storage.lease_seconds
            if lease:
                self._keeper = LeaseKeeper(self, float(lease))
                self._keeper.start()

    def _maybe_restore_lapsed(self, storage: Any, force: bool = False) -> None:
        if storage.lease_seconds is None:
            return
        now = time.monotonic()
        if force or now >= self._next_restore:
            self._next_restore = now + self.restore_interval
            storage.restore_lapsed()

    def _capacity_freed(self, channel: Channel) -> None:
        """An ack or requeue made room under ``channel``'s prefetch limit."""
        if self._loop is not None and not self._drain_scheduled:
            self._drain_scheduled = True
            self._loop.call_soon(self._async_drain)

    # -- connection and channels ------------------------------------------------

    def establish_connection(self) -> Transport:
        # One channel is created up front (proves the storage answers) and
        # handed out by the next create_channel().
        self._avail_channels.append(self.create_channel(self))
        return self

    def close_connection(self, connection: Any) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()
        if self._loop is not None:
            self.unregister_from_event_loop(connection, self._loop)
        try:
            for channels in (self._avail_channels, self.channels):
                while channels:
                    try:
                        channel = channels.pop()
                    except LookupError:  # another thread emptied it
                        break
                    channel.close()
        finally:
            waiter, self._waiter = self._waiter, None
            if waiter is not None:
                waiter.close()

    def _collect(self, connection: Any) -> None:
        """Drop everything without talking to the broker (the connection is lost)."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.stop()
        for channel in [*self.channels, *self._avail_channels]:
            channel._collect()
        self.channels.clear()
        self._avail_channels.clear()
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            try:
                waiter.close()
            except Exception:
                pass

    def create_channel(self, connection: Any) -> Channel:
        try:
            return self._avail_channels.pop()
        except IndexError:
            channel = self.Channel(connection)
            self.channels.append(channel)
            return channel  # type: ignore[no-any-return]

    def close_channel(self, channel: Any) -> None:
        try:
            self._avail_channel_ids.append(channel.channel_id)
        except AttributeError:
            pass
        try:
            self.channels.remove(channel)
        except ValueError:
            pass
        if not getattr(channel, "closed", True):
            channel.close()
        if self._waiter is not None:
            self.consumers_changed()

    def verify_connection(self, connection: Any) -> bool:
        return True

    def driver_version(self) -> str:
        return "N/A"

    def on_message_ready(self, channel: Any, message: Any, queue: str) -> None:
        """A broker pushed ``message`` for ``queue`` to ``channel`` (kombu's hook)."""
        from .contract import Delivery

        channel.push(Delivery(queue, channel._next_delivery_tag(), message, False))

    # -- the drain loop ---------------------------------------------------------

    def _deliver_ready(self, limit: int) -> int:
        channels = self.channels
        n = len(channels)
        if not n:
            return 0
        start = self._chan_pos
        self._chan_pos = start + 1
        delivered = 0
        for i in range(n):
            if delivered >= limit:
                break
            try:
                channel = channels[(start + i) % n]
            except IndexError:  # a callback closed channels
                break
            if channel._buffer:
                delivered += channel.deliver_buffered(limit - delivered)
        return delivered

    def _fetch_ready(self, timeout: float = 0.0) -> int:
        fetched = 0
        self._fetch_full = False
        hungry = [(c, c.capacity()) for c in list(self.channels)]
        hungry = [(c, n) for c, n in hungry if n]
        if not hungry:
            return 0
        self._maybe_restore_lapsed(hungry[0][0].storage)
        # A storage that can block (long polling) may do so when it is the only one asked.
        block = timeout if len(hungry) == 1 and hungry[0][0].storage.blocking_fetch else 0.0
        for channel, n in hungry:
            got = channel.fetch(n, block)
            fetched += got
            if got >= n:
                self._fetch_full = True
        return fetched

    def drain_events(self, connection: Any, timeout: float | None = None,
                     **kwargs: Any) -> None:
        """Deliver ready messages to consumers; ``socket.timeout`` if none came in time.

        Delivers at least one message and up to :attr:`drain_batch_size` when
        more are ready (never beyond a channel's prefetch limit).
        ``timeout=0`` polls once; ``None`` waits for as long as it takes.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        waiter = self.waiter
        batch = self.drain_batch_size
        while True:
            if self._deliver_ready(batch):
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            token = waiter.token()
            cap = self.polling_interval or 1.0
            if self._fetch_ready(cap if remaining is None else max(0.0, min(cap, remaining))):
                continue
            if remaining is None:
                waiter.wait(token, None)
                continue
            remaining = deadline - time.monotonic()  # type: ignore[operator]
            if remaining <= 0:
                raise TimeoutError()
            waiter.wait(token, remaining)

    # -- event loop (kombu's Hub) -----------------------------------------------

    def register_with_event_loop(self, connection: Any, loop: Any) -> None:
        """Let a kombu Hub drive this connection: the waiter's socket plus a poll timer."""
        self._loop = loop
        fd = self.waiter.fileno()
        if fd is not None:
            self._loop_fd = fd
            loop.add_reader(fd, self.on_readable, connection, loop)
        self._tick = loop.call_repeatedly(self.polling_interval or 1.0, self._async_drain)
        self._drain_scheduled = True
        loop.call_soon(self._async_drain)

    def unregister_from_event_loop(self, connection: Any, loop: Any) -> None:
        if self._loop_fd is not None:
            try:
                loop.remove_reader(self._loop_fd)
            except Exception:
                pass
        tick, self._tick = self._tick, None
        cancel = getattr(tick, "cancel", None)
        if cancel is not None:
            cancel()
        self._loop = None
        self._loop_fd = None

    def on_readable(self, connection: Any, loop: Any) -> None:
        """The waiter's socket is readable: read the news and deliver what is ready."""
        self.waiter.wait(self.waiter.token(), 0)
        self._async_drain()

    def _async_drain(self) -> None:
        self._drain_scheduled = False
        if self._loop is None:
            return
        fd = self.waiter.fileno()
        if fd != self._loop_fd:
            if self._loop_fd is not None:
                self._loop.remove_reader(self._loop_fd)
            self._loop_fd = fd
            if fd is not None:
                self._loop.add_reader(fd, self.on_readable, self.client, self._loop)
        batch = self.drain_batch_size
        delivered = self._deliver_ready(batch)
        if delivered < batch and self._fetch_ready():
            delivered += self._deliver_ready(batch - delivered)
        more = self._fetch_full or any(c._buffer and c._flow_active for c in self.channels)
        if more and not self._drain_scheduled and self._loop is not None:
            self._drain_scheduled = True
            self._loop.call_soon(self._async_drain)

