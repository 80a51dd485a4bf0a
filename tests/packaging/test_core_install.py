"""`pip install ./kombu-core` brings pluggy and nothing else, and imports cheaply."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_core_alone_installs_only_pluggy(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(ROOT / "kombu-core")], check=True, timeout=600)
    listed = subprocess.run([str(py), "-m", "pip", "list", "--format=freeze",
                             "--disable-pip-version-check"],
                            capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0].lower() for line in listed.splitlines() if line}
    assert names - {"pip", "setuptools", "wheel"} == {"kombu-core", "pluggy"}

    # -X importtime: no broker client and no entry-point scan on `import kombu`.
    proc = subprocess.run([str(py), "-X", "importtime", "-c", "import kombu"],
                          capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if "|" in line}
    assert "kombu" in imported
    for forbidden in ("pluggy", "kombu.plugins", "importlib.metadata", "redis", "amqp",
                      "kombu.connection"):
        assert forbidden not in imported, f"import kombu imported {forbidden}"

    # The embedded default works from this clean install.
    run = subprocess.run(
        [str(py), "-c",
         "from kombu import Connection\n"
         "with Connection('memory://') as c:\n"
         "    print(c.transport.__class__.__module__)"],
        capture_output=True, text=True)
    assert run.stdout.strip() == "kombu.transport.memory", run.stderr
    assert sys.version_info >= (3, 10)
