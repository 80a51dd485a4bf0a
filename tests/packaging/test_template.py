"""A transport package made from the template is discovered and passes the conformance kit.

This is what a third-party author does, following docs/writing-a-transport.md:
generate with ``scripts/new_transport.py``, build, install next to kombu-core
(from the wheelhouse) in a fresh virtualenv, and run
``pytest -p kombu.testing --kombu-url=<scheme>://``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

NAME, SCHEME, MODULE = "acme-kombu-tmplq", "tmplq", "acme_kombu_tmplq"
#: As the template's README says: a short lease, so leases lapse within the kit's patience.
LEASE_OPTIONS = ['--kombu-transport-options={"visibility_timeout": 2}']

PROBE = """
import json, warnings
from kombu import Connection
from kombu.plugins import get_registry
warnings.simplefilter("error")
with Connection("tmplq://") as conn:
    queue = conn.SimpleQueue("hello")
    queue.put({"greeting": "hi"})
    message = queue.get(timeout=2)
    message.ack()
    queue.close()
    entry = get_registry().entry("tmplq")
    print(json.dumps({"payload": message.payload, "module": conn.transport.__module__,
                      "distribution": entry.distribution, "version": entry.version}))
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, helpers: Any) -> Path:
    outdir = tmp_path_factory.mktemp("generated")
    helpers.run([sys.executable, str(helpers.ROOT / "scripts" / "new_transport.py"), NAME,
                 "--scheme", SCHEME, "--author", "Acme Messaging", "--outdir", str(outdir)])
    return outdir / NAME


def test_generator_refuses_reserved_names_and_taken_schemes(helpers: Any,
                                                            tmp_path: Path) -> None:
    script = str(helpers.ROOT / "scripts" / "new_transport.py")
    for args, error in ((["kombu-foo"], "reserved"),
                        (["acme-kombu-redis"], "already served"),
                        (["Acme_Foo"], "not a distribution name")):
        proc = helpers.run([sys.executable, script, *args, "--outdir", str(tmp_path)],
                           check=False)
        assert proc.returncode == 1 and error in proc.stderr, (args, proc.stderr)
    assert list(tmp_path.iterdir()) == []


def test_generated_package_is_complete(generated: Path) -> None:
    files = {p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file()}
    assert files == {
        "pyproject.toml", "README.md", "CHANGELOG.md", "LICENSE", "tests/test_transport.py",
        f"src/{MODULE}/__init__.py", f"src/{MODULE}/transport.py", f"src/{MODULE}/storage.py",
        f"src/{MODULE}/py.typed",
    }
    for path in files:
        assert "{{" not in (generated / path).read_text(), path


def test_template_package_is_discovered_and_passes_the_kit(
        generated: Path, wheelhouse: Any, make_venv: Any, helpers: Any, bw: Any,
        build_python: str, tmp_path: Path) -> None:
    # It builds, and its artefacts meet the bar of our own packages.
    pkg = bw.load_package(generated)
    _, wheel = bw.build(pkg, tmp_path, isolation=False, python=build_python)
    core_version = wheelhouse.packages["kombu-core"].version
    assert bw.check([pkg], tmp_path, core_version, python=build_python) == []

    # Installed next to kombu-core (ours from the wheelhouse only) ...
    venv = make_venv("template")
    venv.install(wheelhouse, "kombu-core", str(wheel), "pytest")
    assert {"kombu-core", NAME} <= set(venv.distributions())

    # ... it is found through its entry point and works.
    result = json.loads(venv.python_run(PROBE).stdout)
    assert result == {"payload": {"greeting": "hi"}, "module": f"{MODULE}.transport",
                      "distribution": NAME, "version": pkg.version}

    # Its own tests pass ...
    own = helpers.run([venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                      cwd=generated, check=False)
    assert own.returncode == 0, own.stdout[-3000:]

    # ... and so does the conformance kit, run as the guide says.
    kit = venv.python_run("import kombu.testing", check=False)
    if kit.returncode and not (helpers.ROOT / "kombu-core/src/kombu/testing/__init__.py").exists():
        pytest.skip("the conformance kit (kombu.testing) is not in this checkout yet")
    proc = helpers.run([venv.python, "-m", "pytest", "-p", "kombu.testing",
                        f"--kombu-url={SCHEME}://", *LEASE_OPTIONS, "-q", "-p",
                        "no:cacheprovider", "-rfE"],
                       cwd=generated, check=False)
    tail = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout, tail


def test_guide_covers_every_hook_and_feature(helpers: Any) -> None:
    """docs/writing-a-transport.md keeps up with the kernel and the transport base."""
    from kombu import plugins
    from kombu.transport.base import default_transport_capabilities

    guide = (helpers.ROOT / "docs" / "writing-a-transport.md").read_text()
    hooks = [name for name in vars(plugins._HookSpecs) if name.startswith("kombu_")]
    assert hooks
    for name in [*hooks, plugins.ENTRY_POINT_GROUP, "KOMBU_PLUGIN_API",
                 "KOMBU_DISABLE_PLUGIN_AUTOLOAD", "scripts/new_transport.py",
                 "pytest -p kombu.testing --kombu-url=", "Storage", "lease_seconds",
                 "restore_lapsed"]:
        assert name in guide, f"the guide does not mention {name}"
    assert f"currently `{plugins.KERNEL_API_VERSION}`" in guide
    template = helpers.ROOT / "templates" / "kombu-transport-template"
    transport = (template / "src" / "{{module}}" / "transport.py").read_text()
    readme = (template / "README.md").read_text()
    assert LEASE_OPTIONS[0].split("=", 1)[1] in readme, "the template's README shows the kit run"
    for key in default_transport_capabilities:
        assert f"{key}=" in guide, f"the guide does not describe implements[{key!r}]"
        assert f"{key}=" in transport, f"the template does not state {key!r}"
