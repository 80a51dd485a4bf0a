#!/usr/bin/env python3
"""Build every package's wheel and sdist into one wheelhouse and check them.

    python scripts/build_wheelhouse.py                      # all packages -> ./wheelhouse
    python scripts/build_wheelhouse.py --outdir /tmp/wh kombu-core kombu-redis
    python scripts/build_wheelhouse.py --with-deps          # + third-party runtime deps

Packages are ``kombu-core`` and every ``plugins/kombu-*`` with a
``pyproject.toml``.  Each is built with ``python -m build`` (sdist, then the
wheel from the sdist, so an incomplete sdist fails here) and checked:
``twine check --strict`` when twine is installed, and always the project's own
rules (version, kombu-core range, entry points, README, license, classifiers,
``py.typed``).  ``--with-deps`` also downloads the third-party dependencies
so that ``pip install --no-index --find-links wheelhouse ...`` works offline.
"""

from __future__ import annotations

import argparse
import email.message
import email.parser
import importlib.util
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "kombu-core"
PLUGIN_GROUP = "kombu.plugins"


@dataclass(frozen=True)
class Package:
    """A buildable project: its folder and what its pyproject.toml says."""

    path: Path
    name: str
    version: str

    @property
    def stem(self) -> str:
        """The file-name form of the distribution name (``kombu_core``)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    @property
    def wheel_name(self) -> str:
        return f"{self.stem}-{self.version}-py3-none-any.whl"

    @property
    def sdist_name(self) -> str:
        return f"{self.stem}-{self.version}.tar.gz"

    @property
    def is_core(self) -> bool:
        return self.name == CORE


def project_table(text: str) -> str:
    """The ``[project]`` table of a pyproject.toml (stdlib only, Python 3.10 too)."""
    start = re.search(r"(?m)^\[project\][ \t]*$", text)
    if start is None:
        raise ValueError("pyproject.toml has no [project] table")
    end = re.compile(r"(?m)^\[").search(text, start.end())
    return text[start.end(): end.start() if end else len(text)]


def load_package(path: Path) -> Package:
    """Read the name and static version from ``path/pyproject.toml``."""
    table = project_table((path / "pyproject.toml").read_text())
    fields = dict(re.findall(r'(?m)^(name|version)\s*=\s*"([^"]+)"', table))
    if set(fields) != {"name", "version"}:
        raise SystemExit(f"{path}/pyproject.toml needs a static name and version")
    return Package(path.resolve(), fields["name"], fields["version"])


def all_packages(root: Path = ROOT) -> list[Package]:
    """kombu-core first, then each plugin in name order."""
    dirs = [root / CORE, *sorted((root / "plugins").glob("kombu-*"))]
    return [load_package(d) for d in dirs if (d / "pyproject.toml").is_file()]


def select(names: list[str], root: Path = ROOT) -> list[Package]:
    """Packages by distribution name (``kombu-redis``), short name (``redis``) or path."""
    known = all_packages(root)
    if not names:
        return known
    chosen = []
    for name in names:
        if Path(name).joinpath("pyproject.toml").is_file():
            chosen.append(load_package(Path(name)))
            continue
        match = [p for p in known if name in (p.name, p.name.removeprefix("kombu-"))]
        if not match:
            raise SystemExit(f"unknown package {name!r}; known: "
                             + ", ".join(p.name for p in known))
        chosen.extend(match)
    return chosen


def has_module(name: str, python: str = sys.executable) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(name) is not None
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return subprocess.run([python, "-c", code]).returncode == 0


def build(pkg: Package, outdir: Path, *, isolation: bool = True,
          python: str = sys.executable, quiet: bool = True) -> list[Path]:
    """Build ``pkg``'s sdist, then its wheel from that sdist, into ``outdir``."""
    if not has_module("build", python):
        raise SystemExit(f"{python} has no 'build' module: pip install build")
    outdir.mkdir(parents=True, exist_ok=True)
    cmd = [python, "-m", "build", "--outdir", str(outdir), str(pkg.path)]
    if not isolation:
        cmd.insert(3, "--no-isolation")
    proc = subprocess.run(cmd, capture_output=quiet, text=True)
    if proc.returncode:
        raise SystemExit(f"building {pkg.name} failed:\n{proc.stdout or ''}{proc.stderr or ''}")
    return [outdir / pkg.sdist_name, outdir / pkg.wheel_name]


