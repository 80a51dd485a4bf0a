"""A real Celery 5 worker over sqla+postgresql: a task chain and a group.

Celery is installed as tests/core/test_celery_worker.py says (``--no-deps`` from
requirements/celery.txt); when it is missing this test fails, it does not skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sql_support import Db


@pytest.fixture
def app(pg: Db) -> Any:
    try:
        import celery
    except ImportError as exc:  # pragma: no cover
        pytest.fail(f"Celery is not importable ({exc}): python -m pip install --no-deps "
                    f"-r requirements/celery.txt", pytrace=False)
    app = celery.Celery("kombu_sql_test", broker=pg.broker, backend="cache+memory://",
                        set_as_current=False)
    app.conf.update(broker_connection_retry_on_startup=True, task_serializer="json",
                    result_serializer="json", accept_content=["json"],
                    worker_hijack_root_logger=False,
                    broker_transport_options=dict(pg.options, polling_interval=0.5))

    @app.task(name="t.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="t.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    return app


@pytest.fixture
def worker(app: Any) -> Iterator[Any]:
    import celery.contrib.testing.tasks  # noqa: F401  (the ping task the worker checks)
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=True,
                      shutdown_timeout=15, hostname="kombu-sql@test") as w:
        yield w


@pytest.mark.timeout(120)
def test_celery_chain_and_group_over_postgresql(app: Any, worker: Any) -> None:
    from celery import chain, group

    add, mul = app.tasks["t.add"], app.tasks["t.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=30) == 60
    assert result.parent.get(timeout=1) == 6
    grouped = group(add.s(i, i) for i in range(10)).apply_async()
    assert grouped.get(timeout=30) == [i * 2 for i in range(10)]
    stats = None
    for _ in range(3):  # a busy machine can miss one 5 s reply window
        stats = app.control.inspect(timeout=5, destination=["kombu-sql@test"]).stats()
        if stats:
            break
    assert stats, "the worker did not answer inspect().stats() in three tries"
    assert stats["kombu-sql@test"]["broker"]["transport"] == "sqla"
