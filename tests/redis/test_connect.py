"""Connecting: TLS, Sentinel, unix sockets, and clear errors when it cannot."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from kombu import Connection
from kombu.exceptions import OperationalError

TIMEOUT = 2.0
REDIS_PORT, TEST_DB = 6379, 11  # as in conftest.py


def _connect_once(url: str, **kwargs) -> tuple[BaseException, float]:
    conn = Connection(url, connect_timeout=TIMEOUT, **kwargs)
    start = time.monotonic()
    with pytest.raises(OperationalError) as info:
        conn.ensure_connection(max_retries=0)
    conn.release()
    return info.value, time.monotonic() - start


def test_wrong_password(redis_server) -> None:
    server = redis_server("--requirepass", "right-one")
    exc, elapsed = _connect_once(f"redis://:wrong@127.0.0.1:{server.port}/0")
    assert "Authentication" in str(exc) and "password" in str(exc)
    assert "wrong" not in str(exc)  # the password is never shown
    assert elapsed < TIMEOUT + 1
    exc, _ = _connect_once(f"redis://127.0.0.1:{server.port}/0")
    assert "Authentication" in str(exc) or "NOAUTH" in str(exc)
    with Connection(f"redis://:right-one@127.0.0.1:{server.port}/0") as conn:
        conn.SimpleQueue("ok").put(1)
        assert conn.SimpleQueue("ok").get(timeout=1).payload == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host() -> None:
    exc, elapsed = _connect_once(f"redis://127.0.0.1:{_closed_port()}/0")
    assert "Cannot connect to redis at 127.0.0.1" in str(exc)
    assert elapsed < TIMEOUT + 1


class _FakeServer:
    """A TCP server that answers garbage, or nothing at all."""

    def __init__(self, reply: bytes | None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.reply = reply
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.clients.append(client)
            if self.reply is not None:
                try:
                    client.recv(4096)
                    client.sendall(self.reply)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()
        for c in self.clients:
            c.close()


@pytest.mark.parametrize("reply", [b"HTTP/1.1 400 Bad Request\r\n\r\n", None],
                         ids=["garbage", "silent"])
def test_not_a_redis_server(reply: bytes | None) -> None:
    server = _FakeServer(reply)
    try:
        exc, elapsed = _connect_once(f"redis://127.0.0.1:{server.port}/0")
    finally:
        server.close()
    text = str(exc)
    assert f"127.0.0.1:{server.port}" in text
    assert ("Redis server" in text) or ("Timed out" in text) or ("Cannot connect" in text)
    assert elapsed < TIMEOUT + 1.5


def _make_cert(workdir: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    return cert, key


def test_tls(redis_server, tmp_path: Path, prefix: str) -> None:
    cert, key = _make_cert(tmp_path)
    server = redis_server("--tls-cert-file", str(cert), "--tls-key-file", str(key),
                          "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no",
                          tls=True)
    if server.proc is not None and server.proc.poll() is not None:
        pytest.skip("this redis-server was built without TLS")
    url = (f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required"
           f"&ssl_ca_certs={cert}")
    with Connection(url) as conn:
        assert conn.transport.connparams()["ssl_ca_certs"] == str(cert)
        q = conn.SimpleQueue("tls")
        q.put({"secure": True})
        m = q.get(timeout=2)
        assert m.payload == {"secure": True}
        m.ack()
    # an untrusted certificate is refused
    exc, _ = _connect_once(f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required")
    assert "certificate" in str(exc).lower() or "ssl" in str(exc).lower()
    # the ssl dict form (as for amqp) works too
    with Connection(f"redis://127.0.0.1:{server.port}/0",
                    ssl={"ca_certs": str(cert), "cert_reqs": "required"}) as conn:
        conn.SimpleQueue("tls2").put(1)


def test_sentinel(redis_server, prefix: str) -> None:
    sentinel = redis_server(f"sentinel monitor kmaster 127.0.0.1 {REDIS_PORT} 1",
                            "sentinel down-after-milliseconds kmaster 60000",
                            sentinel=True)
    url = (f"sentinel://127.0.0.1:{sentinel.port}/{TEST_DB};"
           f"sentinel://127.0.0.1:{_closed_port()}/{TEST_DB}")
    with Connection(url, transport_options={"master_name": "kmaster",
                                            "global_keyprefix": prefix}) as conn:
        q = conn.SimpleQueue("via-sentinel")
        q.put("hello")
        m = q.get(timeout=2)
        assert m.payload == "hello"
        m.ack()
    with pytest.raises(ValueError, match="master_name"):
        Connection(f"sentinel://127.0.0.1:{sentinel.port}").connect()


def test_unix_socket(redis_server, tmp_path: Path) -> None:
    path = tmp_path / "r.sock"
    redis_server("--unixsocket", str(path), "--unixsocketperm", "700")
    deadline = time.monotonic() + 5
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    for url in (f"redis+socket://{path}?virtual_host=2", f"socket://{path}"):
        with Connection(url) as conn:
            q = conn.SimpleQueue("unix")
            q.put("over a socket")
            m = q.get(timeout=2)
            assert m.payload == "over a socket"
            m.ack()


def test_password_against_a_redis_without_one(redis_server, prefix: str) -> None:
    """As kombu 5.7 (and redis-py's own client): the URL's password is not needed, so
    the connection proceeds; the shared Redis and a private one, both password-less."""
    private = redis_server()
    for port, db in ((REDIS_PORT, TEST_DB), (private.port, 0)):
        url = f"redis://:secret@127.0.0.1:{port}/{db}?global_keyprefix={prefix}"
        with Connection(url, connect_timeout=TIMEOUT) as conn:
            conn.connect()
            q = conn.SimpleQueue("pw")
            q.put("through")
            m = q.get(timeout=2)
            assert m.payload == "through"
            m.ack()
            assert conn.default_channel.client.ping()


def test_user_and_password_against_a_redis_without_one(redis_server) -> None:
    server = redis_server()
    with Connection(f"redis://default:secret@127.0.0.1:{server.port}/0") as conn:
        conn.SimpleQueue("pw2").put(1)
        assert conn.SimpleQueue("pw2").get(timeout=1).payload == 1


def test_wrong_password_on_a_unix_socket(redis_server, tmp_path: Path) -> None:
    path = tmp_path / "pw.sock"
    redis_server("--requirepass", "right-one", "--unixsocket", str(path),
                 "--unixsocketperm", "700")
    deadline = time.monotonic() + 5
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    exc, _ = _connect_once(f"redis+socket://:bad-pw1@{path}")
    assert "Authentication" in str(exc) and "bad-pw1" not in str(exc)
    with Connection(f"redis+socket://:right-one@{path}") as conn:
        conn.SimpleQueue("ok").put(1)
        assert conn.SimpleQueue("ok").get(timeout=1).payload == 1