# -- checks ------------------------------------------------------------------


def wheel_metadata(wheel: Path) -> tuple[email.message.Message, list[str], str]:
    """METADATA, the file names and entry_points.txt of a wheel."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        eps = next((n for n in names if n.endswith(".dist-info/entry_points.txt")), None)
        text = zf.read(meta).decode()
        entry_points = zf.read(eps).decode() if eps else ""
    return email.parser.Parser().parsestr(text), names, entry_points


def sdist_metadata(sdist: Path) -> tuple[email.message.Message, list[str]]:
    """PKG-INFO and the member names (without the top folder) of an sdist."""
    with tarfile.open(sdist) as tf:
        members = tf.getnames()
        top = members[0].split("/")[0]
        info = tf.extractfile(f"{top}/PKG-INFO")
        assert info is not None
        text = info.read().decode()
    names = [m.split("/", 1)[1] for m in members if "/" in m]
    return email.parser.Parser().parsestr(text), names


def core_requirement(meta: email.message.Message) -> str | None:
    """The unconditional ``Requires-Dist`` on kombu-core, if any."""
    for req in meta.get_all("Requires-Dist") or []:
        spec, _, marker = req.partition(";")
        if re.match(r"kombu[-_.]core\b", spec.strip(), re.I) and "extra" not in marker:
            return spec.strip()
    return None


def _range_problems(requirement: str, core_version: str) -> list[str]:
    spec = re.sub(r"^kombu[-_.]core\s*", "", requirement, flags=re.I).strip("() ")
    if not any(op in spec for op in (">=", "~=", "==")) or not (
            "<" in spec or "~=" in spec or "==" in spec):
        return [f"requires {requirement!r}: state a bounded range such as "
                f"'kombu-core>=0.1,<0.2'"]
    try:
        from packaging.specifiers import SpecifierSet
    except ImportError:  # pragma: no cover - packaging ships with build and pip
        return []
    if core_version not in SpecifierSet(spec):
        return [f"requires {requirement!r}, which excludes this kombu-core ({core_version})"]
    return []


def check_metadata(pkg: Package, meta: email.message.Message) -> list[str]:
    """What twine would reject, checked with the stdlib (for hosts without twine)."""
    problems = []
    for field in ("Metadata-Version", "Name", "Version", "Summary", "Requires-Python"):
        if not meta.get(field):
            problems.append(f"no {field}")
    if (meta.get("Name") or "").lower() != pkg.name.lower():
        problems.append(f"Name is {meta.get('Name')!r}, expected {pkg.name!r}")
    if meta.get("Version") != pkg.version:
        problems.append(f"Version is {meta.get('Version')!r}, expected {pkg.version!r}")
    if meta.get("Description-Content-Type", "").split(";")[0] != "text/markdown":
        problems.append("the long description is not the Markdown README")
    body = meta.get_payload()
    if not isinstance(body, str) or len(body.strip()) < 40:
        problems.append("the long description (README) is empty or a stub")
    if not (meta.get("License-Expression") or meta.get("License")):
        problems.append("no license")
    classifiers = meta.get_all("Classifier") or []
    if "Typing :: Typed" not in classifiers:
        problems.append("no 'Typing :: Typed' classifier")
    if not any(c.startswith("Programming Language :: Python :: 3") for c in classifiers):
        problems.append("no Python version classifiers")
    return problems


def check_wheel(pkg: Package, wheel: Path, core_version: str | None = None) -> list[str]:
    """The project's rules for a wheel; returns the problems found."""
    meta, names, entry_points = wheel_metadata(wheel)
    problems = check_metadata(pkg, meta)
    if not any(n.endswith("/py.typed") for n in names):
        problems.append("no py.typed in the wheel")
    if not any("/licenses/" in n for n in names):
        problems.append("no license file in the wheel (add LICENSE next to pyproject.toml)")
    if not pkg.is_core:
        if f"[{PLUGIN_GROUP}]" not in entry_points:
            problems.append(f"no entry point in the {PLUGIN_GROUP!r} group")
        requirement = core_requirement(meta)
        if requirement is None:
            problems.append("no dependency on kombu-core")
        elif core_version:
            problems += _range_problems(requirement, core_version)
    return [f"{wheel.name}: {p}" for p in problems]


