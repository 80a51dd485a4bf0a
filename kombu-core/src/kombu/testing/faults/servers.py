"""Servers a fault scenario may restart: one the suite starts itself from a command.

A transport states how to run a private server of its broker as a command
template (``{port}`` and ``{dir}`` are filled in), e.g. Redis'::

    redis-server --port {port} --bind 127.0.0.1 --dir {dir} --save "" --appendonly yes

The suite starts it on a free port of its own, points the broker URL at it,
and stops and starts it mid-stream.  A shared server (the one other tests use)
is never restarted: without a command, the restart scenario does not run.
"""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit, urlunsplit

__all__ = ("OwnServer", "free_port", "wait_port", "with_address")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def with_address(url: str, port: int, host: str = "127.0.0.1") -> str:
    """``url`` pointing at ``host:port`` instead (user, password, path and query kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class OwnServer:
    """A broker server this suite runs from ``command`` on a port of its own."""

    def __init__(self, command: str, workdir: str, port: int | None = None) -> None:
        self.port = port or free_port()
        self.args = [a.format(port=self.port, dir=workdir) for a in shlex.split(command)]
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def available(self) -> bool:
        return shutil.which(self.args[0]) is not None

    def start(self) -> OwnServer:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError(f"{self.args[0]} did not listen on 127.0.0.1:{self.port}")
        return self

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def restart(self, down: float = 1.0) -> None:
        self.stop()
        time.sleep(down)
        self.start()
