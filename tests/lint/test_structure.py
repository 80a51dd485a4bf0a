"""The structure the emulated broker promises: one engine, used through public names.

- Transports built on the emulated broker (kombu.transport.virtual) implement
  its storage contract; none of them defines its own ``basic_publish``,
  ``_lookup`` or ``drain_events``.
- Plugins import only public names from kombu.
- The engine and the plugins stay readable: no module past 600 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "kombu-core" / "src" / "kombu"
ENGINE = CORE / "transport" / "virtual"
PLUGIN_SOURCES = sorted(ROOT.glob("plugins/*/src/*"))
ENGINE_METHODS = {"basic_publish", "_lookup", "drain_events"}
MAX_LINES = 600


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


def _imports_engine(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names = {a.name for a in node.names}
            if "virtual" in module.split(".") or "virtual" in names:
                return True
        elif isinstance(node, ast.Import) and any("virtual" in a.name.split(".")
                                                   for a in node.names):
            return True
    return False


def _emulated_transport_files() -> list[Path]:
    """Transport modules that build on the emulated broker (outside the engine itself)."""
    candidates = _python_files(CORE / "transport", *PLUGIN_SOURCES)
    return [p for p in candidates if ENGINE not in p.parents and _imports_engine(p)]


def test_there_are_emulated_transports_to_check() -> None:
    names = {p.parent.name if p.name == "__init__.py" else p.stem
             for p in _emulated_transport_files()}
    assert {"memory", "filesystem"} <= names
    assert any("kombu_redis" in str(p) for p in _emulated_transport_files())


@pytest.mark.parametrize("path", _emulated_transport_files(),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_transport_redefines_the_engine(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [f"{node.name}.{item.name}" for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
             for item in node.body
             if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
             and item.name in ENGINE_METHODS]
    assert not found, (f"{path.relative_to(ROOT)} defines {found}: the emulated broker's "
                       f"engine does this once; implement the storage contract instead")


def _private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "kombu":
            parts = node.module.split(".")
            bad += [f"from {node.module} import {a.name}" for a in node.names
                    if a.name.startswith("_") or any(p.startswith("_") for p in parts)]
        elif isinstance(node, ast.Import):
            bad += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "kombu"
                    and any(p.startswith("_") for p in a.name.split("."))]
    return bad


@pytest.mark.parametrize("path", _python_files(*PLUGIN_SOURCES),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_import_only_public_names(path: Path) -> None:
    bad = _private_imports(path)
    assert not bad, f"{path.relative_to(ROOT)} imports private kombu names: {bad}"


def test_private_import_detector_catches_them(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from kombu.transport.virtual.base import _ttl_ms\n"
                      "from kombu.transport import virtual\n"
                      "import kombu._private\n")
    assert _private_imports(sample) == [
        "from kombu.transport.virtual.base import _ttl_ms", "import kombu._private"]


@pytest.mark.parametrize("path", _python_files(ENGINE, CORE / "transport" / "filesystem",
                                               *PLUGIN_SOURCES),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_readable(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, (f"{path.relative_to(ROOT)} has {lines} lines: split it by "
                                f"concern before it passes {MAX_LINES}")
