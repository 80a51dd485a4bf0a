"""kombu-core's import structure: no import circle, and a kernel that imports nothing above it.

Every import statement counts, as it does for a reader of the code: module
level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import kombu

PACKAGE = Path(kombu.__file__).resolve().parent


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The kombu modules one import statement names (``from . import x``: the submodule x)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".")[: None if is_package else -1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    return [name for name in names if name in MODULES]


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module, (path, is_package) in MODULES.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                deps.update(_targets(module, is_package, node))
        deps.discard(module)
        graph[module] = deps
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()]:
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_no_import_circle():
    assert circles(import_graph()) == []


def test_the_checker_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_kernel_imports_nothing_above_it():
    below = reachable(import_graph(), "kombu.plugins")
    above = {m for m in below if m.startswith(("kombu.transport", "kombu.serialization",
                                               "kombu.compression", "kombu.connection",
                                               "kombu.messaging", "kombu.entity"))}
    assert above == set()
    assert below <= {"kombu.exceptions", "kombu.hookspecs", "kombu.core_plugin",
                     "kombu.builtin_codecs"} | {m for m in MODULES if m.startswith("kombu.utils")}


def test_hook_markers_and_specs_live_in_a_leaf():
    assert import_graph()["kombu.hookspecs"] == set()
    proc = subprocess.run(
        [sys.executable, "-c",
         "import sys, kombu.hookspecs\n"
         "print(sorted(m for m in sys.modules if m.startswith('kombu')))"],
        capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == "['kombu', 'kombu.hookspecs']"


def test_the_kernel_reexports_the_plugin_api():
    from kombu import hookspecs, plugins

    for name in ("hookimpl", "hookspec", "CodecSpec", "PROJECT_NAME", "KombuHookSpecs"):
        assert getattr(plugins, name) is getattr(hookspecs, name)
    from kombu.plugins import hookimpl  # what every plugin writes

    assert hookimpl.project_name == "kombu"


def test_common_reexports_the_declaration_cache():
    from kombu import common, declarations

    assert common.maybe_declare is declarations.maybe_declare
    assert common.declaration_cached is declarations.declaration_cached
    assert "kombu.common" not in reachable(import_graph(), "kombu.messaging")
