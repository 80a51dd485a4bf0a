"""Fixtures for the MongoDB transport tests: SecantusDB (MongoDB wire protocol) on 27027.

Every test gets a database of its own (dropped afterwards): the server keeps
its state for its whole life.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from brokers import require_service

HOST, PORT = "127.0.0.1", 27027


@pytest.fixture(autouse=True)
def _server_available() -> None:
    require_service("secantusdb", HOST, PORT)


@pytest.fixture
def database() -> Iterator[str]:
    import pymongo

    name = f"kt_{uuid.uuid4().hex[:12]}"
    yield name
    client: Any = pymongo.MongoClient(HOST, PORT, serverSelectionTimeoutMS=3000)
    try:
        client.drop_database(name)
    finally:
        client.close()


@pytest.fixture
def url(database: str) -> str:
    return f"mongodb://{HOST}:{PORT}/{database}"


@pytest.fixture
def raw(database: str) -> Iterator[Any]:
    """A plain pymongo database handle on the test's database."""
    import pymongo

    client: Any = pymongo.MongoClient(HOST, PORT, serverSelectionTimeoutMS=3000, tz_aware=True)
    yield client[database]
    client.close()
