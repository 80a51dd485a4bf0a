"""A real Celery 5 worker runs a task chain over Azure Storage Queues (Azurite)."""

from __future__ import annotations

from typing import Any

from azurite_env import URL
from celery_support import assert_chain, celery_app, running_worker


def test_task_chain_over_azure(prefix: str) -> None:
    app: Any = celery_app("kombu_azure_test", URL,
                          {"queue_name_prefix": prefix, "polling_interval": 0.05,
                           "visibility_timeout": 10},
                          worker_enable_remote_control=False)
    with running_worker(app, "kombu-azure@test"):
        assert_chain(app)
