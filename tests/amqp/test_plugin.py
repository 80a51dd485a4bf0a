"""The plugin's registration and the transport's static contract (no broker needed)."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import textwrap

import amqp
import pytest

import kombu_amqp
from kombu import Connection
from kombu.transport import get_transport_cls
from kombu_amqp import transport as amqp_transport


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=60)


def test_plugin_api_and_version() -> None:
    assert kombu_amqp.KOMBU_PLUGIN_API == "1.0"
    assert kombu_amqp.__version__ == "0.1.0"


@pytest.mark.parametrize("scheme", ["amqp", "pyamqp"])
def test_plain_schemes_resolve(scheme: str) -> None:
    assert get_transport_cls(scheme) is amqp_transport.Transport


@pytest.mark.parametrize("scheme", ["amqps", "pyamqps"])
def test_ssl_schemes_resolve(scheme: str) -> None:
    cls = get_transport_cls(scheme)
    assert cls is amqp_transport.SSLTransport
    assert issubclass(cls, amqp_transport.Transport)
    assert cls.default_port == 5671


def test_kombu_module_paths_answer() -> None:
    proc = _run("""
        import kombu.transport.pyamqp as a, kombu.transport.amqp as b, kombu_amqp.transport as t
        assert a is t and b is t, (a, b, t)
        from kombu.transport.pyamqp import Transport, Channel, Connection, Message
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout


def test_hook_module_imports_no_client_library() -> None:
    proc = _run("""
        import sys
        import kombu_amqp
        from kombu.plugins import get_registry
        get_registry().transports()
        assert "amqp" not in sys.modules, "kombu_amqp imported py-amqp"
        assert "kombu_amqp.transport" not in sys.modules
        print("ok")
    """)
    assert proc.returncode == 0, proc.stderr


def test_missing_py_amqp_says_what_to_install() -> None:
    proc = _run("""
        import sys
        sys.modules["amqp"] = None  # as if py-amqp were not installed
        try:
            import kombu_amqp.transport
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("imported without py-amqp")
    """)
    assert proc.returncode == 0, proc.stderr
    assert "pip install 'kombu-core[amqp]'" in proc.stdout


def test_transport_contract() -> None:
    T = amqp_transport.Transport
    assert T.default_port == 5672
    assert T.driver_type == "amqp"
    assert T.driver_name == "py-amqp"
    assert T(None).driver_version() == amqp.__version__
    assert issubclass(T.Connection, amqp.Connection)
    assert T.Connection.Channel is amqp_transport.Channel
    assert issubclass(amqp_transport.Channel, amqp.Channel)
    from kombu.message import Message
    from kombu.transport.base import StdChannel, Transport

    assert issubclass(T, Transport)
    assert issubclass(amqp_transport.Channel, StdChannel)
    assert issubclass(amqp_transport.Message, Message)


def test_implements() -> None:
    impl = amqp_transport.Transport.implements
    assert impl.exchange_type == frozenset({"direct", "topic", "fanout", "headers"})
    for key in ("asynchronous", "heartbeats", "priority", "message_ttl", "queue_ttl",
                "dead_letter", "fanout_across_connections", "cross_process", "persistent"):
        assert impl[key] is True, key


def test_error_tuples_come_from_py_amqp() -> None:
    T = amqp_transport.Transport
    assert amqp.exceptions.ConnectionError in T.connection_errors
    assert socket.error in T.connection_errors
    assert amqp.exceptions.ChannelError in T.channel_errors
    assert amqp.exceptions.RecoverableConnectionError in T.recoverable_connection_errors
    assert amqp.exceptions.MessageNacked in T.recoverable_connection_errors
    assert OSError in T.recoverable_connection_errors
    assert amqp.exceptions.RecoverableChannelError in T.recoverable_channel_errors
    # Irrecoverable errors are not retried by Connection.ensure().
    assert not issubclass(amqp.exceptions.AccessRefused, T.recoverable_connection_errors)
    assert not issubclass(amqp.exceptions.NotAllowed, T.recoverable_connection_errors)
    assert issubclass(amqp.exceptions.ConnectionForced, T.recoverable_connection_errors)


