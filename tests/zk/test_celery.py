"""A real Celery 5 worker runs a task chain over ZooKeeper (kombu-core + kombu-zk)."""

from __future__ import annotations

from typing import Any

from celery_support import assert_chain, celery_app, running_worker


def test_task_chain_over_zookeeper(url: str) -> None:
    app: Any = celery_app("kombu_zk_test", url, {"polling_interval": 0.1})
    with running_worker(app, "kombu-zk@test"):
        assert_chain(app)
