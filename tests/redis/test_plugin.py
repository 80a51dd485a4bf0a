"""The plugin: registration, kombu's module path, URL handling, missing redis-py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kombu import Connection
from kombu.transport import get_transport_cls


def test_schemes_are_registered() -> None:
    from kombu_redis import transport

    assert get_transport_cls("redis") is transport.Transport
    assert get_transport_cls("rediss") is transport.SSLTransport
    assert get_transport_cls("redis+socket") is transport.SocketTransport
    assert get_transport_cls("socket") is transport.SocketTransport
    assert get_transport_cls("sentinel") is transport.SentinelTransport


def test_kombu_module_path_answers() -> None:
    from kombu.transport.redis import (
        Channel,
        GlobalKeyPrefixMixin,
        PrefixedStrictRedis,
        SentinelChannel,
        SentinelTransport,
        Transport,
        get_redis_error_classes,
    )

    assert issubclass(SentinelTransport, Transport)
    assert issubclass(SentinelChannel, Channel)
    assert issubclass(PrefixedStrictRedis, GlobalKeyPrefixMixin)
    conn_errors, chan_errors = get_redis_error_classes()
    import redis

    assert redis.exceptions.ConnectionError in conn_errors
    assert redis.exceptions.ResponseError in chan_errors
    assert Transport.implements.asynchronous
    assert Transport.implements.fanout_across_connections


def test_plugin_module_imports_no_client_library() -> None:
    code = ("import sys, kombu_redis; assert kombu_redis.KOMBU_PLUGIN_API == '1.0'; "
            "assert 'redis' not in sys.modules, 'redis imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_transport_module_imports_redis_py_on_first_connection() -> None:
    code = ("import sys\nfrom kombu import Connection\n"
            "conn = Connection('redis://127.0.0.1:6379/11')\n"
            "conn.transport\n"
            "import kombu.transport.redis\n"
            "assert 'redis' not in sys.modules, 'redis imported before connecting'\n"
            "import redis\n"
            "assert redis.ConnectionError in conn.transport.connection_errors\n"
            "conn.connect()\n"
            "assert 'redis' in sys.modules\nconn.release()\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_redis_py_names_the_install_command() -> None:
    code = ("import sys; sys.modules['redis'] = None\n"
            "import kombu_redis.transport\n"
            "from kombu import Connection\n"
            "try:\n    Connection('redis://').transport\n"
            "except ImportError as exc:\n    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    assert "pip install 'kombu-core[redis]'" in out


def test_url_settings_reach_redis_py(url: str) -> None:
    conn = Connection("redis://user:s3cret@127.0.0.1:6380/4?visibility_timeout=30"
                      "&socket_timeout=2.5&health_check_interval=7")
    params = conn.transport.connparams()
    assert params["db"] == 4
    assert params["port"] == 6380
    assert params["username"] == "user"
    assert params["password"] == "s3cret"
    assert params["socket_timeout"] == 2.5
    assert params["health_check_interval"] == 7
    assert conn.transport_options["visibility_timeout"] == 30
    assert "s3cret" not in repr(conn)
    info = conn.info()
    assert info["port"] == 6380 and info["virtual_host"] == "4"


def test_bad_database_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="database number"):
        Connection("redis://localhost/notanumber").transport.connparams()


def test_socket_url_is_parsed() -> None:
    conn = Connection("redis+socket:///tmp/kombu-test.sock?virtual_host=3&"
                      "visibility_timeout=12")
    params = conn.transport.connparams()
    assert params["path"] == "/tmp/kombu-test.sock"
    assert params["db"] == 3
    assert conn.transport.options["visibility_timeout"] == 12
