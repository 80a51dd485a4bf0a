#!/usr/bin/env python3
"""Release one package: bump its version, check its changelog, build, commit and tag.

    python scripts/release.py kombu-redis 0.2.0 --dry-run   # check and build, change nothing
    python scripts/release.py kombu-redis 0.2.0             # then push: git push --follow-tags

Steps, touching nothing outside the package's folder:

1. ``CHANGELOG.md`` must have a heading for the version (``## 0.2.0``,
   optionally followed by ``(unreleased)`` or a date); otherwise stop.
2. Set ``version`` in ``pyproject.toml`` and ``__version__`` (and kombu's
   ``VERSION`` tuple) in the package's ``__init__.py``; date the changelog
   heading.
3. Build the sdist and wheel into ``dist/<distribution>-<version>/`` (repository root) and check
   them (``scripts/build_wheelhouse.py`` rules, plus ``twine check --strict``).
4. Commit those files and create the annotated tag ``<distribution>-v<version>``.

With ``--dry-run`` the bumped copy is built in a temporary folder and the
working tree and git are left alone.
"""

from __future__ import annotations

import argparse
import datetime
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_wheelhouse as bw

ROOT = bw.ROOT
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?(?:\.post\d+)?(?:\.dev\d+)?$")


class ReleaseError(Exception):
    """A precondition of the release is not met."""


