"""Fixtures for the SQS transport tests: moto's local SQS and SNS on 127.0.0.1:9324.

scripts/services.d/moto.sh starts it (scripts/test.py and .ci/run do so).  Every
test gets a queue name prefix of its own, so tests never see each other's queues.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from brokers import require_service

sys.path.insert(0, os.path.dirname(__file__))  # sqs_support, for the test modules

from sqs_support import ENDPOINT, FAST, HOST, PORT, free_port


@pytest.fixture(autouse=True)

def _moto_available() -> None:
    require_service("moto (local SQS)", HOST, PORT)


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def options(prefix: str) -> dict[str, Any]:
    return {**FAST, "queue_name_prefix": prefix, "visibility_timeout": 2}


@pytest.fixture
def raw() -> Any:
    """A plain boto3 SQS client on the local SQS."""
    import boto3

    return boto3.client("sqs", endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def raw_sns() -> Any:
    import boto3

    return boto3.client("sns", endpoint_url=ENDPOINT, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def private_moto() -> Callable[..., int]:
    """Start a moto server of the test's own (with environment ``env``); returns its port."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> int:
        port = free_port()
        exe = os.path.join(os.path.dirname(sys.executable), "moto_server")
        cmd = [exe] if os.path.exists(exe) else ["moto_server"]
        proc = subprocess.Popen([*cmd, "-H", HOST, "-p", str(port)],
                                env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                return port
            except OSError:
                time.sleep(0.1)
        pytest.fail("the private moto server did not start in 30 s")

    yield start  # type: ignore[misc]
    for proc in procs:
        proc.terminate()
        proc.wait(10)


