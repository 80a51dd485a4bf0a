"""One Redis connection, driven through redis-py's ``Connection`` with pre-packed commands.

redis-py connects (TCP, TLS, unix sockets, Sentinel, AUTH, SELECT), parses
replies (hiredis when installed), maps error replies to its exceptions,
checks health and closes the connection on any error, ``BaseException``
included, so a reply is never left on the socket for the next command.
This module adds what the transport's hot paths need on top:

- *plans*: a script call packed once, completed with one argument (the
  message) per publish;
- *reply-less commands* (acks): written before ``ack()`` returns, each
  behind ``CLIENT REPLY SKIP`` so Redis sends nothing back.  On TCP they are
  written to a corked socket (``TCP_CORK``): the kernel holds them and sends
  them just before the connection's next command (or within 200 ms, the
  kernel's limit), so a burst of acks costs one transmission, not one each; a process
  that dies meanwhile still has them sent by its kernel as the socket closes
  (measured: 20,000 of 20,000 arrive after an abrupt exit).  No reply is ever
  left unread on the socket: a process killed with unread replies makes its
  kernel reset the connection, and Redis then drops commands it had not read
  yet (measured: 864 of 20,000 lost); with no replies outstanding the close
  is orderly and Redis runs everything it received.  Where ``CLIENT REPLY``
  is not available (some proxies) the commands are run synchronously.  They
  must be idempotent: if the connection fails while writing them they are
  written again on the next connection.

*Busy polling*: after writing a command, the reply is awaited by polling
the socket (``poll`` with a zero timeout) for up to ``busy_poll`` seconds
before redis-py's read sleeps in the kernel.  A Redis reply typically takes
20-40 us on loopback, but a thread that sleeps for it is woken tens of
microseconds later again; measured here (2 cores, 20,000 publishes): a
publish at 6,800-8,600/s sleeping, 11,800-13,300/s with 100 us of polling,
for the CPU time the wait would otherwise leave idle (0.58 -> 0.98 of a core
while publishing flat out).  Blocking reads (``BLMOVE`` and the like) poll
too but at most ``busy_poll`` before they sleep as before.

A :class:`Wire` is safe to share between threads (one lock per command).
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from time import perf_counter
from typing import Any

from redis import exceptions as rexc

from .options import DEFAULT_BUSY_POLL

__all__ = ("Plan", "Script", "ServerUnavailable", "Wire", "pack")

_CRLF = b"\r\n"
#: Linux's TCP_CORK (None elsewhere: reply-less commands are then sent at once).
_TCP_CORK: int | None = getattr(socket, "TCP_CORK", None)
_SKIP = b"*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"


#: Error replies meaning this server cannot serve us now: a master demoted to a
#: replica (``READONLY``, a Sentinel failover), a replica cut from its master
#: (``MASTERDOWN``), a full memory (``OOM``).  The connection is closed and a
#: :class:`ServerUnavailable` (a connection error) raised, so kombu reconnects
#: (and Sentinel finds the new master) instead of failing the channel.
_UNAVAILABLE_CODES = {"ReadOnlyError": "READONLY", "MasterDownError": "MASTERDOWN",
                      "OutOfMemoryError": "OOM"}
_UNAVAILABLE: tuple[type[Exception], ...] = tuple(
    cls for cls in (getattr(rexc, name, None) for name in _UNAVAILABLE_CODES)
    if cls is not None)


class ServerUnavailable(rexc.ConnectionError):
    """Redis answered that it cannot serve commands now (READONLY, MASTERDOWN, OOM)."""


def _cork(sock: Any, on: bool) -> bool:
    """Cork (or uncork) a TCP socket; False where that is not possible."""
    if _TCP_CORK is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return False
    sock.setsockopt(socket.IPPROTO_TCP, _TCP_CORK, 1 if on else 0)
    return True


class Script:
    """A Lua script: run by SHA, sent again in full when Redis lost it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()


def _encode(arg: Any) -> bytes:
    kind = type(arg)
    if kind is bytes:
        return arg  # type: ignore[no-any-return]
    if kind is str:
        return arg.encode("utf-8")  # type: ignore[no-any-return]
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode("ascii")
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg)
    if isinstance(arg, str):
        return arg.encode("utf-8")
    raise rexc.DataError(f"Invalid argument type {type(arg).__name__!r} for a Redis command")


def pack(args: Sequence[Any]) -> bytes:
    """One command in the RESP wire format."""
    parts = []
    for arg in args:
        data = _encode(arg)
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"*%d\r\n%b" % (len(parts), b"".join(parts))