def run_git(*args: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise ReleaseError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def version_files(pkg: bw.Package) -> list[Path]:
    """The package's ``__init__.py`` files that state ``__version__``."""
    found = []
    for init in sorted(pkg.path.glob("src/*/__init__.py")):
        if re.search(r"^__version__\s*=", init.read_text(), re.M):
            found.append(init)
    return found


def changelog_heading(text: str, version: str) -> re.Match[str] | None:
    """The ``## <version> ...`` heading (``[version]`` and a ``v`` prefix allowed)."""
    pattern = rf"^##\s+\[?v?{re.escape(version)}\]?(?=\s|$)(?P<rest>.*)$"
    return re.search(pattern, text, re.M)


def bump_pyproject(text: str, version: str) -> str:
    """Replace the ``[project]`` table's ``version`` (and only that one)."""
    start = re.search(r"(?m)^\[project\][ \t]*$", text)
    if start is None:
        raise ReleaseError("pyproject.toml has no [project] table")
    end = re.compile(r"(?m)^\[").search(text, start.end())
    stop = end.start() if end else len(text)
    table, count = re.subn(r'(?m)^version\s*=\s*"[^"]*"', f'version = "{version}"',
                           text[start.end():stop], count=1)
    if not count:
        raise ReleaseError("pyproject.toml's [project] table has no static version")
    return text[: start.end()] + table + text[stop:]


def bump_init(text: str, version: str) -> str:
    """Set ``__version__`` and, when present, a ``version_info_t(...)`` tuple."""
    text = re.sub(r'(?m)^__version__\s*=\s*"[^"]*"', f'__version__ = "{version}"', text)
    parts = re.match(r"(\d+)\.(\d+)\.(\d+)(.*)", version)
    if parts and "version_info_t(" in text:
        major, minor, micro, rest = parts.groups()
        level = re.match(r"(a|b|rc)(\d+)", rest)
        release, serial = (level.group(1), level.group(2)) if level else ("", "")
        text = re.sub(r"version_info_t\(\s*\d+,\s*\d+,\s*\d+,\s*\"[^\"]*\",\s*\"[^\"]*\"\s*\)",
                      f'version_info_t({major}, {minor}, {micro}, "{release}", "{serial}")',
                      text, count=1)
    return text


def date_changelog(text: str, version: str, today: str) -> str:
    """Turn ``## 1.2.0 (unreleased)`` into ``## 1.2.0 (<today>)``."""
    match = changelog_heading(text, version)
    assert match is not None
    rest = match.group("rest")
    if "unreleased" in rest.lower() or not rest.strip():
        heading = f"## {version} ({today})"
        return text[: match.start()] + heading + text[match.end():]
    return text


def _shown(path: Path) -> str:
    """``path`` relative to the repository root when it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _newer(version: str, current: str) -> bool:
    try:
        from packaging.version import Version
    except ImportError:  # pragma: no cover - packaging ships with build
        return version != current
    return Version(version) > Version(current)


def plan(pkg: bw.Package, version: str) -> dict[Path, str]:
    """The new contents of every file the release changes (validating first)."""
    if not VERSION_RE.match(version):
        raise ReleaseError(f"{version!r} is not a release version like 1.2.0 or 1.2.0rc1")
    if not _newer(version, pkg.version):
        raise ReleaseError(f"{pkg.name} is at {pkg.version}; {version} is not newer")
    changelog = pkg.path / "CHANGELOG.md"
    if not changelog.is_file():
        raise ReleaseError(f"{pkg.name} has no CHANGELOG.md ({changelog})")
    text = changelog.read_text()
    if changelog_heading(text, version) is None:
        raise ReleaseError(
            f"{_shown(changelog)} has no entry for {version}: add a '## {version}' "
            f"section describing the changes, then run the release again"
        )
    today = datetime.date.today().isoformat()
    pyproject = pkg.path / "pyproject.toml"
    changes = {
        pyproject: bump_pyproject(pyproject.read_text(), version),
        changelog: date_changelog(text, version, today),
    }
    for init in version_files(pkg):
        changes[init] = bump_init(init.read_text(), version)
    return changes


def _root_of(pkg: bw.Package) -> Path:
    out = run_git("rev-parse", "--show-toplevel", cwd=pkg.path).strip()
    return Path(out)


def check_git(pkg: bw.Package, version: str, files: list[Path]) -> Path:
    """The tag must be new and the package's other files committed."""
    root = _root_of(pkg)
    tag = f"{pkg.name}-v{version}"
    if run_git("tag", "--list", tag, cwd=root).strip():
        raise ReleaseError(f"tag {tag} already exists")
    status = run_git("status", "--porcelain", "--untracked-files=all", "--",
                     str(pkg.path), cwd=root)
    allowed = {f.resolve() for f in files}
    dirty = [line[3:] for line in status.splitlines()
             if (root / line[3:].strip('"')).resolve() not in allowed]
    if dirty:
        raise ReleaseError(f"{pkg.name} has uncommitted changes ({', '.join(dirty)}): "
                           f"commit or stash them so the tag matches what is built")
    return root


def build_and_check(pkg: bw.Package, outdir: Path, isolation: bool) -> list[Path]:
    """Build ``pkg`` into ``outdir`` and raise if a check fails."""
    if outdir.exists():
        shutil.rmtree(outdir)
    files = bw.build(pkg, outdir, isolation=isolation)
    core = bw.load_package(ROOT / bw.CORE) if not pkg.is_core else pkg
    problems = bw.check([pkg], outdir, core.version)
    if problems:
        raise ReleaseError("artefact checks failed:\n" + "\n".join(problems))
    return files


def release(name: str, version: str, *, dry_run: bool = False, tag: bool = True,
            outdir: Path | None = None, isolation: bool = True) -> list[Path]:
    """Run the release; returns the built artefacts."""
    [pkg] = bw.select([name])
    changes = plan(pkg, version)
    say = print
    if dry_run:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / pkg.path.name
            shutil.copytree(pkg.path, copy, ignore=shutil.ignore_patterns(
                "__pycache__", "dist", "build", "*.egg-info"))
            for path, text in changes.items():
                (copy / path.relative_to(pkg.path)).write_text(text)
            target = outdir or Path(tmp) / "dist"
            files = build_and_check(bw.load_package(copy), target, isolation)
            for path in changes:
                say(f"would update {_shown(path)}")
            say(f"would build and check: {', '.join(f.name for f in files)}")
            say(f"would commit and tag {pkg.name}-v{version}")
            return files if outdir else []
    root = check_git(pkg, version, list(changes)) if tag else pkg.path
    originals = {path: path.read_text() for path in changes}
    for path, text in changes.items():
        path.write_text(text)
    try:
        released = bw.load_package(pkg.path)
        files = build_and_check(released, outdir or ROOT / "dist" / f"{pkg.name}-{version}",
                                isolation)
    except BaseException:
        for path, text in originals.items():
            path.write_text(text)
        raise
    for path in changes:
        say(f"updated {_shown(path)}")
    say(f"built and checked: {', '.join(str(f) for f in files)}")
    if tag:
        tag_name = f"{pkg.name}-v{version}"
        run_git("add", "--", *map(str, changes), cwd=root)
        run_git("commit", "--quiet", "-m", f"Release {pkg.name} {version}", "--",
                *map(str, changes), cwd=root)
        run_git("tag", "-a", tag_name, "-m", f"{pkg.name} {version}", cwd=root)
        say(f"committed and tagged {tag_name}; publish with: git push --follow-tags "
            f"&& twine upload {' '.join(str(f) for f in files)}")
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("package", help="distribution name (kombu-redis) or short name (redis)")
    parser.add_argument("version", help="the new version, e.g. 0.2.0")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate, build and check a bumped copy; change nothing")
    parser.add_argument("--no-tag", action="store_true",
                        help="bump and build, but do not commit or tag")
    parser.add_argument("--outdir", type=Path, help="where to put the artefacts")
    parser.add_argument("--no-isolation", action="store_true",
                        help="build with the current environment's hatchling")
    ns = parser.parse_args(argv)
    try:
        release(ns.package, ns.version, dry_run=ns.dry_run, tag=not ns.no_tag,
                outdir=ns.outdir, isolation=not ns.no_isolation)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
