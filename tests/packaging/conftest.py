"""Fixtures for the packaging tests: one wheelhouse per session, fresh virtualenvs.

Our own distributions are installed from the wheelhouse only (``--no-index``,
pip configuration and ``PIP_*`` variables ignored); the third-party ones they
need are downloaded into the wheelhouse first, from the package index.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
#: Third-party distributions the tests install besides the packages' own needs.
KIT_REQUIREMENTS = ["pytest>=8"]
TIMEOUT = 300


def load_script(name: str) -> ModuleType:
    """Import ``scripts/<name>.py`` (scripts/ is not a package)."""
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = sys.modules.get(name) or importlib.util.module_from_spec(spec)
    if name not in sys.modules:
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for subprocesses in a test venv: no pip config, no PYTHONPATH."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "KOMBU_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run(cmd: list[str], *, check: bool = True, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", clean_env())
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, **kwargs)
    if check and proc.returncode:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Venv:
    """A fresh virtualenv (``python -m venv``)."""

    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def pip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([self.python, "-m", "pip", *args], check=check)

    def install(self, wheelhouse: Wheelhouse, *requirements: str,
                check: bool = True) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
        """``pip install --no-index --find-links <wheelhouse>``; returns pip's --report."""
        report = self.path / f"report-{len(list(self.path.glob('report-*')))}.json"
        proc = self.pip("install", "--no-index", "--find-links", str(wheelhouse.path),
                        "--report", str(report), *requirements, check=check)
        data = json.loads(report.read_text()) if report.exists() else {}
        return proc, data

    def python_run(self, code: str, *, check: bool = True, cwd: Path | None = None,
                   **env: str) -> subprocess.CompletedProcess[str]:
        return run([self.python, "-c", code], check=check, cwd=cwd, env=clean_env(**env))

    def distributions(self) -> dict[str, str]:
        """Installed distributions (canonical name -> version), pip/setuptools aside."""
        code = ("import importlib.metadata as m, json; print(json.dumps("
                "{d.metadata['Name']: d.version for d in m.distributions()}))")
        found = json.loads(self.python_run(code).stdout)
        return {canonical(k): v for k, v in found.items()
                if canonical(k) not in ("pip", "setuptools", "wheel")}


@dataclass
class Wheelhouse:
    """The built wheelhouse: our packages (by distribution name) and third-party wheels."""

    path: Path
    packages: dict[str, Any] = field(default_factory=dict)  # name -> build_wheelhouse.Package

    def wheel(self, name: str) -> Path:
        return self.path / self.packages[name].wheel_name

    def sdist(self, name: str) -> Path:
        return self.path / self.packages[name].sdist_name


@pytest.fixture(scope="session")
def bw() -> ModuleType:
    """scripts/build_wheelhouse.py as a module."""
    return load_script("build_wheelhouse")


@pytest.fixture(scope="session")
def build_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with ``build`` (and twine, hatchling): this one, or a tool venv made once."""
    needed = ("build", "twine", "hatchling")
    if all(importlib.util.find_spec(m) for m in needed):
        return sys.executable
    tools = Venv(tmp_path_factory.mktemp("tools") / "venv")
    run([sys.executable, "-m", "venv", str(tools.path)], env=None)
    run([tools.python, "-m", "pip", "install", "-q", *needed], env=None)
    return tools.python


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory, bw: ModuleType,
               build_python: str) -> Wheelhouse:
    """Every package built (sdist + wheel), plus the third-party wheels.

    The artefact checks are a test of their own (test_wheelhouse.py), so that
    one package's metadata problem does not stop the install tests.
    """
    out = tmp_path_factory.mktemp("wheelhouse")
    run([build_python, str(SCRIPTS / "build_wheelhouse.py"), "--outdir", str(out),
         "--with-deps", "--no-isolation", "--no-check"], env=None, cwd=ROOT)
    run([build_python, "-m", "pip", "download", "-q", "--only-binary", ":all:",
         "--dest", str(out), *KIT_REQUIREMENTS], env=None)
    return Wheelhouse(out, {p.name: p for p in bw.all_packages(ROOT)})


@pytest.fixture(scope="session")
def make_venv(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Venv]:
    """Create a fresh virtualenv named ``name`` (with pip, without our packages)."""
    base = tmp_path_factory.mktemp("venvs")

    def make(name: str) -> Venv:
        venv = Venv(base / name)
        run([sys.executable, "-m", "venv", str(venv.path)])
        return venv

    return make


@pytest.fixture(scope="session")
def installed(wheelhouse: Wheelhouse,
              make_venv: Callable[[str], Venv]) -> Iterator[Callable[[str], tuple[Venv, dict]]]:
    """``installed("redis,amqp")``: a venv with ``kombu-core[redis,amqp]`` (made once)."""
    cache: dict[str, tuple[Venv, dict[str, Any]]] = {}

    def get(extras: str) -> tuple[Venv, dict[str, Any]]:
        if extras not in cache:
            venv = make_venv("core-" + (extras.replace(",", "-") or "alone"))
            target = f"kombu-core[{extras}]" if extras else "kombu-core"
            _, report = venv.install(wheelhouse, target)
            cache[extras] = (venv, report)
        return cache[extras]

    yield get


# -- throwaway plugin wheels ---------------------------------------------------


def make_wheel(outdir: Path, name: str, version: str, *, module: str, source: str,
               requires: list[str], entry_points: dict[str, str] | None = None) -> Path:
    """Write a minimal pure-Python wheel (no build backend needed)."""
    stem = re.sub(r"[-_.]+", "_", name).lower()
    dist_info = f"{stem}-{version}.dist-info"
    metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                "Summary: A throwaway kombu plugin built by the packaging tests",
                "Requires-Python: >=3.10", *(f"Requires-Dist: {r}" for r in requires)]
    files = {
        f"{module}/__init__.py": source,
        f"{dist_info}/METADATA": "\n".join(metadata) + "\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: kombu-core-tests\n"
                              "Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if entry_points:
        lines = ["[kombu.plugins]", *(f"{k} = {v}" for k, v in entry_points.items())]
        files[f"{dist_info}/entry_points.txt"] = "\n".join(lines) + "\n"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={b64}", len(text.encode())])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    files[f"{dist_info}/RECORD"] = record.getvalue()
    wheel = outdir / f"{stem}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel


@pytest.fixture(scope="session")
def helpers() -> Any:
    """The module-level helpers of this conftest (test modules cannot import it)."""
    from types import SimpleNamespace

    return SimpleNamespace(ROOT=ROOT, run=run, clean_env=clean_env, canonical=canonical,
                           make_wheel=make_wheel, load_script=load_script, Venv=Venv)
