"""Helpers of the SQS tests (constants, API call recording, draining)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

HOST, PORT = "127.0.0.1", 9324
ENDPOINT = f"http://{HOST}:{PORT}"
URL = f"sqs://test:test@{HOST}:{PORT}"
#: Short waits so the group runs in seconds.
FAST = {"wait_time_seconds": 0, "polling_interval": 0.05, "region": "us-east-1"}

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


class Calls:
    """SQS/SNS API calls made by a connection's clients, with their parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append((model.name, params))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [params for n, params in self.calls if n == name]

    def clear(self) -> None:
        self.calls.clear()


def watch(conn: Any, queue: str | None = None) -> Calls:
    """Record the API calls of ``conn``'s SQS (and SNS) clients from now on."""
    calls = Calls()
    broker = conn.transport.broker
    broker.sqs(queue).meta.events.register("before-parameter-build", calls)
    if broker.options.supports_fanout:
        broker.sns().meta.events.register("before-parameter-build", calls)
    return calls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def drain_until(conn: Any, done: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=0.2)
        except TimeoutError:
            pass
