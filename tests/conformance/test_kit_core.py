"""The conformance kit against the core's transports, in process (readable failures).

``test_kit_cli.py`` runs the same kit as ``pytest -p kombu.testing`` and checks the
stored results are current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kit_targets import TARGETS

from kombu.testing import TransportConformance


class TestMemory(TransportConformance):
    url = TARGETS["memory"].url


class TestFilesystem(TransportConformance):
    url = TARGETS["filesystem"].url

    @pytest.fixture
    def kombu_transport_options(self, tmp_path: Path) -> dict[str, Any]:
        return TARGETS["filesystem"].transport_options(str(tmp_path / "broker"))


def test_kit_runs_every_installed_serializer_and_compression() -> None:
    """The kit's round-trip checks are parametrized before any codec lookup happened."""
    from kombu.testing.checks.messages import compressions, serializers

    assert {"json", "pickle", "yaml", "msgpack"} <= set(serializers())
    assert {"application/x-gzip", "application/x-bz2"} <= set(compressions())
