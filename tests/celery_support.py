"""A real Celery 5 worker for the broker tests: an app with two tasks, a worker, the checks.

Celery is installed as tests/core/test_celery_worker.py says (``--no-deps`` from
requirements/celery.txt); when it is missing a test that needs it fails, it
does not skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ("assert_chain", "assert_group", "celery_app", "running_worker", "worker_stats")


def _celery() -> Any:
    try:
        import celery
    except ImportError as exc:  # pragma: no cover - reported, not skipped
        pytest.fail(f"Celery is not importable ({exc}). Install it beside kombu-core with: "
                    f"python -m pip install --no-deps -r requirements/celery.txt",
                    pytrace=False)
    return celery


def celery_app(name: str, broker: str, transport_options: dict[str, Any],
               **conf: Any) -> Any:
    """An app on ``broker`` with tasks ``t.add`` and ``t.mul``, results in memory."""
    app = _celery().Celery(name, broker=broker, backend="cache+memory://",
                           set_as_current=False)
    app.conf.update(broker_connection_retry_on_startup=True, task_serializer="json",
                    result_serializer="json", accept_content=["json"],
                    worker_hijack_root_logger=False,
                    broker_transport_options=transport_options, **conf)

    @app.task(name="t.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="t.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    return app


@contextmanager
def running_worker(app: Any, hostname: str, ping_check: bool = False) -> Iterator[Any]:
    """A solo-pool worker for ``app`` in a thread of this process."""
    import celery.contrib.testing.tasks  # noqa: F401  (the ping task a ping check sends)
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=ping_check,
                      shutdown_timeout=15, hostname=hostname) as worker:
        yield worker


def assert_chain(app: Any) -> None:
    """``add(1, 2) | add(3) | mul(10)`` gives 60, its middle step 6."""
    from celery import chain

    add, mul = app.tasks["t.add"], app.tasks["t.mul"]
    result = chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
    assert result.get(timeout=30) == 60
    assert result.parent.get(timeout=1) == 6


def assert_group(app: Any) -> None:
    """Ten ``add`` tasks in a group, their results in order."""
    from celery import group

    add = app.tasks["t.add"]
    result = group(add.s(i, i) for i in range(10)).apply_async()
    assert result.get(timeout=30) == [i * 2 for i in range(10)]


def worker_stats(app: Any, hostname: str, tries: int = 3) -> dict[str, Any]:
    """``inspect().stats()`` of ``hostname`` (a busy machine may miss one 5 s window)."""
    for _ in range(tries):
        stats = app.control.inspect(timeout=5, destination=[hostname]).stats()
        if stats:
            return dict(stats[hostname])
    raise AssertionError(f"{hostname} did not answer inspect().stats() in {tries} tries")