def test_connection_options_from_url_and_transport_options() -> None:
    conn = Connection(
        "amqp://alice:s3cret@broker.example:5673/jobs", heartbeat=7.5, connect_timeout=3,
        login_method="plain",
        transport_options={
            "confirm_publish": True, "read_timeout": 4, "write_timeout": 5,
            "socket_settings": {socket.TCP_NODELAY: 1}, "channel_max": 32,
            "frame_max": 65536, "client_properties": {"connection_name": "t"},
            "max_retries": 3, "interval_start": 0,
        },
    )
    opts = conn.transport.connection_options()
    assert opts["host"] == "broker.example:5673"
    assert (opts["userid"], opts["password"], opts["virtual_host"]) == ("alice", "s3cret", "jobs")
    assert opts["heartbeat"] == 8 and opts["connect_timeout"] == 3
    assert opts["login_method"] == "PLAIN"
    assert opts["confirm_publish"] is True
    assert (opts["read_timeout"], opts["write_timeout"]) == (4, 5)
    assert opts["socket_settings"] == {socket.TCP_NODELAY: 1}
    assert (opts["channel_max"], opts["frame_max"]) == (32, 65536)
    assert opts["client_properties"] == {"connection_name": "t"}
    # kombu's own retry options stay with kombu.
    assert "max_retries" not in opts and "interval_start" not in opts
    assert opts["ssl"] is False


def test_default_login_offers_amqplain_plain_external() -> None:
    opts = Connection("amqp://u:p@localhost//").transport.connection_options()
    mechanisms = [m.mechanism for m in opts["authentication"]]
    assert mechanisms == [b"AMQPLAIN", b"PLAIN", b"EXTERNAL"]


def test_defaults_and_ipv6() -> None:
    conn = Connection("amqp://")
    opts = conn.transport.connection_options()
    assert opts["host"] == "localhost:5672"
    assert (opts["userid"], opts["password"], opts["virtual_host"]) == ("guest", "guest", "/")
    conn6 = Connection(hostname="::1", transport="amqp")
    assert conn6.transport.connection_options()["host"] == "[::1]:5672"


def test_ssl_options() -> None:
    conn = Connection("amqps://guest:guest@broker.example//")
    opts = conn.transport.connection_options()
    assert conn.ssl is True  # amqps:// turns TLS on, as kombu does
    assert opts["host"] == "broker.example:5671"
    assert opts["ssl"] == {"server_hostname": "broker.example"}

    given = {"ca_certs": "/ca.pem", "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None}
    conn = Connection("amqp://broker.example//", ssl=given)
    opts = conn.transport.connection_options()
    assert opts["host"] == "broker.example:5671"  # ssl on: the TLS port
    assert opts["ssl"] == dict(given, server_hostname="broker.example")
    assert given["server_hostname"] is None  # the caller's dict is not modified

    ctx = ssl.create_default_context()
    conn = Connection("amqp://broker.example:5999//", ssl=ctx)
    opts = conn.transport.connection_options()
    assert opts["ssl"] is ctx and opts["host"] == "broker.example:5999"


def test_info_and_masked_uri() -> None:
    conn = Connection("amqp://bob:hunter2@127.0.0.1:5672/v1", heartbeat=4)
    info = conn.info()
    assert info["hostname"] == "127.0.0.1" and info["port"] == 5672
    assert info["userid"] == "bob" and info["virtual_host"] == "v1"
    assert info["heartbeat"] == 4
    assert "hunter2" not in repr(conn) and "hunter2" not in conn.as_uri()
    assert Connection("amqp://").info()["port"] == 5672
    assert Connection("amqps://").info()["port"] == 5671


def test_prepare_message_is_lean() -> None:
    chan = amqp_transport.Channel.__new__(amqp_transport.Channel)
    props = {"delivery_mode": 2, "correlation_id": "c1"}
    msg = amqp_transport.Channel.prepare_message(
        chan, b"{}", 0, "application/json", "utf-8", {}, props)
    assert isinstance(msg, amqp.Message)
    assert msg.body == b"{}"
    assert msg.properties == {"delivery_mode": 2, "correlation_id": "c1",
                              "content_type": "application/json", "content_encoding": "utf-8"}
    msg = amqp_transport.Channel.prepare_message(
        chan, b"x", 5, "text/plain", "utf-8", {"h": 1}, None)
    assert msg.properties["priority"] == 5
    assert msg.properties["application_headers"] == {"h": 1}
