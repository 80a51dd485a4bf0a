"""The client settings kombu-azure reads once per connection instead of per request."""

from __future__ import annotations

from typing import Any

import pytest
from azurite_env import URL
from kombu_azure.transport import _env_settings

from kombu import Connection

ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
       "http_proxy", "https_proxy", "no_proxy", "all_proxy", "ALL_PROXY")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_proxies_requests_stops_reading_the_environment(clean_env: Any) -> None:
    assert _env_settings() == {"use_env_settings": False}


def test_a_ca_bundle_variable_is_passed_on_once(clean_env: Any) -> None:
    clean_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca.pem")
    assert _env_settings() == {"use_env_settings": False,
                               "connection_verify": "/etc/ssl/certs/ca.pem"}


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "no_proxy"])
def test_a_proxy_variable_keeps_requests_reading_it(clean_env: Any, name: str) -> None:
    clean_env.setenv(name, "http://proxy.invalid:3128")
    assert _env_settings() is None


def test_the_session_of_a_connection_does_not_trust_the_environment(clean_env: Any) -> None:
    with Connection(URL) as conn:
        conn.connect()
        service = conn.default_channel.storage.service
        session = service._client._client._pipeline._transport.session
        assert session.trust_env is False
