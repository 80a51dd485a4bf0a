"""Fixtures for kombu-sql: a fresh set of tables per test on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import unavailable

sys.path.insert(0, str(Path(__file__).resolve().parent))  # sql_support, for the test modules

from sql_support import MY_URL, PG_URL, Db, PrivatePostgres, _require


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    name = request.param
    _require(name)
    url = {"sqlite": f"sqlite:///{tmp_path}/broker.db", "postgresql": PG_URL,
           "mysql": MY_URL}[name]
    found = Db(name, url)
    yield found
    found.drop()


@pytest.fixture(params=["postgresql", "mysql"])
def server_db(request: pytest.FixtureRequest) -> Iterator[Db]:
    """PostgreSQL and MariaDB only (SKIP LOCKED, server errors)."""
    _require(request.param)
    found = Db(request.param, PG_URL if request.param == "postgresql" else MY_URL)
    yield found
    found.drop()


@pytest.fixture
def pg() -> Iterator[Db]:
    _require("postgresql")
    found = Db("postgresql", PG_URL)
    yield found
    found.drop()


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    if shutil.which("initdb") is None and not list(Path("/usr/lib/postgresql").glob("*/bin")):
        unavailable("PostgreSQL's server programs (initdb, postgres) are not installed")
    server = PrivatePostgres(tmp_path).start()
    yield server
    server.stop()
    shutil.rmtree(server.dir, ignore_errors=True)