def check_sdist(pkg: Package, sdist: Path) -> list[str]:
    """The project's rules for an sdist; returns the problems found."""
    meta, names = sdist_metadata(sdist)
    problems = check_metadata(pkg, meta)
    for required in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        if required not in names:
            problems.append(f"no {required}")
    if not any(n.endswith("/py.typed") for n in names):
        problems.append("no py.typed")
    return [f"{sdist.name}: {p}" for p in problems]


def twine_check(files: list[Path], python: str = sys.executable) -> list[str]:
    """``twine check --strict``; an empty list when it passes or is unavailable."""
    if not has_module("twine", python):
        return []
    proc = subprocess.run([python, "-m", "twine", "check", "--strict", *map(str, files)],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return []
    return [f"twine check --strict failed:\n{proc.stdout}{proc.stderr}"]


def check(packages: list[Package], outdir: Path, core_version: str | None = None,
          python: str = sys.executable) -> list[str]:
    """Check every package's artefacts in ``outdir``."""
    problems: list[str] = []
    files: list[Path] = []
    for pkg in packages:
        wheel, sdist = outdir / pkg.wheel_name, outdir / pkg.sdist_name
        for artefact in (wheel, sdist):
            if not artefact.is_file():
                problems.append(f"{pkg.name}: {artefact.name} was not built")
        if wheel.is_file():
            problems += check_wheel(pkg, wheel, core_version)
            files.append(wheel)
        if sdist.is_file():
            problems += check_sdist(pkg, sdist)
            files.append(sdist)
    return problems + twine_check(files, python)


# -- third-party dependencies ------------------------------------------------


def third_party_requirements(wheels: list[Path], ours: set[str]) -> list[str]:
    """The unconditional requirements of ``wheels`` that are not our packages."""
    reqs: list[str] = []
    for wheel in wheels:
        meta, _, _ = wheel_metadata(wheel)
        for req in meta.get_all("Requires-Dist") or []:
            spec, _, marker = req.partition(";")
            name = re.split(r"[\s<>=!~\[(;]", spec.strip(), maxsplit=1)[0]
            if "extra" in marker or re.sub(r"[-_.]+", "-", name).lower() in ours:
                continue
            if req not in reqs:
                reqs.append(req)
    return reqs


def download(requirements: list[str], outdir: Path, python: str = sys.executable) -> None:
    """``pip download`` ``requirements`` (and their dependencies) into ``outdir``."""
    if requirements:
        subprocess.run([python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--only-binary", ":all:", "--dest", str(outdir), *requirements],
                       check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("packages", nargs="*",
                        help="distribution names, short names or folders (default: all)")
    parser.add_argument("--outdir", type=Path, default=ROOT / "wheelhouse")
    parser.add_argument("--no-isolation", action="store_true",
                        help="build with the current environment's hatchling (faster)")
    parser.add_argument("--with-deps", action="store_true",
                        help="also download the third-party runtime dependencies")
    parser.add_argument("--check-only", action="store_true",
                        help="check artefacts already in --outdir; build nothing")
    parser.add_argument("--no-check", action="store_true",
                        help="build (and download) only; leave the checks to the caller")
    ns = parser.parse_args(argv)
    packages = select(ns.packages)
    outdir: Path = ns.outdir.resolve()
    if not ns.check_only:
        for pkg in packages:
            print(f"building {pkg.name} {pkg.version}", flush=True)
            build(pkg, outdir, isolation=not ns.no_isolation)
    core = load_package(ROOT / CORE)
    problems = [] if ns.no_check else check(packages, outdir, core.version)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if ns.with_deps:
        ours = {p.name for p in all_packages()}
        download(third_party_requirements([outdir / p.wheel_name for p in packages], ours),
                 outdir)
    for pkg in packages:
        print(f"{'built' if ns.no_check else 'ok'}  {pkg.sdist_name}  {pkg.wheel_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
