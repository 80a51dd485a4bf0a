"""A real Celery 5 worker over sqla+postgresql: a chain, a group and the control replies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery_support import assert_chain, assert_group, celery_app, running_worker, worker_stats
from sql_support import Db

HOSTNAME = "kombu-sql@test"


@pytest.fixture
def app(pg: Db) -> Any:
    return celery_app("kombu_sql_test", pg.broker, dict(pg.options, polling_interval=0.5))


@pytest.fixture
def worker(app: Any) -> Iterator[Any]:
    with running_worker(app, HOSTNAME, ping_check=True) as w:
        yield w


@pytest.mark.timeout(120)
def test_celery_chain_and_group_over_postgresql(app: Any, worker: Any) -> None:
    assert_chain(app)
    assert_group(app)
    assert worker_stats(app, HOSTNAME)["broker"]["transport"] == "sqla"


@pytest.mark.timeout(120)
def test_every_inspect_gets_its_reply(app: Any, worker: Any) -> None:
    # Each inspect() binds its reply queue again, which changes the reply
    # exchange's routes under the worker's cached copy: no reply may be lost.
    for _ in range(4):
        assert worker_stats(app, HOSTNAME, tries=1)["broker"]["transport"] == "sqla"
