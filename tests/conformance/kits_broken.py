"""The kit subclassed once per broken transport, each with its own ``kombu_connection``
fixture (collected only when named on the command line: see test_broken_transports.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broken_transports import IgnoresPrefetch, IgnoresPriority, LosesRequeued, MisroutesHash

from kombu import Connection
from kombu.testing import TransportConformance


class BrokenKit(TransportConformance):
    transport: type = LosesRequeued
    timeout = 2.0  # in-process broker: what has not come in 2 s is not coming

    @pytest.fixture
    def kombu_connection(self) -> Iterator[Connection]:
        conn = Connection("memory://", transport=self.transport)
        try:
            yield conn
        finally:
            conn.close()


class TestLosesRequeued(BrokenKit):
    transport = LosesRequeued


class TestIgnoresPrefetch(BrokenKit):
    transport = IgnoresPrefetch


class TestMisroutesHash(BrokenKit):
    transport = MisroutesHash


class TestIgnoresPriority(BrokenKit):
    transport = IgnoresPriority
