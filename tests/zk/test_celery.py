"""A real Celery 5 worker runs a task chain over ZooKeeper (kombu-core + kombu-zk)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

try:
    import celery
    from celery.contrib.testing.worker import start_worker
except ImportError:  # pragma: no cover - reported by the test
    celery = None


@pytest.fixture
def app(url: str) -> Any:
    if celery is None:
        pytest.fail("Celery is not importable: python -m pip install --no-deps "
                    "-r requirements/celery.txt", pytrace=False)
    app = celery.Celery("kombu_zk_test", broker=url, backend="cache+memory://",
                        set_as_current=False)
    app.conf.update(broker_connection_retry_on_startup=True, task_serializer="json",
                    accept_content=["json"], worker_hijack_root_logger=False,
                    broker_transport_options={"polling_interval": 0.1})

    @app.task(name="zk.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="zk.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    return app


@pytest.fixture
def worker(app: Any) -> Iterator[Any]:
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                      shutdown_timeout=15, hostname="kombu-zk@test") as w:
        yield w


def test_task_chain_over_zookeeper(app: Any, worker: Any) -> None:
    from celery import chain

    add, mul = app.tasks["zk.add"], app.tasks["zk.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=30) == 60
    assert result.parent.get(timeout=1) == 6
