"""The fault suite as collected by ``pytest -p kombu.testing.faults --kombu-url=URL``."""

from __future__ import annotations

from .suite import FaultSuite


class TestFaults(FaultSuite):
    """Every scenario against the broker ``--kombu-url`` names."""
