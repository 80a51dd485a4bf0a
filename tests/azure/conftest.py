"""Fixtures for the Azure Storage Queues tests: Azurite on 127.0.0.1:10001."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azurite_env import ACCOUNT, ACCOUNT_URL, HOST, KEY, PORT
from brokers import require_service


@pytest.fixture(autouse=True)
def _azurite_available() -> None:
    require_service("azurite", HOST, PORT)


@pytest.fixture
def service() -> Iterator[Any]:
    """A plain azure-storage-queue client on Azurite."""
    from azure.storage.queue import QueueServiceClient

    client = QueueServiceClient(ACCOUNT_URL, credential={"account_name": ACCOUNT,
                                                          "account_key": KEY})
    yield client
    client.close()


@pytest.fixture
def prefix(service: Any) -> Iterator[str]:
    """A queue_name_prefix unique to the test; its Azure queues are deleted afterwards."""
    value = f"t{uuid.uuid4().hex[:10]}-"
    yield value
    for queue in service.list_queues(name_starts_with=value):
        try:
            service.delete_queue(queue.name)
        except Exception:
            pass


@pytest.fixture
def options(prefix: str) -> dict[str, Any]:
    return {"queue_name_prefix": prefix, "polling_interval": 0.05}
