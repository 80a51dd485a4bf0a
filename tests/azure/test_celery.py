"""A real Celery 5 worker runs a task chain over Azure Storage Queues (Azurite)."""

from __future__ import annotations

from typing import Any

import pytest
from azurite_env import URL

try:
    import celery
    from celery.contrib.testing.worker import start_worker
except ImportError:  # pragma: no cover - tests/core reports how to install it
    celery = None


def test_task_chain_over_azure(prefix: str) -> None:
    if celery is None:
        pytest.fail("Celery is not importable: python -m pip install --no-deps "
                    "-r requirements/celery.txt", pytrace=False)
    app = celery.Celery("kombu_azure_test", broker=URL, backend="cache+memory://",
                        set_as_current=False)
    app.conf.update(
        broker_transport_options={"queue_name_prefix": prefix, "polling_interval": 0.05,
                                  "visibility_timeout": 10},
        broker_connection_retry_on_startup=True, task_serializer="json",
        result_serializer="json", accept_content=["json"], worker_hijack_root_logger=False,
        worker_enable_remote_control=False)

    @app.task(name="az.add")
    def add(x: int, y: int) -> int:
        return x + y

    @app.task(name="az.mul")
    def mul(x: int, y: int) -> int:
        return x * y

    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                      shutdown_timeout=15, hostname="kombu-azure@test"):
        result: Any = celery.chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async()
        assert result.get(timeout=30) == 60
        assert result.parent.get(timeout=1) == 6
