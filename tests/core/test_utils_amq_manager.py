"""kombu.utils.amq_manager.get_manager: where each management API setting comes from."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from kombu import Connection
from kombu.utils.amq_manager import get_manager


class Client:
    """Stands in for pyrabbit.Client: no management API listens on this machine."""

    def __init__(self, api_url: str, user: str, passwd: str) -> None:
        self.args = (api_url, user, passwd)


@pytest.fixture
def pyrabbit(monkeypatch: pytest.MonkeyPatch) -> Any:
    module = types.ModuleType("pyrabbit")
    module.Client = Client  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyrabbit", module)
    return module


def test_settings_come_from_arguments_options_connection_then_defaults(pyrabbit: Any) -> None:
    assert get_manager(Connection("amqp://")).args == ("localhost:15672", "guest", "guest")
    conn = Connection("amqp://alice:secret@rabbit.example:5672//")
    assert get_manager(conn).args == ("rabbit.example:15672", "alice", "secret")
    conn = Connection("amqp://alice:secret@rabbit.example//", transport_options={
        "manager_hostname": "admin.example", "manager_port": 8080,
        "manager_userid": "ops", "manager_password": "pw"})
    assert get_manager(conn).args == ("admin.example:8080", "ops", "pw")
    assert get_manager(conn, hostname="h", port=1, userid="u", password="p").args == (
        "h:1", "u", "p")


def test_without_a_client_library_it_says_what_to_install(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setitem(sys.modules, "pyrabbit", None)
    monkeypatch.setitem(sys.modules, "pyrabbit2", None)
    with pytest.raises(ImportError, match="pip install pyrabbit2"):
        get_manager(Connection("amqp://"))
