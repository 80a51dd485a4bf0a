"""The plugin: registration, kombu's module path, URLs, options, connection errors."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from kombu import Connection
from kombu.transport import get_transport_cls


def test_schemes_and_module_path() -> None:
    from kombu_zk import transport

    assert get_transport_cls("zookeeper") is transport.Transport
    assert get_transport_cls("zk") is transport.Transport
    from kombu.transport.zookeeper import Channel, Transport

    assert Transport is transport.Transport and Channel is transport.Channel
    assert Transport.driver_type == "zookeeper" and Transport.driver_name == "kazoo"
    assert Transport.default_port == 2181 and Transport.polling_interval == 1.0
    assert Transport.implements.leases and Transport.implements.priority


def test_plugin_module_imports_no_client_library() -> None:
    code = ("import sys, kombu_zk; assert kombu_zk.KOMBU_PLUGIN_API == '1.0'; "
            "assert 'kazoo' not in sys.modules, 'kazoo imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_several_hosts_and_chroot(root: str, raw: Any) -> None:
    url = f"zk://127.0.0.1:2181,localhost/{root}"
    with Connection(url, transport_options={"randomize_hosts": False}) as conn:
        assert conn.transport.hosts == "127.0.0.1:2181,localhost:2181"
        with conn.SimpleQueue("hosts-q") as sq:
            sq.put({"x": 1})
            assert sq.get(timeout=5).payload == {"x": 1}
        assert raw.exists(f"/{root}/queues/hosts-q")  # the URL's path is the root
        info = conn.info()
        assert info["transport"] == "zk" and info["hostname"] == "127.0.0.1:2181,localhost"
        assert conn.transport.driver_version() == __import__("kazoo.version").version.__version__
        assert conn.default_channel.client is conn.transport.zk_client()


def test_url_without_path_uses_the_server_root() -> None:
    from kombu_zk.transport import Transport

    conn = Connection("zookeeper://127.0.0.1")
    transport = Transport(conn)
    assert transport.hosts == "127.0.0.1:2181"
    assert transport.layout.queues == "/queues"


def test_options(url: str) -> None:
    options = {"session_timeout": 3, "connect_timeout": 4, "polling_interval": 0.2,
               "max_message_size": 1234, "randomize_hosts": False}
    with Connection(url, transport_options=options) as conn:
        transport = conn.transport
        assert transport.session_timeout == 3.0
        assert transport.connect_timeout == 4.0
        assert transport.polling_interval == 0.2
        assert transport.max_message_size == 1234
        assert transport.randomize_hosts is False
        assert conn.default_channel.storage.lease_seconds == 3.0
        assert conn.transport.zk_client()._session_timeout == 3000
    with Connection(url, transport_options={"visibility_timeout": 5}) as conn:
        assert conn.default_channel.storage.lease_seconds == 5.0
    with Connection(url) as conn:  # defaults
        assert conn.transport.session_timeout == 10.0
        assert conn.transport.max_message_size == 1_000_000


def test_unreachable_server_fails_within_connect_timeout() -> None:
    conn = Connection("zookeeper://127.0.0.1:1/", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(conn.connection_errors) as info:
        conn.connect()
    assert time.monotonic() - started < 5
    assert "127.0.0.1:1" in str(info.value) and "connect_timeout" in str(info.value)
    conn.release()


def test_bad_url_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"[Pp]ort"):
        Connection("zookeeper://127.0.0.1:notaport/").connect()


def test_credentials_are_digest_auth_and_never_shown(url: str, raw: Any, root: str) -> None:
    from kazoo.security import make_digest_acl

    secured = url.replace("zookeeper://", "zookeeper://alice:s3cret@")
    with Connection(secured) as conn:
        conn.default_channel  # noqa: B018 - connects
        assert "s3cret" not in repr(conn) and "s3cret" not in conn.as_uri()
    # Trees only alice may write to: a wrong password is refused by ZooKeeper's ACL
    # (digest credentials themselves are never refused at connect: ACLs decide).
    raw.ensure_path(f"/{root}")
    alice_only = [make_digest_acl("alice", "s3cret", all=True)]
    for name in ("ok", "bad"):
        raw.create(f"/{root}/{name}", acl=alice_only)
    with Connection(f"zookeeper://alice:s3cret@127.0.0.1:2181/{root}/ok") as conn:
        conn.SimpleQueue("q").put({"ok": 1})
    with Connection(f"zookeeper://alice:wrong@127.0.0.1:2181/{root}/bad") as conn:
        from kazoo.exceptions import NoAuthError

        with pytest.raises(conn.channel_errors) as info:
            conn.SimpleQueue("q").put({"no": 1})
        assert isinstance(info.value, NoAuthError)
