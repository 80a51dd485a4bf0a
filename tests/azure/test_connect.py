"""URL forms, credentials, the kombu module path and connection errors."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from azurite_env import ACCOUNT, ACCOUNT_URL, CONNECTION_STRING, KEY, URL
from kombu_azure.options import Endpoint, entity_name, mask_uri, parse_uri

from kombu import Connection


def _round_trip(url: str, options: dict[str, Any]) -> Any:
    with Connection(url, transport_options=options) as conn:
        queue = conn.SimpleQueue("urls")
        queue.put({"via": "url"})
        message = queue.get(timeout=10)
        message.ack()
        queue.close()
        return message.payload


def test_account_key_url(options: dict[str, Any]) -> None:
    assert _round_trip(URL, options) == {"via": "url"}


def test_account_key_with_slashes_is_split_at_the_last_at() -> None:
    endpoint = parse_uri("azurestoragequeues://a/b+c==@https://acct.queue.core.windows.net")
    assert (endpoint.kind, endpoint.credential) == ("key", "a/b+c==")
    assert endpoint.account_url == "https://acct.queue.core.windows.net"
    assert endpoint.account_name == "acct"
    assert parse_uri(URL).account_name == ACCOUNT


def test_sas_token_url(options: dict[str, Any]) -> None:
    from azure.storage.queue import AccountSasPermissions, ResourceTypes, generate_account_sas

    token = generate_account_sas(
        ACCOUNT, KEY, ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, add=True,
                              create=True, update=True, process=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1))
    assert parse_uri(f"azurestoragequeues://{token}@{ACCOUNT_URL}").kind == "sas"
    assert _round_trip(f"azurestoragequeues://{token}@{ACCOUNT_URL}", options) == {"via": "url"}


def test_connection_string_url_and_option(options: dict[str, Any]) -> None:
    encoded = CONNECTION_STRING.replace(";", "%3B")
    assert parse_uri(f"azurestoragequeues://{encoded}").kind == "connection_string"
    assert _round_trip(f"azurestoragequeues://{encoded}", options) == {"via": "url"}
    assert _round_trip("azurestoragequeues://", {
        **options, "connection_string": CONNECTION_STRING}) == {"via": "url"}


@pytest.mark.parametrize("name", ["DefaultAzureCredential", "ManagedIdentityCredential",
                                  "defaultazurecredential"])
def test_identity_url_forms_build_azure_identity_credentials(name: str) -> None:
    import azure.identity

    endpoint = parse_uri(f"azurestoragequeues://{name}@https://acct.queue.core.windows.net")
    assert endpoint.kind == "identity"
    credential = endpoint.client_credential()
    assert type(credential).__name__.lower() == name.lower()
    assert isinstance(credential, (azure.identity.DefaultAzureCredential,
                                   azure.identity.ManagedIdentityCredential))


def test_identity_without_azure_identity_names_the_extra(monkeypatch: Any) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "azure.identity", None)
    with pytest.raises(ImportError, match=r"kombu-azure\[identity\]"):
        Endpoint("https://a.queue.core.windows.net", "DefaultAzureCredential",
                 "identity").client_credential()


@pytest.mark.parametrize("url", ["azurestoragequeues://", "azurestoragequeues://keyonly",
                                 "azurestoragequeues://@http://127.0.0.1:10001/x",
                                 "azurestoragequeues://key@ftp://host/x"])
def test_bad_url_is_a_clear_value_error(url: str) -> None:
    with pytest.raises(ValueError, match="azurestoragequeues://"):
        with Connection(url, connect_timeout=2) as conn:
            conn.connect()


def test_credentials_never_show() -> None:
    conn = Connection(URL)
    assert KEY not in conn.as_uri() and KEY not in repr(conn)
    assert conn.as_uri(include_password=True) == URL
    assert KEY not in mask_uri(f"azurestoragequeues://{CONNECTION_STRING}")
    assert KEY not in Connection(
        f"azurestoragequeues://{CONNECTION_STRING.replace(';', '%3B')}").as_uri()
    assert "DefaultAzureCredential" in mask_uri(
        "azurestoragequeues://DefaultAzureCredential@https://a.queue.core.windows.net")


def test_wrong_key_fails_at_connect_with_a_clear_error() -> None:
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nIQ=="
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        with Connection(f"azurestoragequeues://{wrong}@{ACCOUNT_URL}",
                        connect_timeout=3) as conn:
            conn.connect()
    assert time.monotonic() - started < 5
    assert "credentials" in str(info.value) and wrong not in str(info.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_fails_within_the_connect_timeout() -> None:
    url = f"azurestoragequeues://{KEY}@http://127.0.0.1:{_closed_port()}/{ACCOUNT}"
    started = time.monotonic()
    with pytest.raises(Exception) as info:
        with Connection(url, connect_timeout=2) as conn:
            conn.connect()
    assert time.monotonic() - started < 4
    assert "Cannot reach Azure Storage Queues" in str(info.value)
    assert KEY not in str(info.value)


def test_kombu_module_path_and_info() -> None:
    import kombu.transport.azurestoragequeues as module

    assert module.Transport.driver_type == "azurestoragequeues"
    with Connection(URL) as conn:
        conn.connect()
        assert conn.transport.driver_version()
        assert conn.transport_cls == "azurestoragequeues"


@pytest.mark.parametrize(("name", "prefix", "expected"), [
    ("celery", "", "celery"),
    ("celery.pidbox", "", "celery-pidbox"),
    ("my_queue", "app-", "app-my-queue"),
    ("Celery", "", "celery"),
])
def test_queue_name_mangling_as_kombu(name: str, prefix: str, expected: str) -> None:
    assert entity_name(name, prefix) == expected


def test_mangled_names_are_valid_for_azure() -> None:
    import re

    for name in ("a", "x" * 80, "a..b", "über.queue", "-lead-", "kombu-kit.q.abc_def"):
        mangled = entity_name(name)
        assert re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]", mangled), mangled
        assert 3 <= len(mangled) <= 63
    assert entity_name("a..b") != entity_name("a-b")
