"""A Redis connection spoken raw: redis-py connects, this module talks RESP2.

redis-py does the hard part of connecting (TCP, TLS, unix sockets, Sentinel
master discovery, AUTH, SELECT).  Once connected, :class:`Wire` writes
commands and parses replies itself on the same socket: the per-command cost
of redis-py's client layer (pool checkout, retry wrappers, response
callbacks) is several times the loopback round trip, and the publish and
fetch paths pay it once per message.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from redis import exceptions as rexc

__all__ = ("Script", "Wire", "pack_command")

_CRLF = b"\r\n"

#: Error reply prefixes and the redis-py exception each maps to.
_ERRORS: dict[str, type[Exception]] = {
    "NOSCRIPT": rexc.NoScriptError,
    "LOADING": rexc.BusyLoadingError,
    "READONLY": rexc.ReadOnlyError,
    "NOAUTH": rexc.AuthenticationError,
    "WRONGPASS": rexc.AuthenticationError,
    "NOPERM": getattr(rexc, "NoPermissionError", rexc.ResponseError),
    "EXECABORT": rexc.ExecAbortError,
}


def _encode(arg: Any) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):
        return arg.encode("utf-8")
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode("ascii")
    if isinstance(arg, (bytearray, memoryview)):
        return bytes(arg)
    raise rexc.DataError(f"Invalid argument type {type(arg).__name__!r} for a Redis command")


def pack_command(args: Sequence[Any]) -> bytes:
    """One command in the RESP wire format."""
    parts: list[bytes] = []
    append = parts.append
    for arg in args:
        kind = type(arg)
        if kind is str:
            data = arg.encode("utf-8")
        elif kind is bytes:
            data = arg
        else:
            data = _encode(arg)
        append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"*%d\r\n%b" % (len(parts), b"".join(parts))


def error_from_reply(text: str) -> Exception:
    """The redis-py exception for an error reply."""
    code = text.split(" ", 1)[0]
    cls = _ERRORS.get(code, rexc.ResponseError)
    return cls(text)


class Script:
    """A Lua script: run by SHA, sent again in full when Redis lost it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        import hashlib

        self.source = source
        self.sha = hashlib.sha1(source.encode("utf-8")).hexdigest()


