"""scripts/release.py releases one package and touches nothing else.

Runs in a temporary clone of the repository (with the working tree's
uncommitted files laid over it, so it also works before they are committed);
the repository itself is never changed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from release import changelog_heading

ROOT = Path(__file__).resolve().parents[2]
GIT_ENV = {"GIT_AUTHOR_NAME": "release-test", "GIT_AUTHOR_EMAIL": "release@test.invalid",
           "GIT_COMMITTER_NAME": "release-test", "GIT_COMMITTER_EMAIL": "release@test.invalid",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True, timeout=60)
    return proc.stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    repo = tmp_path_factory.mktemp("release") / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(repo)], check=True,
                   capture_output=True, timeout=120)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git(repo, "add", "-A")
    if git(repo, "status", "--porcelain"):
        git(repo, "commit", "--quiet", "--no-verify", "-m", "working tree snapshot")
    return repo


def release(repo: Path, build_python: str, *args: str) -> subprocess.CompletedProcess[str]:
    # build_python has hatchling: build without an isolated environment (faster).
    cmd = [build_python, str(repo / "scripts" / "release.py"), *args, "--no-isolation"]
    return subprocess.run(cmd, cwd=repo, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **GIT_ENV})


def versions(repo: Path) -> dict[str, str]:
    """Every package's pyproject version, by folder."""
    found = {}
    for pyproject in [repo / "kombu-core/pyproject.toml",
                      *sorted(repo.glob("plugins/*/pyproject.toml"))]:
        match = re.search(r'(?m)^version\s*=\s*"([^"]+)"', pyproject.read_text())
        assert match is not None
        found[pyproject.parent.name] = match.group(1)
    return found


def next_minor(version: str) -> str:
    major, minor = version.split(".")[:2]
    return f"{major}.{int(minor) + 1}.0"


def unlisted_version(package: Path, current: str) -> str:
    """The next minor version after ``current`` that ``package``'s CHANGELOG has no entry
    for (a package may already list its next version, e.g. ``## 0.2.0 (unreleased)``)."""
    text = (package / "CHANGELOG.md").read_text()
    new = next_minor(current)
    while changelog_heading(text, new):
        new = next_minor(new)
    return new


def pick_plugin(repo: Path) -> Path:
    plugins = sorted(p.parent for p in repo.glob("plugins/kombu-*/pyproject.toml"))
    if not plugins:
        pytest.skip("no plugin in this checkout")
    names = [p.name for p in plugins]
    return plugins[names.index("kombu-redis")] if "kombu-redis" in names else plugins[0]


def test_release_without_changelog_entry_changes_nothing(clone: Path, build_python: str) -> None:
    plugin = pick_plugin(clone)
    new = unlisted_version(plugin, versions(clone)[plugin.name])
    head, tags = git(clone, "rev-parse", "HEAD"), git(clone, "tag")
    proc = release(clone, build_python, plugin.name, new)
    assert proc.returncode == 1
    assert f"plugins/{plugin.name}/CHANGELOG.md has no entry for {new}" in proc.stderr
    assert git(clone, "status", "--porcelain") == ""
    assert (git(clone, "rev-parse", "HEAD"), git(clone, "tag")) == (head, tags)


def test_dry_run_builds_but_changes_nothing(clone: Path, build_python: str) -> None:
    core = versions(clone)["kombu-core"]
    new = unlisted_version(clone / "kombu-core", core)
    changelog = clone / "kombu-core/CHANGELOG.md"
    text = changelog.read_text()
    changelog.write_text(text.replace("\n## ", f"\n## {new} (unreleased)\n\n- Next.\n\n## ", 1))
    try:
        proc = release(clone, build_python, "kombu-core", new, "--dry-run")
        assert proc.returncode == 0, proc.stderr
        assert f"kombu_core-{new}-py3-none-any.whl" in proc.stdout
        assert f"would commit and tag kombu-core-v{new}" in proc.stdout
        assert versions(clone)["kombu-core"] == core
        assert git(clone, "tag", "--list", f"kombu-core-v{new}") == ""
    finally:
        changelog.write_text(text)
    assert git(clone, "status", "--porcelain") == ""


#: The README's "Releases" example; test_readme_commands.py lists it as run here.
README_DRY_RUN = "python3 scripts/release.py kombu-redis 0.2.0 --dry-run"


def readme_release_commands(readme: str) -> list[str]:
    """The commands of the ```sh blocks in the README's "Releases" section."""
    found = re.search(r"^## Releases\n(.*?)(?=^## )", readme, re.S | re.M)
    assert found, "README has no '## Releases' section"
    blocks = re.findall(r"^```sh\n(.*?)^```", found.group(1), re.S | re.M)
    return [line.partition("#")[0].strip() for block in blocks for line in block.splitlines()
            if line.partition("#")[0].strip()]


