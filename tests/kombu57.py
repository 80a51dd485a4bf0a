"""kombu 5.7 beside us: its interpreter, for tests that compare with it.

The virtualenv is the benchmarks' (``.bench/kombu57``, made and cached by
``benchmarks/baseline.py``), so tests and benchmarks share one.  When it
cannot be built (no network, pip failing) a test skips, or fails under
``CI=true``.
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

from brokers import unavailable

ROOT = Path(__file__).resolve().parents[1]


def load_baseline() -> ModuleType:
    """benchmarks/baseline.py as a module."""
    spec = importlib.util.spec_from_file_location("kombu57_baseline",
                                                  ROOT / "benchmarks" / "baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kombu57_python(packages: tuple[str, ...] = ()) -> Path:
    """The interpreter of kombu 5.7's virtualenv (built on first use, ``packages`` added)."""
    try:
        python = Path(load_baseline().kombu57_python(packages))
        version = subprocess.run([str(python), "-c", "import kombu; print(kombu.__version__)"],
                                 capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        unavailable(f"cannot build kombu 5.7's virtualenv in .bench/kombu57 ({exc})")
    assert version.stdout.startswith("5.7."), f"not kombu 5.7: {version.stdout}"
    return python


def run57(code: str, *args: str, packages: tuple[str, ...] = ()) -> str:
    """Run ``code`` under kombu 5.7 (with ``packages`` installed) and return what it prints."""
    proc = subprocess.run([str(kombu57_python(packages)), "-c", code, *args],
                          capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
