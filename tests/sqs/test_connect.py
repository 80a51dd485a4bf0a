"""Connecting: the plugin, URLs and credentials, endpoints, clear errors."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from sqs_support import FAST, HOST, PORT, URL, free_port

from kombu import Connection


def test_scheme_and_kombu_module_path() -> None:
    from kombu_sqs.transport import Transport

    import kombu.transport.SQS as kombu_path
    from kombu.transport import resolve_transport

    assert kombu_path.Transport is Transport
    assert Connection("sqs://").transport_cls in ("sqs", Transport)
    assert resolve_transport("sqs") is Transport
    assert Transport.max_message_size == 256 * 1024


def test_the_plugin_module_imports_no_client_library() -> None:
    import subprocess
    import sys

    code = ("import sys, kombu_sqs; assert 'boto3' not in sys.modules and "
            "'botocore' not in sys.modules, 'kombu_sqs imported boto3'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_credentials_from_the_url_and_an_endpoint_from_host_and_port() -> None:
    conn = Connection("sqs://AKIDEXAMPLE:se%2Fcret@127.0.0.1:9324")
    broker = conn.transport.broker
    assert broker.endpoint == f"http://{HOST}:{PORT}"
    creds = broker.sqs()._request_signer._credentials
    assert (creds.access_key, creds.secret_key) == ("AKIDEXAMPLE", "se/cret")
    assert "se/cret" not in repr(conn) and "se%2Fcret" not in conn.as_uri()


def test_boto3_chain_without_credentials_in_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
    conn = Connection(f"sqs://{HOST}:{PORT}", transport_options=FAST)
    creds = conn.transport.broker.sqs()._request_signer._credentials
    assert creds.access_key == "FROMENV"
    conn.connect()
    conn.close()


def test_no_host_means_aws_and_endpoint_options() -> None:
    assert Connection("sqs://").transport.broker.endpoint is None
    secure = Connection("sqs://example.test:4566", transport_options={"is_secure": True})
    assert secure.transport.broker.endpoint == "https://example.test:4566"
    explicit = Connection("sqs://", transport_options={"endpoint_url": "http://x.test:1"})
    assert explicit.transport.broker.endpoint == "http://x.test:1"
    assert explicit.transport.broker.sqs().meta.endpoint_url == "http://x.test:1"


def test_region_option_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert Connection("sqs://").transport.broker.region == "us-east-1"
    conn = Connection("sqs://", transport_options={"region": "eu-west-3"})
    assert conn.transport.broker.sqs().meta.region_name == "eu-west-3"


def test_client_config_reaches_botocore() -> None:
    conn = Connection(URL, transport_options={
        "client-config": {"user_agent_extra": "kombu-sqs-test", "read_timeout": 33}})
    config = conn.transport.broker.sqs().meta.config
    assert config.user_agent_extra == "kombu-sqs-test"
    assert config.read_timeout == 33


def test_bad_credentials_fail_clearly(private_moto: Any) -> None:
    # A moto of its own that checks credentials (the shared one accepts any).
    port = private_moto(INITIAL_NO_AUTH_ACTION_COUNT="0")
    conn = Connection(f"sqs://nobody:wrong@{HOST}:{port}", connect_timeout=3,
                      transport_options=FAST)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        conn.connect()
    assert time.monotonic() - started < 10
    assert "refused the credentials" in str(info.value)
    assert "wrong" not in str(info.value)
    assert isinstance(info.value, conn.connection_errors)


def test_unreachable_endpoint_fails_within_the_connect_timeout() -> None:
    port = free_port()  # nothing listens there
    conn = Connection(f"sqs://test:test@{HOST}:{port}", connect_timeout=2,
                      transport_options=FAST)
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        conn.connect()
    assert time.monotonic() - started < 2 + 2
    assert "Cannot reach SQS" in str(info.value) and str(port) in str(info.value)
    assert isinstance(info.value, conn.connection_errors)


def test_silent_endpoint_times_out_at_the_connect_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind((HOST, 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        conn = Connection(f"sqs://test:test@{HOST}:{port}", connect_timeout=1,
                          transport_options=FAST)
        started = time.monotonic()
        with pytest.raises(Exception) as info:
            conn.transport.establish_connection()  # one attempt
        elapsed = time.monotonic() - started
        assert elapsed < 1 + 1, f"one attempt took {elapsed:.1f}s with connect_timeout=1"
        assert "Cannot reach SQS" in str(info.value)
        started = time.monotonic()
        with pytest.raises(conn.connection_errors):
            conn.connect()  # kombu's connect() tries twice, a second apart
        elapsed = time.monotonic() - started
    assert elapsed < 2 * 1 + 1 + 2, f"connect() took {elapsed:.1f}s with connect_timeout=1"


def test_connection_info_and_driver() -> None:
    import boto3

    conn = Connection(URL, transport_options=FAST)
    assert conn.transport.driver_type == "sqs"
    assert conn.transport.driver_version() == boto3.__version__
    assert conn.transport.implements.leases
