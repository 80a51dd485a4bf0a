"""Registration, URLs and connection errors."""

from __future__ import annotations

import socket
import time

import pytest

from kombu import Connection
from kombu.plugins import FIRST_PARTY_SCHEMES


def test_schemes_and_module_are_registered() -> None:
    from kombu_mongo.transport import Transport

    from kombu.plugins import resolve_transport

    assert resolve_transport("mongodb") is Transport
    assert resolve_transport("mongodb+srv") is Transport
    assert FIRST_PARTY_SCHEMES["mongodb"] == FIRST_PARTY_SCHEMES["mongodb+srv"] == "mongo"
    import kombu.transport.mongodb as mod

    assert mod.Transport is Transport


def test_plugin_module_does_not_import_pymongo() -> None:
    import subprocess
    import sys

    code = "import sys, kombu_mongo; print('pymongo' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_database_from_path_and_options_from_query(url: str, raw) -> None:
    with Connection(url + "?messages_collection=m2&calc_queue_size=false&retryWrites=true"
                    ) as conn:
        settings = conn.transport.settings
        assert settings.database == raw.name
        assert settings.options["messages_collection"] == "m2"
        assert settings.options["calc_queue_size"] is False
        assert "retryWrites=true" in settings.uri  # pymongo's own option passes through
        q = conn.SimpleQueue("via-query")
        q.put("x")
        assert "m2" in raw.list_collection_names()
        assert q.qsize() == 0  # calc_queue_size=false: not counted
        assert q.get(timeout=5).payload == "x"
        q.close()


def test_srv_url_keeps_its_scheme() -> None:
    from kombu_mongo.options import settings_for

    conn = Connection("mongodb+srv://u:p%40ss@cluster.example.invalid/app?ttl=1")
    settings = settings_for(conn)
    assert settings.uri.startswith("mongodb+srv://u:p%40ss@cluster.example.invalid/app")
    assert settings.database == "app"
    assert settings.options["ttl"] is True
    assert "p%40ss" not in settings.where and "p@ss" not in settings.where


def test_default_database_hostname_and_port(raw) -> None:
    options = {"default_hostname": "127.0.0.1", "default_port": 27027,
               "default_database": raw.name}
    with Connection("mongodb://", transport_options=options) as conn:
        assert conn.transport.settings.database == raw.name
        q = conn.SimpleQueue("defaults")
        q.put(1)
        assert q.get(timeout=5).payload == 1
        q.close()
    assert "messages" in raw.list_collection_names()


def test_hostname_without_url(raw) -> None:
    with Connection(hostname="127.0.0.1", port=27027, virtual_host=raw.name,
                    transport="mongodb") as conn:
        assert conn.transport.settings.database == raw.name
        conn.connect()


@pytest.mark.parametrize("bad", [
    "mongodb://127.0.0.1:27027/bad.name",
    "mongodb://127.0.0.1:27027/has space",
])
def test_bad_database_name(bad: str) -> None:
    with pytest.raises(ValueError, match="not a valid database name"):
        Connection(bad).connect()


def test_bad_option_value() -> None:
    with pytest.raises(ValueError, match="calc_queue_size"):
        Connection("mongodb://127.0.0.1:27027/x?calc_queue_size=maybe").connect()


def test_unreachable_server_fails_within_connect_timeout() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    conn = Connection(f"mongodb://127.0.0.1:{port}/x", transport_options={
        "connect_timeout": 1})
    started = time.monotonic()
    with pytest.raises(conn.connection_errors) as info:
        conn.transport.establish_connection()  # one attempt
    assert time.monotonic() - started < 1 + 1.0
    started = time.monotonic()
    with pytest.raises(conn.connection_errors):
        conn.connect()  # the kernel's connect: one attempt and one retry
    assert time.monotonic() - started < 2 * (1 + 1.0) + 1.0
    assert f"127.0.0.1:{port}" in str(info.value) and "connect_timeout" in str(info.value)


def test_ssl_option_asks_for_tls() -> None:
    conn = Connection("mongodb://127.0.0.1:27027/x", transport_options={
        "ssl": True, "connect_timeout": 1})
    assert conn.transport.settings.client_kwargs["tls"] is True
    with pytest.raises(conn.connection_errors):  # the test server speaks no TLS
        conn.connect()


def test_password_is_masked(url: str) -> None:
    conn = Connection("mongodb://user:secret@127.0.0.1:27027/x")
    assert "secret" not in conn.as_uri()
    assert "secret" in conn.as_uri(include_password=True)
