"""A real Celery 5 worker over sqs:// (moto): a chain, a group, a retrying task, and
``app.control.ping()`` answered through SNS fanout (``supports_fanout``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery_support import assert_chain, assert_group, celery_app, running_worker
from sqs_support import FAST, URL

attempts: dict[str, int] = {}
lock = threading.Lock()
HOSTNAME = "kombu-sqs@test"


@pytest.fixture(scope="module")
def app() -> Any:
    prefix = f"c{uuid.uuid4().hex[:8]}-"
    app = celery_app("kombu_sqs_test", URL,
                     {**FAST, "queue_name_prefix": prefix, "supports_fanout": True,
                      "visibility_timeout": 30})

    @app.task(name="t.flaky", bind=True, max_retries=5)
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
    with running_worker(app, HOSTNAME) as w:
        yield w


def test_task_chain(app: Any, worker: Any) -> None:
    assert_chain(app)


def test_group(app: Any, worker: Any) -> None:
    assert_group(app)


def test_retrying_task(app: Any, worker: Any) -> None:
    result = app.tasks["t.flaky"].delay("twice", 2)
    assert result.get(timeout=30) == 3
    assert attempts["twice"] == 3


def test_control_ping_through_sns_fanout(app: Any, worker: Any, raw_sns: Any) -> None:
    replies: list[Any] = []
    for _ in range(5):  # the worker's pidbox consumer may still be starting
        replies = app.control.ping(timeout=2)
        if replies:
            break
    assert replies == [{HOSTNAME: {"ok": "pong"}}]
    assert app.control.ping(destination=[HOSTNAME], timeout=5) == [
        {HOSTNAME: {"ok": "pong"}}]
    prefix = app.conf.broker_transport_options["queue_name_prefix"]
    topics = [t["TopicArn"].rsplit(":", 1)[1] for t in raw_sns.list_topics()["Topics"]]
    assert prefix + "celery-pidbox" in topics, "the broadcast did not go through SNS"
