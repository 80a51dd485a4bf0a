"""Every package's wheel and sdist carry correct, mutually consistent metadata."""

from __future__ import annotations

import re
import zipfile
from types import ModuleType
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

CORE = "kombu-core"


def _plugins(wheelhouse: Any) -> list[str]:
    return [name for name in wheelhouse.packages if name != CORE]


def test_every_package_is_built_and_passes_the_checks(wheelhouse: Any, bw: ModuleType,
                                                      build_python: str) -> None:
    assert CORE in wheelhouse.packages
    packages = list(wheelhouse.packages.values())
    core_version = wheelhouse.packages[CORE].version
    assert bw.check(packages, wheelhouse.path, core_version, python=build_python) == []


def test_long_description_is_the_readme(wheelhouse: Any, bw: ModuleType) -> None:
    for name, pkg in wheelhouse.packages.items():
        meta, _, _ = bw.wheel_metadata(wheelhouse.wheel(name))
        readme = (pkg.path / "README.md").read_text()
        assert meta.get_payload().strip() == readme.strip(), name
        assert meta["Description-Content-Type"].startswith("text/markdown")


def test_license_and_typing_marker_ship(wheelhouse: Any, bw: ModuleType) -> None:
    for name in wheelhouse.packages:
        meta, names, _ = bw.wheel_metadata(wheelhouse.wheel(name))
        assert meta["License-Expression"] == "BSD-3-Clause", name
        assert any(n.endswith("/licenses/LICENSE") for n in names), name
        packages = {n.split("/")[0] for n in names if n.endswith("/__init__.py")}
        for package in packages:
            assert f"{package}/py.typed" in names, f"{name}: {package} has no py.typed"
        _, members = bw.sdist_metadata(wheelhouse.sdist(name))
        assert {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"} <= set(members)


def test_plugins_require_a_bounded_compatible_core(wheelhouse: Any, bw: ModuleType) -> None:
    core = Version(wheelhouse.packages[CORE].version)
    for name in _plugins(wheelhouse):
        meta, _, _ = bw.wheel_metadata(wheelhouse.wheel(name))
        requirement = Requirement(bw.core_requirement(meta))
        assert requirement.specifier.contains(core), f"{name} excludes kombu-core {core}"
        next_major = Version(f"{core.major + 1}.0")
        assert not requirement.specifier.contains(next_major), \
            f"{name}: {requirement} has no upper bound"


def test_core_extras_admit_each_plugin(wheelhouse: Any, bw: ModuleType) -> None:
    meta, _, _ = bw.wheel_metadata(wheelhouse.wheel(CORE))
    extras: dict[str, Requirement] = {}
    for line in meta.get_all("Requires-Dist"):
        req = Requirement(line)
        found = re.search(r"extra == ['\"]([\w-]+)['\"]", str(req.marker or ""))
        if found:
            extras[req.name] = req
    for name in _plugins(wheelhouse):
        extra = name.removeprefix("kombu-")
        assert extra in (meta.get_all("Provides-Extra") or []), f"no kombu-core[{extra}]"
        version = Version(wheelhouse.packages[name].version)
        assert extras[name].specifier.contains(version), \
            f"kombu-core[{extra}] requires {extras[name]}, not {name} {version}"


def test_plugin_entry_points_name_a_module_of_this_kernel_api(wheelhouse: Any,
                                                              bw: ModuleType) -> None:
    kernel = re.search(r"^KERNEL_API_VERSION\s*=\s*\((\d+),\s*(\d+)\)",
                       (wheelhouse.packages[CORE].path / "src/kombu/plugins.py").read_text(),
                       re.M)
    assert kernel is not None
    for name in _plugins(wheelhouse):
        wheel = wheelhouse.wheel(name)
        _, names, entry_points = bw.wheel_metadata(wheel)
        section = entry_points.split("[kombu.plugins]", 1)[1].split("[", 1)[0]
        targets = [line.split("=", 1)[1].strip() for line in section.splitlines()
                   if "=" in line]
        assert targets, f"{name}: empty kombu.plugins group"
        for target in targets:
            path = target.split(":")[0].replace(".", "/") + "/__init__.py"
            assert path in names, f"{name}: entry point {target} is not in the wheel"
            with zipfile.ZipFile(wheel) as zf:
                source = zf.read(path).decode()
            api = re.search(r'^KOMBU_PLUGIN_API\s*=\s*"(\d+)\.(\d+)"', source, re.M)
            assert api is not None, f"{name}: {path} does not state KOMBU_PLUGIN_API"
            assert api.group(1) == kernel.group(1) and int(api.group(2)) <= int(kernel.group(2))


def test_core_long_description_example_runs(capsys: Any) -> None:
    """The example on kombu-core's package page (its README) runs as written."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "kombu-core" / "README.md").read_text()
    [example] = re.findall(r"```python\n(.*?)```", readme, re.S)
    exec(compile(example, "kombu-core/README.md", "exec"), {"__name__": "readme"})
    assert "clip.mp4" in capsys.readouterr().out
