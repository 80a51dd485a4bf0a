"""``pip install 'kombu-core[<extras>]'`` from the wheelhouse, in fresh virtualenvs.

Exactly the expected distributions arrive (ours from the wheelhouse, never
from an index), each installed transport resolves, and each missing one
names the ``pip install`` that provides it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
#: extra -> (distribution, schemes it serves, kombu module path it answers)
FIRST_PARTY = {
    "redis": ("kombu-redis", ["redis", "rediss"], "kombu.transport.redis"),
    "amqp": ("kombu-amqp", ["amqp", "pyamqp", "amqps"], "kombu.transport.pyamqp"),
    "zk": ("kombu-zk", ["zookeeper", "zk"], "kombu.transport.zookeeper"),
    "sqs": ("kombu-sqs", ["sqs"], "kombu.transport.SQS"),
    "mongo": ("kombu-mongo", ["mongodb", "mongodb+srv"], "kombu.transport.mongodb"),
}

PROBE = """
import json, warnings
from kombu import Connection
from kombu.transport import get_transport_cls
schemes, modules = json.loads(ARGS)
out = {}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for scheme in schemes:
        try:
            cls = get_transport_cls(scheme)
            Connection(scheme + "://localhost:1/").transport_cls
            out[scheme] = ["ok", cls.__module__]
        except Exception as exc:
            out[scheme] = [type(exc).__name__, str(exc)]
    for path in modules:
        try:
            module = __import__(path, fromlist=["Transport"])
            out[path] = ["ok", module.Transport.__module__]
        except Exception as exc:
            out[path] = [type(exc).__name__, str(exc)]
out["warnings"] = [str(w.message) for w in caught]
print(json.dumps(out))
"""


def closure(wheelhouse: Any, requirement: str, canonical: Any) -> set[str]:
    """What pip must install for ``requirement``, from the wheels' own metadata."""
    wheels = {canonical(p.name.split("-")[0]): p for p in wheelhouse.path.glob("*.whl")}
    from zipfile import ZipFile

    todo, seen, names = [Requirement(requirement)], set(), set()
    while todo:
        req = todo.pop()
        name = canonical(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        names.add(name)
        with ZipFile(wheels[name]) as zf:
            meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
            lines = zf.read(meta).decode().split("\n\n", 1)[0].splitlines()
        for line in lines:
            if not line.startswith("Requires-Dist:"):
                continue
            dep = Requirement(line.split(":", 1)[1].strip())
            if dep.marker and not any(dep.marker.evaluate({"extra": e})
                                      for e in (req.extras or {""})):
                continue
            todo.append(dep)
    return names


@pytest.mark.parametrize("extras", ["", "redis", "amqp", "redis,amqp"])
def test_install_kombu_core_with_extras(extras: str, wheelhouse: Any, installed: Any,
                                        helpers: Any) -> None:
    wanted = [e for e in extras.split(",") if e]
    for extra in wanted:
        if FIRST_PARTY[extra][0] not in wheelhouse.packages:
            pytest.skip(f"plugins/{FIRST_PARTY[extra][0]} is not in this checkout")
    venv, report = installed(extras)
    canonical = helpers.canonical

    # Exactly the expected distributions: ours, and the third-party closure.
    found = venv.distributions()
    ours = {name for name in found if name.startswith("kombu")}
    assert ours == {"kombu-core", *(FIRST_PARTY[e][0] for e in wanted)}
    requirement = f"kombu-core[{extras}]" if extras else "kombu-core"
    assert set(found) == closure(wheelhouse, requirement, canonical)
    if not wanted:
        assert set(found) == {"kombu-core", "pluggy"}
    for name in ours:
        assert found[name] == wheelhouse.packages[name].version

    # Everything came from the wheelhouse (pip ran with --no-index).
    origin = wheelhouse.path.resolve().as_uri()
    items = {canonical(i["metadata"]["name"]): i for i in report["install"]}
    assert set(items) == set(found)
    for name, item in items.items():
        assert item["download_info"]["url"].startswith(origin), (name, item["download_info"])

    # Installed transports resolve; missing ones name their install command.
    schemes = ["memory", *(s for _, ss, _ in FIRST_PARTY.values() for s in ss)]
    modules = [m for _, _, m in FIRST_PARTY.values()]
    probe = venv.python_run(f"ARGS = {json.dumps(json.dumps([schemes, modules]))}\n{PROBE}")
    result = json.loads(probe.stdout)
    assert result.pop("warnings") == []
    assert result["memory"] == ["ok", "kombu.transport.memory"]
    for extra, (dist, dist_schemes, module) in FIRST_PARTY.items():
        package = dist.replace("-", "_")
        if extra in wanted:
            for scheme in dist_schemes:
                assert result[scheme][0] == "ok", result[scheme]
                assert result[scheme][1].startswith(package + ".")
            assert result[module][0] == "ok", result[module]
            assert result[module][1].startswith(package + ".")
        else:
            hint = f"pip install 'kombu-core[{extra}]'"
            for scheme in dist_schemes:
                assert result[scheme][0] == "TransportNotInstalled", result[scheme]
                assert hint in result[scheme][1]
            assert result[module][0] == "ModuleNotFoundError", result[module]
            assert hint in result[module][1]


def test_import_kombu_stays_cheap_with_plugins_installed(wheelhouse: Any,
                                                         installed: Any) -> None:
    """Installing plugins adds nothing to ``import kombu``: no client, no entry-point scan."""
    extras = ",".join(e for e, (dist, _, _) in FIRST_PARTY.items()
                      if dist in wheelhouse.packages)
    venv, _ = installed(extras)
    proc = venv.python_run("import kombu")
    assert proc.stderr == ""
    timing = venv.python_run("import kombu", PYTHONPROFILEIMPORTTIME="1")
    imported = {re.split(r"\|", line)[-1].strip() for line in timing.stderr.splitlines()
                if "|" in line}
    for forbidden in ("pluggy", "importlib.metadata", "redis", "amqp", "kombu_redis",
                      "kombu_amqp"):
        assert forbidden not in imported
