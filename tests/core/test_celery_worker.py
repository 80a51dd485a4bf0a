"""A real Celery 5 worker running on kombu-core over memory://.

Celery is installed with ``--no-deps`` from requirements/celery.txt (its
own requirement on ``kombu`` would pull in the real kombu, which would
shadow kombu-core).  When Celery is missing these tests fail: they do not
skip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery_support import celery_app, running_worker

import kombu

try:
    import celery
except ImportError as exc:  # pragma: no cover - reported by the tests below
    celery = None
    CELERY_MISSING = (
        f"Celery is not importable ({exc}). Install it beside kombu-core with: "
        f"python -m pip install --no-deps -r requirements/celery.txt"
    )
else:
    CELERY_MISSING = ""

KOMBU_CORE = Path(__file__).resolve().parents[2] / "kombu-core"

attempts: dict[str, int] = {}
attempts_lock = threading.Lock()


def _make_app() -> Any:
    app = celery_app("kombu_core_test", "memory://", {})

    @app.task(name="t.flaky", bind=True, max_retries=5)
    def flaky(self: Any, key: str, failures: int) -> int:
        with attempts_lock:
            attempts[key] = attempts.get(key, 0) + 1
            n = attempts[key]
        if n <= failures:
            raise self.retry(exc=RuntimeError(f"attempt {n} failed"), countdown=0)
        return n

    @app.task(name="t.always_fails", bind=True, max_retries=2)
    def always_fails(self: Any) -> None:
        raise self.retry(exc=ValueError("nope"), countdown=0)

    return app


@pytest.fixture(scope="module")
def app() -> Any:
    if celery is None:
        pytest.fail(CELERY_MISSING, pytrace=False)
    return _make_app()


@pytest.fixture(scope="module")
def worker(app: Any) -> Iterator[Any]:
    with running_worker(app, "kombu-core@test", ping_check=True) as w:
        yield w


def test_celery_is_installed_and_runs_on_kombu_core():
    if celery is None:
        pytest.fail(CELERY_MISSING, pytrace=False)
    assert celery.VERSION.major == 5
    # kombu is ours, not the real kombu pulled in behind our back.
    assert Path(kombu.__file__).resolve().is_relative_to(KOMBU_CORE)


def test_task_chain(app, worker):
    from celery import chain

    add, mul = app.tasks["t.add"], app.tasks["t.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=15) == 60
    assert result.parent.get(timeout=1) == 6


def test_retrying_task(app, worker):
    flaky = app.tasks["t.flaky"]
    result = flaky.delay("retry-twice", 2)
    assert result.get(timeout=15) == 3
    assert attempts["retry-twice"] == 3


def test_retries_exhausted_raise_the_task_error(app, worker):
    result = app.tasks["t.always_fails"].delay()
    with pytest.raises(ValueError, match="nope"):
        result.get(timeout=15)
    assert result.state == "FAILURE"


def test_group(app, worker):
    from celery import group

    add = app.tasks["t.add"]
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=15) == [i * 2 for i in range(10)]


def test_control_ping_is_answered_through_pidbox(app, worker):
    started = time.monotonic()
    replies = app.control.ping(timeout=1)
    assert replies == [{"kombu-core@test": {"ok": "pong"}}]
    assert time.monotonic() - started < 3
    # Addressed to the worker: returns as soon as it answered.
    started = time.monotonic()
    assert app.control.ping(destination=["kombu-core@test"], timeout=5) == [
        {"kombu-core@test": {"ok": "pong"}}
    ]
    assert time.monotonic() - started < 2


def test_control_ping_to_an_absent_worker_ends_within_timeout(app, worker):
    started = time.monotonic()
    assert app.control.ping(destination=["nobody@nowhere"], timeout=0.5) == []
    assert time.monotonic() - started < 1.5


def test_inspect_through_pidbox(app, worker):
    stats = app.control.inspect(timeout=1, destination=["kombu-core@test"]).stats()
    assert "kombu-core@test" in stats
    assert stats["kombu-core@test"]["broker"]["transport"] == "memory"
