"""The code base stays ruff-clean; kombu-core and every plugin stay mypy-clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("package", sorted(p.name for p in (ROOT / "plugins").iterdir()
                                           if (p / "src").is_dir()))
def test_mypy_plugin(package: str) -> None:
    sources = next((ROOT / "plugins" / package / "src").glob("kombu_*"))
    proc = subprocess.run([sys.executable, "-m", "mypy", str(sources.relative_to(ROOT)),
                           "--ignore-missing-imports", "--no-incremental"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
