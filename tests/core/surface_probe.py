"""Print the public surface of the ``kombu`` importable here, as JSON.

Run by ``test_public_surface.py`` under kombu 5.7's interpreter and under
ours (stdlib only, so it runs in either)::

    python surface_probe.py '{"skip": ["kombu.transport.redis", ...]}'  # walk kombu
    python surface_probe.py '{"names": {"kombu.pools": ["reset", ...]}}'  # look these up

Output: ``{module: {name: entry} | {"error": "..."}}`` where an entry is
``{"kind": "class" | "function" | "value", "params": [...] | null,
"members": {member: {"kind": ..., "params": ...}}}``.  Parameters are
``name`` for named ones and ``*`` / ``**`` for variadic ones (``self`` and
``cls`` left out).  A module's public names are its ``__all__``, or else
the names its source binds at top level that do not start with ``_``.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import json
import pkgutil
import sys
import types
import typing
from typing import Any

#: Members every class has; not part of any module's own surface.
_IGNORED_MEMBERS = {"mro"}


def module_names(skip: list[str]) -> list[str]:
    import kombu

    names = ["kombu"]
    for info in pkgutil.walk_packages(kombu.__path__, "kombu."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if any(name == s or name.startswith(s + ".") for s in skip):
            continue
        names.append(name)
    return sorted(names)


def top_level_names(module: types.ModuleType) -> list[str]:
    """Names the module's own source binds at top level (not imports)."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return []
    found: list[str] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            found.append(sub.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                if node.value is not None:
                    found.append(node.target.id)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return [n for n in dict.fromkeys(found) if not n.startswith("_")]


def public_names(module: types.ModuleType) -> list[str]:
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return [str(n) for n in declared]
    names = []
    for name in top_level_names(module):
        value = getattr(module, name, None)
        if isinstance(value, typing.TypeVar) or type(value).__module__ == "typing":
            continue  # type variables and aliases: annotations, not API
        names.append(name)
    return names


def _globals_of(obj: Any) -> dict[str, Any]:
    target = obj.__init__ if inspect.isclass(obj) else obj
    target = getattr(target, "__func__", target)
    return getattr(inspect.unwrap(target), "__globals__", {})


def params(obj: Any) -> list[str] | None:
    """Parameter names of ``obj``, less the local-binding idiom.

    ``def f(x, min=min, READ=READ)`` binds a global (or builtin) to a local
    for speed; such a parameter, whose default is the very object its name
    denotes in the function's module, is not an option anyone passes.
    """
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    namespace = {**vars(builtins), **_globals_of(obj)}
    out = []
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            out.append("*")
        elif p.kind is p.VAR_KEYWORD:
            out.append("**")
        elif p.name not in ("self", "cls") and not (
                p.default is not p.empty and namespace.get(p.name, p) is p.default):
            out.append(p.name)
    return out


def kind_of(value: Any) -> str:
    if inspect.isclass(value):
        return "class"
    if callable(value):
        return "function"
    return "value"


def class_members(cls: type) -> dict[str, Any]:
    """Public members defined or declared by kombu classes in ``cls``'s MRO."""
    members: dict[str, Any] = {}
    for klass in cls.__mro__:
        if not getattr(klass, "__module__", "").startswith("kombu"):
            continue
        for name, raw in vars(klass).items():
            if name.startswith("_") or name in members or name in _IGNORED_MEMBERS:
                continue
            if isinstance(raw, (staticmethod, classmethod)):
                raw = raw.__func__
            if isinstance(raw, property) or not callable(raw):
                members[name] = {"kind": "value", "params": None}
            elif inspect.isclass(raw):
                members[name] = {"kind": "class", "params": params(raw)}
            else:
                members[name] = {"kind": "function", "params": params(raw)}
        # Attributes declared by annotation (set per instance) count as present.
        for name in vars(klass).get("__annotations__", {}):
            if not name.startswith("_"):
                members.setdefault(name, {"kind": "value", "params": None})
    return members


def describe(value: Any) -> dict[str, Any]:
    kind = kind_of(value)
    entry: dict[str, Any] = {"kind": kind, "params": None, "members": {}}
    if kind != "value":
        entry["params"] = params(value)
    if kind == "class":
        entry["members"] = class_members(value)
    return entry


def surface(skip: list[str]) -> dict[str, Any]:
    """Every public module (but those under ``skip``) and its public names."""
    out: dict[str, Any] = {}
    for name in module_names(skip):
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a module whose optional dependency is missing
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[name] = describe_names(module, public_names(module))
    return out


def lookup(wanted: dict[str, list[str]]) -> dict[str, Any]:
    """The named modules and names, as far as they exist here."""
    out: dict[str, Any] = {}
    for name, names in wanted.items():
        try:
            module = importlib.import_module(name)
        except Exception as exc:
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[name] = describe_names(module, names)
    return out


def describe_names(module: types.ModuleType, names: list[str]) -> dict[str, Any]:
    entries: dict[str, Any] = {}
    for public in names:
        try:
            value = getattr(module, public)
        except AttributeError:
            continue  # absent (or named in __all__ but never defined)
        if not isinstance(value, types.ModuleType):
            entries[public] = describe(value)
    return entries


def main(argv: list[str]) -> None:
    request = json.loads(argv[1]) if len(argv) > 1 else {}
    if "names" in request:
        result = lookup(request["names"])
    else:
        result = surface(request.get("skip", []))
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv)