def test_readme_dry_run_works_as_written_and_changes_nothing(clone: Path,
                                                             build_python: str) -> None:
    """The README's release command, typed in a fresh clone with a virtualenv active.

    As written: through the shell, ``python3`` found on ``PATH`` (a virtualenv with
    ``build`` and ``twine``, as the ``.venv`` of ``python3 scripts/test.py`` has), an
    isolated build.  Runs before the test below releases in this clone.
    """
    assert readme_release_commands((clone / "README.md").read_text()) == [README_DRY_RUN]
    bindir = Path(build_python).parent
    assert (bindir / "python3").exists(), bindir
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(GIT_ENV, VIRTUAL_ENV=str(bindir.parent),
               PATH=f"{bindir}{os.pathsep}{os.environ['PATH']}")

    def snapshot() -> tuple[str, ...]:
        status = git(clone, "status", "--porcelain", "--ignored", "--untracked-files=all")
        return (git(clone, "rev-parse", "HEAD"), git(clone, "tag"),
                *sorted(ln for ln in status.splitlines() if "__pycache__" not in ln))

    before, versions_before = snapshot(), versions(clone)
    proc = subprocess.run(["sh", "-c", README_DRY_RUN], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"{README_DRY_RUN!r} exited {proc.returncode} (if kombu-redis 0.2.0 is "
        f"released, move the README's example to the next version):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    assert "kombu_redis-0.2.0-py3-none-any.whl" in proc.stdout, proc.stdout
    assert "would commit and tag kombu-redis-v0.2.0" in proc.stdout, proc.stdout
    assert snapshot() == before
    assert versions(clone) == versions_before


def test_releasing_one_plugin_touches_only_its_version_changelog_and_tag(
        clone: Path, build_python: str, bw: Any) -> None:
    plugin = pick_plugin(clone)
    before = versions(clone)
    new = unlisted_version(plugin, before[plugin.name])
    changelog = plugin / "CHANGELOG.md"
    title, _, rest = changelog.read_text().partition("\n")
    changelog.write_text(f"{title}\n\n## {new} (unreleased)\n\n- A change.\n{rest}")
    git(clone, "commit", "--quiet", "-am", f"changelog for {plugin.name} {new}")
    start, tags = git(clone, "rev-parse", "HEAD").strip(), set(git(clone, "tag").split())

    proc = release(clone, build_python, plugin.name, new)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    # One commit, changing only this plugin's version and changelog.
    assert git(clone, "rev-list", "--count", f"{start}..HEAD").strip() == "1"
    changed = set(git(clone, "diff", "--name-only", start, "HEAD").split())
    expected = {f"plugins/{plugin.name}/pyproject.toml", f"plugins/{plugin.name}/CHANGELOG.md"}
    inits = {f"plugins/{plugin.name}/{p.relative_to(plugin)}"
             for p in plugin.glob("src/*/__init__.py") if "__version__" in p.read_text()}
    assert changed == expected | inits
    diff = git(clone, "diff", "--unified=0", start, "HEAD")
    removed = [ln for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert len(removed) == len(changed)  # one line per file: the version or the heading
    assert versions(clone) == {**before, plugin.name: new}
    assert re.search(rf"(?m)^## {re.escape(new)} \(\d{{4}}-\d\d-\d\d\)$", changelog.read_text())
    for init in inits:
        assert f'__version__ = "{new}"' in (clone / init).read_text()

    # One new tag, on that commit, named <distribution>-v<version>.
    assert set(git(clone, "tag").split()) - tags == {f"{plugin.name}-v{new}"}
    assert git(clone, "rev-list", "-n1", f"{plugin.name}-v{new}") == git(clone, "rev-parse",
                                                                         "HEAD")
    assert git(clone, "cat-file", "-t", f"{plugin.name}-v{new}").strip() == "tag"

    # Checked artefacts of the new version; the working tree is clean.
    outdir = clone / "dist" / f"{plugin.name}-{new}"
    pkg = bw.load_package(plugin)
    assert sorted(p.name for p in outdir.iterdir()) == sorted([pkg.sdist_name,
                                                              pkg.wheel_name])
    meta, _, _ = bw.wheel_metadata(outdir / pkg.wheel_name)
    assert meta["Version"] == new
    assert git(clone, "status", "--porcelain") == ""

    # Releasing the same version again is refused.
    again = release(clone, build_python, plugin.name, new)
    assert again.returncode == 1
