"""The kit as collected by ``pytest -p kombu.testing --kombu-url=URL``."""

from __future__ import annotations

from .suite import TransportConformance


class TestTransport(TransportConformance):
    """Every check against the transport ``--kombu-url`` names."""
