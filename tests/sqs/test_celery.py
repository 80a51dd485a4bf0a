"""A real Celery 5 worker over sqs:// (moto): a chain, a group, a retrying task, and
``app.control.ping()`` answered through SNS fanout (``supports_fanout``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqs_support import FAST, URL

try:
    import celery
    from celery.contrib.testing.worker import start_worker
except ImportError as exc:  # pragma: no cover - reported by the tests below
    celery = None
    CELERY_MISSING = (f"Celery is not importable ({exc}). Install it beside kombu-core with: "
                      f"python -m pip install --no-deps -r requirements/celery.txt")

attempts: dict[str, int] = {}
lock = threading.Lock()


@pytest.fixture(scope="module")
def app() -> Any:
    if celery is None:
        pytest.fail(CELERY_MISSING, pytrace=False)
    prefix = f"c{uuid.uuid4().hex[:8]}-"
    app = celery.Celery("kombu_sqs_test", broker=URL, backend="cache+memory://",
                        set_as_current=False)
    app.conf.update(
        broker_transport_options={**FAST, "queue_name_prefix": prefix,
                                  "supports_fanout": True, "visibility_timeout": 30},
        broker_connection_retry_on_startup=True,
        task_serializer="json", result_serializer="json", accept_content=["json"],
        worker_hijack_root_logger=False,
    )

    @app.task(name="s.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="s.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    @app.task(name="s.flaky", bind=True, max_retries=5)
    def flaky(self: Any, key: str, failures: int) -> int:
        with lock:
            attempts[key] = attempts.get(key, 0) + 1
            n = attempts[key]
        if n <= failures:
            raise self.retry(exc=RuntimeError(f"attempt {n} failed"), countdown=0)
        return n

    return app


@pytest.fixture(scope="module")
def worker(app: Any) -> Iterator[Any]:
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                      shutdown_timeout=15, hostname="kombu-sqs@test") as w:
        yield w


def test_task_chain(app: Any, worker: Any) -> None:
    from celery import chain

    add, mul = app.tasks["s.add"], app.tasks["s.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=30) == 60


def test_group(app: Any, worker: Any) -> None:
    from celery import group

    add = app.tasks["s.add"]
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=30) == [i * 2 for i in range(10)]


def test_retrying_task(app: Any, worker: Any) -> None:
    result = app.tasks["s.flaky"].delay("twice", 2)
    assert result.get(timeout=30) == 3
    assert attempts["twice"] == 3


def test_control_ping_through_sns_fanout(app: Any, worker: Any, raw_sns: Any) -> None:
    replies: list[Any] = []
    for _ in range(5):  # the worker's pidbox consumer may still be starting
        replies = app.control.ping(timeout=2)
        if replies:
            break
    assert replies == [{"kombu-sqs@test": {"ok": "pong"}}]
    assert app.control.ping(destination=["kombu-sqs@test"], timeout=5) == [
        {"kombu-sqs@test": {"ok": "pong"}}]
    prefix = app.conf.broker_transport_options["queue_name_prefix"]
    topics = [t["TopicArn"].rsplit(":", 1)[1] for t in raw_sns.list_topics()["Topics"]]
    assert prefix + "celery-pidbox" in topics, "the broadcast did not go through SNS"
