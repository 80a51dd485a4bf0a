"""A real Celery 5 worker over mongodb:// (Celery installed as tests/core does it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

try:
    import celery
    import celery.contrib.testing.tasks
    from celery.contrib.testing.worker import start_worker
except ImportError as exc:  # pragma: no cover - reported by the tests below
    celery = None
    CELERY_MISSING = (f"Celery is not importable ({exc}). Install it beside kombu-core with: "
                      f"python -m pip install --no-deps -r requirements/celery.txt")


@pytest.fixture(scope="module")
def mongo_url() -> Iterator[str]:
    import uuid

    import pymongo

    name = f"kt_celery_{uuid.uuid4().hex[:10]}"
    yield f"mongodb://127.0.0.1:27027/{name}"
    client: Any = pymongo.MongoClient("127.0.0.1", 27027, serverSelectionTimeoutMS=3000)
    client.drop_database(name)
    client.close()


@pytest.fixture(scope="module")
def app(mongo_url: str) -> Any:
    if celery is None:
        pytest.fail(CELERY_MISSING, pytrace=False)
    app = celery.Celery("kombu_mongo_test", broker=mongo_url, backend="cache+memory://",
                        set_as_current=False)
    app.conf.update(broker_connection_retry_on_startup=True, task_serializer="json",
                    result_serializer="json", accept_content=["json"],
                    worker_hijack_root_logger=False,
                    broker_transport_options={"polling_interval": 0.05})

    @app.task(name="m.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="m.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    return app


@pytest.fixture(scope="module")
def worker(app: Any) -> Iterator[Any]:
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=True,
                      shutdown_timeout=15, hostname="kombu-mongo@test") as w:
        yield w


def test_task_chain(app: Any, worker: Any) -> None:
    from celery import chain

    add, mul = app.tasks["m.add"], app.tasks["m.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=30) == 60


def test_group(app: Any, worker: Any) -> None:
    from celery import group

    add = app.tasks["m.add"]
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=30) == [i * 2 for i in range(10)]


def test_control_ping(app: Any, worker: Any) -> None:
    replies = app.control.ping(destination=["kombu-mongo@test"], timeout=5)
    assert replies == [{"kombu-mongo@test": {"ok": "pong"}}]
