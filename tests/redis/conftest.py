"""Fixtures for the Redis transport tests: the shared Redis and private servers."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import require_service

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
#: A database of its own, so nothing here touches other groups' keys.
TEST_DB = 11


@pytest.fixture(autouse=True)
def _redis_available() -> None:
    require_service("redis", REDIS_HOST, REDIS_PORT)


@pytest.fixture
def prefix() -> Iterator[str]:
    """A global_keyprefix unique to the test; its keys are deleted afterwards."""
    import redis

    value = f"kt{uuid.uuid4().hex[:10]}:"
    yield value
    client = redis.Redis(REDIS_HOST, REDIS_PORT, db=TEST_DB)
    keys = list(client.scan_iter(match=f"{value}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def url(prefix: str) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{TEST_DB}?global_keyprefix={prefix}"


@pytest.fixture
def raw(prefix: str) -> Iterator[object]:
    """A plain redis-py client on the test database."""
    import redis

    client = redis.Redis(REDIS_HOST, REDIS_PORT, db=TEST_DB)
    yield client
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class RedisServer:
    """A private redis-server on a free port (data in ``workdir``)."""

    def __init__(self, workdir: Path, *extra: str, port: int | None = None,
                 tls: bool = False, sentinel: bool = False) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.extra = list(extra)
        self.tls = tls
        self.sentinel = sentinel
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> RedisServer:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        if self.sentinel:
            conf = self.workdir / f"sentinel-{self.port}.conf"
            conf.write_text(f"port {self.port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                            + "".join(line + "\n" for line in self.extra))
            args = ["redis-server", str(conf), "--sentinel"]
        else:
            ports = (["--port", "0", "--tls-port", str(self.port)] if self.tls
                     else ["--port", str(self.port)])
            args = ["redis-server", *ports, "--bind", "127.0.0.1",
                    "--dir", str(self.workdir), "--save", "", "--daemonize", "no",
                    *self.extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if wait:
            wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """Factory: start private redis-servers, stopped after the test."""
    servers: list[RedisServer] = []

    def start(*extra: str, port: int | None = None, wait: bool = True, tls: bool = False,
              sentinel: bool = False) -> RedisServer:
        server = RedisServer(tmp_path, *extra, port=port, tls=tls, sentinel=sentinel)
        servers.append(server)
        return server.start(wait=wait)

    yield start
    for server in servers:
        server.stop()
