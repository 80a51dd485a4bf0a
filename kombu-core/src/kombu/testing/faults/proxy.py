"""A TCP proxy on loopback that the fault scenarios put between clients and a broker.

Written here rather than taken from a library: what the scenarios need is a
few lines of asyncio (forward bytes, stop forwarding on demand without
closing anything, close everything on demand), and the test tools that do
more (toxiproxy and the like) are servers of their own to install and drive.

:meth:`TcpProxy.cut` stops forwarding in both directions and stops reading,
so both ends see a network that swallows packets: connections hang rather
than close, and only heartbeats and socket timeouts notice.  What was read
before the cut is delivered after :meth:`TcpProxy.restore`, as TCP
retransmission would.  :meth:`TcpProxy.stop` closes the listener and every
connection (what clients see when a broker restarts); :meth:`TcpProxy.start`
listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

__all__ = ("TcpProxy",)

CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``upstream``, in a thread of its own."""

    def __init__(self, upstream_host: str, upstream_port: int, port: int = 0) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = port or _free_port()
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name=f"kombu-fault-proxy-{self.port}")
        self._thread.start()
        self._flowing = self._call(self._make_event)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # -- control (any thread) ---------------------------------------------------

    def start(self) -> TcpProxy:
        """Listen (again) on :attr:`port`."""
        self._call(self._listen)
        return self

    def stop(self) -> None:
        """Close the listener and every proxied connection."""
        self._call(self._close_all)

    def cut(self) -> None:
        """Stop forwarding (and reading): connections hang."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def restore(self) -> None:
        """Forward again, starting with what was held back."""
        self._loop.call_soon_threadsafe(self._flowing.set)

    def close(self) -> None:
        """Stop the proxy and its thread for good."""
        if not self._loop.is_closed():
            with contextlib.suppress(Exception):
                self.stop()
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- the loop's side ----------------------------------------------------------

    def _call(self, fun: Any) -> Any:
        async def run() -> Any:
            result = fun()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    @staticmethod
    def _make_event() -> asyncio.Event:
        event = asyncio.Event()
        event.set()
        return event

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port,
                                                      reuse_address=True)

    async def _close_all(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            _abort(writer)
        self._writers.clear()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _abort(writer)
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        pumps = [asyncio.ensure_future(self._pump(reader, up_writer)),
                 asyncio.ensure_future(self._pump(up_reader, writer))]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for w in (writer, up_writer):
            self._writers.discard(w)
            _abort(w)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        flowing = self._flowing
        while True:
            await flowing.wait()
            data = await reader.read(CHUNK)
            if not data:
                return
            await flowing.wait()
            writer.write(data)
            await writer.drain()


def _abort(writer: asyncio.StreamWriter) -> None:
    transport = writer.transport
    if transport is not None and not transport.is_closing():
        transport.abort()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
