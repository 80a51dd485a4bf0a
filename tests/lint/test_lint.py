"""The code base stays ruff-clean and kombu-core stays mypy-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATHS = ["kombu-core", "plugins", "tests", "benchmarks", "scripts", "templates", "noxfile.py"]


def test_ruff_check() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", *PATHS], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_kombu_core() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", "kombu-core/src/kombu",
                           "--ignore-missing-imports", "--no-incremental"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
