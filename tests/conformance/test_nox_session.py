"""``nox -s "conformance(transport='redis')"``, run as written from the repository root.

nox is a developer tool, not a test requirement: it is installed from PyPI into a
throwaway virtualenv whose ``bin`` goes first on ``PATH``, so the command line is
exactly the one a developer types.  The session builds its own virtualenv, installs
kombu-core and kombu-redis, makes sure Redis answers and runs the kit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from brokers import require_service

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "nox -s \"conformance(transport='redis')\""

pytestmark = pytest.mark.timeout(900)


def test_redis_conformance_session_passes_as_written(tmp_path: Path) -> None:
    require_service("redis", "127.0.0.1", 6379)
    tools = tmp_path / "nox-venv"
    subprocess.run([sys.executable, "-m", "venv", str(tools)], check=True)
    pip = subprocess.run([str(tools / "bin" / "pip"), "install", "-q", "nox"],
                         capture_output=True, text=True, timeout=300)
    assert pip.returncode == 0, f"pip install nox failed:\n{pip.stdout}\n{pip.stderr}"
    env = {**os.environ, "PATH": f"{tools / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(COMMAND, shell=True, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=840)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert "Session conformance(transport='redis') was successful" in output
