"""TLS against RabbitMQ itself: a self-signed CA, a TLS listener, EXTERNAL login.

The session fixture makes a CA, a server certificate (for 127.0.0.1 and
localhost) and a client certificate (CN=guest) with ``openssl``, then asks
the running broker for a TLS listener on a free port with ``rabbitmqctl eval
'rabbit_networking:start_ssl_listener(...)'``.  For EXTERNAL login it
registers RabbitMQ's bundled ``rabbit_auth_mechanism_ssl`` module and adds
EXTERNAL to the offered mechanisms (only offered to clients presenting a
certificate, so the plain listener is unaffected).  Everything is undone at
teardown; the broker is never restarted and its configuration files are
never edited, so tests running in parallel are not disturbed.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kombu import Connection, Producer, Queue

pytestmark = pytest.mark.usefixtures("rabbitmq")


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def _make_pki(folder: Path) -> dict[str, str]:
    ca_key, ca = folder / "ca.key", folder / "ca.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(ca_key), "-out", str(ca), "-subj", "/CN=kombu-amqp test CA")
    paths = {"ca": str(ca)}
    for name, cn, ext in (
        ("server", "localhost",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("client", "guest", "extendedKeyUsage=clientAuth\n"),
    ):
        key, csr, pem = (folder / f"{name}.{s}" for s in ("key", "csr", "pem"))
        extfile = folder / f"{name}.ext"
        extfile.write_text(ext)
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                 str(csr), "-subj", f"/CN={cn}")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
                 "-CAcreateserial", "-out", str(pem), "-days", "2", "-extfile", str(extfile))
        paths[name], paths[f"{name}_key"] = str(pem), str(key)
    for entry in folder.iterdir():  # the broker runs as another user
        entry.chmod(0o644)
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def tls_broker(rabbitmq: str, ctl: Any) -> Iterator[dict[str, Any]]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates", pytrace=False)
    folder = Path(tempfile.mkdtemp(prefix="kombu-amqp-tls-"))
    folder.chmod(0o755)
    pki = _make_pki(folder)
    port, strict_port = _free_port(), _free_port()
    listener = f'{{"127.0.0.1", {port}}}'
    strict = f'{{"127.0.0.1", {strict_port}}}'
    base = (f'{{certfile, "{pki["server"]}"}}, {{keyfile, "{pki["server_key"]}"}}, '
            f'{{cacertfile, "{pki["ca"]}"}}, {{verify, verify_peer}}')
    opts = f"[{base}, {{fail_if_no_peer_cert, false}}]"
    strict_opts = f"[{base}, {{fail_if_no_peer_cert, true}}]"
    out = ctl("eval", f"rabbit_networking:start_ssl_listener({listener}, {opts}, 1).")
    assert out.strip() == "ok", out
    # EXTERNAL: a listener that demands client certificates.  The mechanism
    # reads rabbit's global ssl_options to decide the setup is safe, so they
    # are made to match that listener while the tests run.
    out = ctl("eval", f"rabbit_networking:start_ssl_listener({strict}, {strict_opts}, 1).")
    assert out.strip() == "ok", out
    saved_mechs = ctl("eval", "{ok, M} = application:get_env(rabbit, auth_mechanisms), M.")
    saved_ssl = ctl("eval", "application:get_env(rabbit, ssl_options).")
    saved_from = ctl("eval", "application:get_env(rabbit, ssl_cert_login_from).")
    ctl("eval",
        "application:load(rabbitmq_auth_mechanism_ssl), "
        "application:set_env(rabbit, ssl_cert_login_from, common_name), "
        f"application:set_env(rabbit, ssl_options, {strict_opts}), "
        "rabbit_registry:register(auth_mechanism, <<\"EXTERNAL\">>, rabbit_auth_mechanism_ssl), "
        "{ok, M} = application:get_env(rabbit, auth_mechanisms), "
        "application:set_env(rabbit, auth_mechanisms, lists:usort(['EXTERNAL' | M])).")
    try:
        yield {"port": port, "strict_port": strict_port, **pki}
    finally:
        for name in (listener, strict):
            ctl("eval", f"rabbit_networking:stop_tcp_listener({name}).", check=False)
        ctl("eval", "rabbit_registry:unregister(auth_mechanism, <<\"EXTERNAL\">>).",
            check=False)
        ctl("eval", f"application:set_env(rabbit, auth_mechanisms, {saved_mechs.strip()}).",
            check=False)
        for key, saved in (("ssl_options", saved_ssl), ("ssl_cert_login_from", saved_from)):
            if saved.strip().startswith("{ok,"):
                restore = f"application:set_env(rabbit, {key}, element(2, {saved.strip()}))."
            else:
                restore = f"application:unset_env(rabbit, {key})."
            ctl("eval", restore, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _roundtrip(conn: Connection) -> None:
    name = f"tls-{uuid.uuid4().hex[:12]}"
    q = Queue(name, auto_delete=True)(conn.default_channel)
    q.declare()
    Producer(conn.default_channel).publish({"secure": True}, routing_key=name)
    for _ in range(100):
        message = q.get(no_ack=True)
        if message is not None:
            break
    assert message is not None and message.payload == {"secure": True}
    q.delete()


def test_amqps_url_with_ssl_dict(tls_broker: dict[str, Any]) -> None:
    url = f"amqps://guest:guest@127.0.0.1:{tls_broker['port']}//"
    sslopts = {"ca_certs": tls_broker["ca"], "cert_reqs": ssl.CERT_REQUIRED,
               "server_hostname": None}
    with Connection(url, ssl=sslopts, connect_timeout=5) as conn:
        conn.connect()
        sock = conn.connection.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        # server_hostname None became the host connected to, and was checked.
        assert sock.server_hostname == "127.0.0.1"
        _roundtrip(conn)


def test_ssl_context(tls_broker: dict[str, Any]) -> None:
    ctx = ssl.create_default_context(cafile=tls_broker["ca"])
    url = f"amqp://guest:guest@127.0.0.1:{tls_broker['port']}//"
    with Connection(url, ssl=ctx, connect_timeout=5) as conn:
        conn.connect()
        assert isinstance(conn.connection.sock, ssl.SSLSocket)
        assert conn.connection.sock.context is ctx
        _roundtrip(conn)


def test_untrusted_certificate_is_refused(tls_broker: dict[str, Any]) -> None:
    # ssl=True verifies against the system CAs: our test CA is not one of them.
    conn = Connection(f"amqps://guest:guest@127.0.0.1:{tls_broker['port']}//",
                      connect_timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.transport.establish_connection()


def test_wrong_hostname_is_refused(tls_broker: dict[str, Any]) -> None:
    sslopts = {"ca_certs": tls_broker["ca"], "cert_reqs": ssl.CERT_REQUIRED,
               "server_hostname": "broker.invalid"}
    conn = Connection(f"amqps://guest:guest@127.0.0.1:{tls_broker['port']}//",
                      ssl=sslopts, connect_timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError, match=r"broker\.invalid"):
        conn.transport.establish_connection()


def test_external_login_with_client_certificate(tls_broker: dict[str, Any], ctl: Any) -> None:
    name = f"kombu-amqp-external-{uuid.uuid4().hex[:8]}"
    sslopts = {"ca_certs": tls_broker["ca"], "cert_reqs": ssl.CERT_REQUIRED,
               "server_hostname": "localhost", "certfile": tls_broker["client"],
               "keyfile": tls_broker["client_key"]}
    # No password at all: the certificate is the credential.
    url = f"amqps://127.0.0.1:{tls_broker['strict_port']}//"
    with Connection(url, ssl=sslopts, login_method="EXTERNAL", connect_timeout=5,
                    transport_options={"client_properties": {"connection_name": name}}
                    ) as conn:
        conn.connect()
        _roundtrip(conn)
        rows = ctl("list_connections", "-q", "--no-table-headers", "auth_mechanism", "user",
                   "client_properties")
        mine = [row for row in rows.splitlines() if name in row]
        assert mine, rows
        assert mine[0].split("\t")[:2] == ["EXTERNAL", "guest"]