class Plan:
    """A script call packed once; :meth:`Wire.run_plan` adds the message."""

    __slots__ = ("head", "nargs", "script", "tail")

    def __init__(self, script: Script, keys: Sequence[Any], before: Sequence[Any],
                 after: Sequence[Any]) -> None:
        head = pack(["EVALSHA", script.sha, len(keys), *keys, *before])
        tail = pack(after)
        self.script = script
        self.head = head[head.index(_CRLF) + 2:]  # without the "*N" count line
        self.tail = tail[tail.index(_CRLF) + 2:]
        self.nargs = 3 + len(keys) + len(before) + 1 + len(after)

    def packed(self, payload: bytes) -> bytes:
        return b"*%d\r\n%b$%d\r\n%b\r\n%b" % (self.nargs, self.head, len(payload), payload,
                                              self.tail)


class Wire:
    """One Redis connection, opened lazily by ``factory`` (returns a redis-py Connection)."""

    def __init__(self, factory: Callable[[], Any], describe: str = "redis",
                 handshake_timeout: float | None = None,
                 socket_timeout: float | None = None,
                 busy_poll: float = DEFAULT_BUSY_POLL) -> None:
        self._factory = factory
        self._busy_poll = busy_poll
        #: ``poll`` of the connected socket (None: not connected, or polling off).
        self._poll: Callable[[int], list[Any]] | None = None
        self._describe = describe
        self._handshake_timeout = handshake_timeout
        self._socket_timeout = socket_timeout
        self._conn: Any = None
        self._lock = threading.RLock()
        #: Reply-less commands being written, and those to write again.
        self._sending: list[bytes] = []
        self._resend: list[bytes] = []
        self._skip = True
        self._skip_checked_for: Any = None
        #: The socket acks were corked on (uncorked before the next command).
        self._corked: Any = None

    # -- connection -------------------------------------------------------------

    @property
    def connected(self) -> bool:
        conn = self._conn
        return conn is not None and conn._sock is not None

    def connect(self) -> None:
        with self._lock:
            if self._conn is None:
                self._conn = self._factory()
            conn: Any = self._conn
            if conn._sock is None:
                # The handshake (AUTH, SELECT, ...) must not hang on a server that
                # never answers; afterwards replies wait socket_timeout.
                conn.socket_timeout = self._handshake_timeout
                conn.connect()
                conn.socket_timeout = self._socket_timeout
                sock: Any = conn._sock  # set by connect()
                sock.settimeout(self._socket_timeout)
                self._poll = None
                if self._busy_poll > 0:
                    poller = select.poll()
                    poller.register(sock, select.POLLIN)
                    self._poll = poller.poll

    def fileno(self) -> int | None:
        conn = self._conn
        sock = getattr(conn, "_sock", None)
        return sock.fileno() if sock is not None else None

    def close(self) -> None:
        with self._lock:
            self._uncork()
            conn, self._conn = self._conn, None
            self._poll = None
            self._lost()
            if conn is not None:
                try:
                    conn.disconnect()
                except Exception:
                    pass

    def _disconnect(self) -> None:
        """Drop the socket (the next command connects again)."""
        self._poll = None
        conn = self._conn
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:
                pass

    def _uncork(self) -> None:
        """Send what is corked now (with whatever was just written)."""
        sock, self._corked = self._corked, None
        if sock is not None:
            try:
                _cork(sock, False)
            except OSError:
                pass  # a socket that failed is dealt with by the next command

    def _lost(self) -> None:
        """The connection failed: reply-less commands in flight are written again later."""
        if self._sending:
            self._resend[:0] = self._sending
            self._sending = []

    # -- reply-less commands ----------------------------------------------------

    def _skip_supported(self, conn: Any) -> bool:
        """Whether this server honours ``CLIENT REPLY SKIP`` (asked once per connection)."""
        if conn is not self._skip_checked_for:
            # Supported: PING's reply is skipped and ECHO's comes back.  Not
            # supported: an error, PONG, then the echo.
            conn.send_packed_command([_SKIP + pack(["PING"]) + pack(["ECHO", "kombu-skip"])])
            try:
                first = conn.read_response()
            except rexc.ResponseError:
                conn.read_response()
                conn.read_response()
                self._skip = False
            else:
                self._skip = first in (b"kombu-skip", "kombu-skip")
                if not self._skip:  # the PING was answered: read the echo too
                    conn.read_response()
            self._skip_checked_for = conn
        return self._skip

    def send_noreply(self, commands: Iterable[Sequence[Any]]) -> None:
        """Write idempotent ``commands`` now, asking Redis for no reply.

        When this returns they are on the socket (or, where Redis cannot skip
        replies, done).
        """
        self.send_packed_noreply([pack(c) for c in commands])

    def send_packed_noreply(self, packed: list[bytes]) -> None:
        """:meth:`send_noreply` for commands packed already (:func:`pack`)."""
        with self._lock:
            if self._resend:
                packed = [*self._resend, *packed]
                self._resend = []
            self._sending = packed
            try:
                conn = self._checked()
                if self._skip_supported(conn):
                    data = b"".join([_SKIP + p for p in packed])
                    sock = conn._sock
                    try:
                        if self._corked is not sock and _cork(sock, True):
                            self._corked = sock
                        # Straight to the socket: no health check or reply to wait for.
                        sock.sendall(data)
                    except BaseException:
                        self._corked = None
                        conn.disconnect()
                        raise
                else:
                    conn.send_packed_command([b"".join(packed)])
                    for _ in packed:
                        try:
                            conn.read_response()
                        except rexc.ResponseError:
                            pass
                self._sending = []
            except OSError as exc:
                self._lost()
                raise rexc.ConnectionError(
                    f"Error writing to {self._describe}: {exc}") from exc
            except BaseException:
                self._lost()
                raise

    def flush(self) -> None:
        """Send what is corked or left unwritten by a failed connection (a PING confirms it)."""
        with self._lock:
            if self._resend or self._corked is not None:
                if self._resend:
                    self.send_noreply(())
                self.call("PING")

    def _checked(self) -> Any:
        conn = self._conn
        if conn is None or conn._sock is None:
            self.connect()
            conn = self._conn
        return conn

    # -- commands ---------------------------------------------------------------

    def roundtrip(self, data: bytes, replies: int) -> list[Any]:
        """Write ``data`` (``replies`` packed commands) and read their replies.

        Error replies are returned as exception values, not raised.
        """
        with self._lock:
            try:
                conn = self._checked()
                if self._resend:
                    self.send_noreply(())
                if self._corked is not None:
                    self._uncork()  # the acks go first; a reply is awaited now
                conn.send_packed_command([data])
                poll = self._poll
                if poll is not None and not poll(0):
                    end = perf_counter() + self._busy_poll
                    while not poll(0) and perf_counter() < end:
                        pass
                out = []
                for _ in range(replies):
                    try:
                        out.append(conn.read_response())
                    except rexc.ResponseError as exc:
                        out.append(exc)
            except BaseException:
                # Interrupted with replies unread (a signal while polling, say): the
                # connection goes, so no later command reads this one's replies.
                self._lost()
                self._disconnect()
                raise
            for reply in out:
                if isinstance(reply, _UNAVAILABLE):
                    self.close()
                    code = _UNAVAILABLE_CODES.get(type(reply).__name__, "")
                    raise ServerUnavailable(f"{self._describe} cannot serve commands now "
                                            f"({code} {reply}); reconnect") from reply
            return out

    def call(self, *args: Any) -> Any:
        """Run one command; an error reply is raised."""
        reply = self.roundtrip(pack(args), 1)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def pipeline(self, commands: Iterable[Sequence[Any]]) -> list[Any]:
        """Send several commands in one write; return the replies (errors as values)."""
        packed = [pack(c) for c in commands]
        return self.roundtrip(b"".join(packed), len(packed))

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any],
            then: bytes = b"", then_replies: int = 0) -> Any:
        """Run a Lua script (EVALSHA, falling back to EVAL once Redis forgot it).

        ``then``: idempotent packed commands (``then_replies`` of them) sent in
        the same write; their replies are read and dropped.
        """
        reply = self.roundtrip(
            pack(["EVALSHA", script.sha, len(keys), *keys, *args]) + then, 1 + then_replies)[0]
        if isinstance(reply, rexc.NoScriptError):
            reply = self.roundtrip(pack(["EVAL", script.source, len(keys), *keys, *args]) + then,
                                   1 + then_replies)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def plan(self, script: Script, keys: Sequence[Any], before: Sequence[Any],
             after: Sequence[Any]) -> Plan:
        """A script call packed once: ``ARGV = (*before, payload, *after)``."""
        return Plan(script, keys, before, after)

    def run_plan(self, plan: Plan, payload: bytes, then: bytes = b"",
                 then_replies: int = 0) -> Any:
        """Run a :meth:`plan` with ``payload`` (one round trip; ``then`` as in :meth:`run`)."""
        data = plan.packed(payload) + then
        replies = 1 + then_replies
        reply = self.roundtrip(data, replies)[0]
        if isinstance(reply, rexc.NoScriptError):  # Redis restarted or flushed its scripts
            self.call("SCRIPT", "LOAD", plan.script.source)
            reply = self.roundtrip(data, replies)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply
