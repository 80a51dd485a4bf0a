"""Developer sessions: one per package, the conformance kit per transport, lint, types,
build and benchmarks.

    nox -l                      list sessions
    nox -s core                 kombu-core's tests
    nox -s "plugin(name='redis')"   one plugin's tests (starts its services)
    nox -s lint types
    nox -s bench                benchmarks side by side with kombu 5.7

CI does not use nox (it runs ``python3 scripts/test.py``, which installs
everything into one virtualenv and runs the groups in parallel); these
sessions give each package an isolated environment.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(p.name.removeprefix("kombu-") for p in (ROOT / "plugins").glob("kombu-*")
                 if (p / "pyproject.toml").exists()) if (ROOT / "plugins").exists() else []
CODEC_EXTRAS = "msgpack,yaml,brotli,zstd"
nox.options.sessions = ["lint", "core"]
nox.options.reuse_existing_virtualenvs = True


def _services(session: nox.Session, folder: Path) -> None:
    services = folder / "SERVICES"
    if services.exists():
        session.run("bash", "scripts/services.sh", *services.read_text().split(),
                    external=True)


@nox.session
def core(session: nox.Session) -> None:
    """kombu-core's own tests (memory and filesystem: no server needed)."""
    session.install("-r", "requirements/test.txt")
    session.install("-e", f"./kombu-core[{CODEC_EXTRAS}]",
                    "./tests/fixtures/kombu-demo-transport")
    session.run("pytest", "tests/core", *session.posargs)


@nox.session
@nox.parametrize("name", PLUGINS)
def plugin(session: nox.Session, name: str) -> None:
    """One plugin's tests against its real broker."""
    session.install("-r", "requirements/test.txt")
    session.install("-e", "./kombu-core", "-e", f"./plugins/kombu-{name}")
    tests = ROOT / "tests" / name
    _services(session, tests)
    session.run("pytest", str(tests.relative_to(ROOT)), *session.posargs)


sys.path.insert(0, str(ROOT / "scripts"))
from kit_targets import TARGETS  # noqa: E402  (the one list of kit runs)


@nox.session
@nox.parametrize("transport", list(TARGETS))
def conformance(session: nox.Session, transport: str) -> None:
    """The conformance kit against one transport (and its real broker)."""
    target = TARGETS[transport]
    session.install("-r", "requirements/test.txt")
    session.install("-e", "./kombu-core")
    if target.plugin:
        session.install("-e", f"./plugins/kombu-{target.plugin}")
    if target.services:
        session.run("bash", "scripts/services.sh", *target.services, external=True)
    session.run("pytest", "-p", "kombu.testing", *target.pytest_args(session.create_tmp()),
                *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over every package and the tests."""
    session.install("ruff")
    session.run("ruff", "check", "kombu-core", "plugins", "tests", "benchmarks",
                "scripts", "templates", "noxfile.py")


@nox.session
def types(session: nox.Session) -> None:
    """mypy over kombu-core."""
    session.install("mypy", "-e", "./kombu-core")
    session.run("mypy", "kombu-core/src/kombu", "--ignore-missing-imports")


@nox.session
def build(session: nox.Session) -> None:
    """Build a wheel and sdist of every package into ./wheelhouse and check them."""
    session.install("build", "twine")
    shutil.rmtree(ROOT / "wheelhouse", ignore_errors=True)
    session.run("python", "scripts/build_wheelhouse.py", "--outdir", "wheelhouse",
                *session.posargs)


@nox.session
def release(session: nox.Session) -> None:
    """Release one package: nox -s release -- kombu-redis 0.2.0 [--dry-run]."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s release -- PACKAGE VERSION [--dry-run]")
    session.install("build", "twine")
    session.run("python", "scripts/release.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: kombu-core vs kombu 5.7 (installed in .bench/kombu57)."""
    session.install("-e", "./kombu-core", *[f"./plugins/kombu-{p}" for p in PLUGINS])
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