class Wire:
    """One raw Redis connection, opened lazily by ``factory`` (a redis-py Connection).

    Not thread-safe: a channel owns its wire.  Any socket or protocol error
    closes the wire (the next call reconnects) and is raised as a redis-py
    :class:`~redis.exceptions.ConnectionError`/``TimeoutError``.
    """

    def __init__(self, factory: Callable[[], Any], socket_timeout: float | None = None,
                 describe: str = "redis") -> None:
        self._factory = factory
        self._socket_timeout = socket_timeout
        self._describe = describe
        self._conn: Any = None
        self._sock: socket.socket | None = None
        self._buf = b""
        self._pos = 0

    # -- connection ---------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        if self._sock is not None:
            return
        conn = self._factory()
        conn.connect()
        sock = conn._sock
        if sock is None:  # pragma: no cover - redis-py always sets it
            raise rexc.ConnectionError(f"Could not connect to {self._describe}")
        sock.settimeout(self._socket_timeout)
        self._conn, self._sock = conn, sock
        self._buf, self._pos = b"", 0

    def fileno(self) -> int:
        self.connect()
        assert self._sock is not None
        return self._sock.fileno()

    def close(self) -> None:
        conn, self._conn, self._sock = self._conn, None, None
        self._buf, self._pos = b"", 0
        if conn is not None:
            try:
                conn.disconnect()
            except Exception:
                pass

    # -- commands -----------------------------------------------------------

    def call(self, *args: Any) -> Any:
        """Run one command; error replies are raised."""
        reply = self.roundtrip(pack_command(args), 1)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def pipeline(self, commands: Iterable[Sequence[Any]]) -> list[Any]:
        """Send several commands in one write; return the replies (errors as values)."""
        packed = [pack_command(c) for c in commands]
        return self.roundtrip(b"".join(packed), len(packed))

    def run(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run a Lua script (EVALSHA, falling back to EVAL once Redis forgot it)."""
        reply = self.roundtrip(
            pack_command(["EVALSHA", script.sha, len(keys), *keys, *args]), 1)[0]
        if isinstance(reply, rexc.NoScriptError):
            reply = self.roundtrip(
                pack_command(["EVAL", script.source, len(keys), *keys, *args]), 1)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def plan(self, script: Script, keys: Sequence[Any], before: Sequence[Any],
             after: Sequence[Any]) -> tuple[Script, bytes, bytes, int]:
        """A script call packed once: ``run_plan`` only adds the one varying argument.

        The script gets ``ARGV = (*before, payload, *after)``.
        """
        head = pack_command(["EVALSHA", script.sha, len(keys), *keys, *before])
        head = head[head.index(_CRLF) + 2:]  # drop the "*N" header
        tail = pack_command(after)
        tail = tail[tail.index(_CRLF) + 2:]
        return script, head, tail, 3 + len(keys) + len(before) + 1 + len(after)

    def run_plan(self, plan: tuple[Script, bytes, bytes, int], payload: bytes) -> Any:
        """Run a :meth:`plan` with ``payload`` (one round trip)."""
        script, head, tail, nargs = plan
        data = b"*%d\r\n%b$%d\r\n%b\r\n%b" % (nargs, head, len(payload), payload, tail)
        reply = self.roundtrip(data, 1)[0]
        if isinstance(reply, rexc.NoScriptError):  # Redis restarted or flushed scripts
            self.call("SCRIPT", "LOAD", script.source)
            reply = self.roundtrip(data, 1)[0]
        if isinstance(reply, Exception):
            raise reply
        return reply

    def roundtrip(self, data: bytes, replies: int) -> list[Any]:
        """Write ``data`` and read ``replies`` replies."""
        if self._sock is None:
            self.connect()
        sock = self._sock
        assert sock is not None
        try:
            sock.sendall(data)
            return [self._read() for _ in range(replies)]
        except TimeoutError as exc:
            self.close()
            raise rexc.TimeoutError(f"Timeout reading from {self._describe}") from exc
        except rexc.RedisError:
            self.close()
            raise
        except (OSError, ValueError, IndexError) as exc:
            self.close()
            raise rexc.ConnectionError(
                f"Error talking to {self._describe}: {exc or type(exc).__name__}") from exc

    # -- reply parser -------------------------------------------------------

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(262144)
        if not chunk:
            raise rexc.ConnectionError(f"Connection closed by {self._describe}")
        if self._pos:
            self._buf = self._buf[self._pos:] + chunk
            self._pos = 0
        else:
            self._buf += chunk

    def _line(self) -> bytes:
        while True:
            end = self._buf.find(_CRLF, self._pos)
            if end >= 0:
                line = self._buf[self._pos:end]
                self._pos = end + 2
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n + 2:
            self._fill()
        data = self._buf[self._pos:self._pos + n]
        self._pos += n + 2
        return data

    def _read(self) -> Any:
        line = self._line()
        kind = line[:1]
        if kind == b"$":
            n = int(line[1:])
            return None if n < 0 else self._exact(n)
        if kind == b":":
            return int(line[1:])
        if kind == b"*":
            n = int(line[1:])
            return None if n < 0 else [self._read() for _ in range(n)]
        if kind == b"+":
            return line[1:]
        if kind == b"-":
            return error_from_reply(line[1:].decode("utf-8", "replace"))
        # RESP3 replies (if the connection negotiated protocol 3).
        if kind in (b"~", b">"):
            return [self._read() for _ in range(int(line[1:]))]
        if kind == b"%":
            return {self._read(): self._read() for _ in range(int(line[1:]))}
        if kind == b"_":
            return None
        if kind == b"#":
            return line[1:] == b"t"
        if kind == b",":
            return float(line[1:])
        if kind == b"(":
            return int(line[1:])
        if kind == b"=":
            return self._exact(int(line[1:]))[4:]
        raise rexc.InvalidResponse(
            f"Protocol error from {self._describe}: unexpected reply {line[:40]!r} "
            f"(is this a Redis server?)")
