"""The conformance kit against the core's transports, in process (readable failures).

``test_kit_cli.py`` runs the same kit as ``pytest -p kombu.testing`` and checks the
stored results are current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kombu.testing import TransportConformance


class TestMemory(TransportConformance):
    url = "memory://"


class TestFilesystem(TransportConformance):
    url = "filesystem://"

    @pytest.fixture
    def kombu_transport_options(self, tmp_path: Path) -> dict[str, Any]:
        return {"data_folder": str(tmp_path / "broker"), "polling_interval": 0.05}
