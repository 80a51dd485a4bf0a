"""A real Celery 5 worker over mongodb:// (SecantusDB): a chain, a group, a ping."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery_support import assert_chain, assert_group, celery_app, running_worker

HOSTNAME = "kombu-mongo@test"


@pytest.fixture(scope="module")
def mongo_url() -> Iterator[str]:
    import pymongo

    name = f"kt_celery_{uuid.uuid4().hex[:10]}"
    yield f"mongodb://127.0.0.1:27027/{name}"
    client: Any = pymongo.MongoClient("127.0.0.1", 27027, serverSelectionTimeoutMS=3000)
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
def app(mongo_url: str) -> Any:
    return celery_app("kombu_mongo_test", mongo_url, {"polling_interval": 0.05})


@pytest.fixture(scope="module")
def worker(app: Any) -> Iterator[Any]:
    with running_worker(app, HOSTNAME, ping_check=True) as w:
        yield w


def test_task_chain(app: Any, worker: Any) -> None:
    assert_chain(app)


def test_group(app: Any, worker: Any) -> None:
    assert_group(app)


def test_control_ping(app: Any, worker: Any) -> None:
    replies = app.control.ping(destination=[HOSTNAME], timeout=5)
    assert replies == [{HOSTNAME: {"ok": "pong"}}]
