"""Every public name of kombu 5.7, and every parameter of its public callables, exists here.

kombu 5.7 is installed in its own virtualenv (the benchmarks' ``.bench/kombu57``,
see ``tests/kombu57.py``), where ``surface_probe.py`` walks its public modules
and prints them as JSON; the same probe then looks those names up in this
checkout's ``kombu``.  Without that virtualenv (no network, pip failing) the
test skips, or fails under ``CI=true``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from kombu57 import kombu57_python

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("surface_probe.py")

#: kombu 5.7's transports: out of this test's scope (each plugin answers for
#: its own), as are the SQS transport's AWS and HTTP clients, which live under
#: kombu.asynchronous in kombu but belong with that transport.
OUT_OF_SCOPE = [
    *(f"kombu.transport.{name}" for name in (
        "SLMQ", "SQS", "azureservicebus", "azurestoragequeues", "confluentkafka", "consul",
        "etcd", "filesystem", "gcpubsub", "librabbitmq", "memory", "mongodb", "pgmq",
        "pyamqp", "pyro", "qpid", "redis", "sqlalchemy", "zookeeper")),
    "kombu.asynchronous.aws",
    "kombu.asynchronous.http",
]



def probe(python: str | Path, request: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([str(python), str(PROBE), json.dumps(request)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def kombu57() -> Path:
    return kombu57_python()


def compare(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """What kombu 5.7 has and we lack, one line each."""
    missing: list[str] = []

    def params(where: str, their: list[str] | None, our: list[str] | None) -> None:
        # A pure forwarder, f(*args, **kwargs), names nothing to compare.
        if their is None or our is None or their == ["*", "**"]:
            return
        missing.extend(f"{where}: parameter {p!r}" for p in their if p not in our)

    for module, names in theirs.items():
        if "error" in names:  # kombu's own module needs a library not installed there
            continue
        found = ours[module]
        if "error" in found:
            missing.append(f"{module}: cannot import ({found['error']})")
            continue
        for name, entry in names.items():
            where = f"{module}.{name}"
            if name not in found:
                missing.append(f"{where}: missing")
                continue
            params(where, entry["params"], found[name]["params"])
            our_members = found[name]["members"]
            for member, spec in entry["members"].items():
                if member not in our_members:
                    missing.append(f"{where}.{member}: missing")
                else:
                    params(f"{where}.{member}", spec["params"], our_members[member]["params"])
    return missing


def test_kombu57_public_surface_is_all_here(kombu57: Path) -> None:
    theirs = probe(kombu57, {"skip": OUT_OF_SCOPE})
    assert len(theirs) > 40 and "kombu.pools" in theirs  # the walk really walked
    wanted = {module: list(names) for module, names in theirs.items() if "error" not in names}
    ours = probe(sys.executable, {"names": wanted})
    missing = compare(theirs, ours)
    assert not missing, f"{len(missing)} missing here:\n" + "\n".join(missing)


def test_compare_reports_missing_names_members_and_parameters() -> None:
    theirs = {"kombu.x": {
        "f": {"kind": "function", "params": ["a", "b", "**"], "members": {}},
        "g": {"kind": "function", "params": ["*", "**"], "members": {}},
        "C": {"kind": "class", "params": [], "members": {
            "m": {"kind": "function", "params": ["timeout"]},
            "gone": {"kind": "value", "params": None}}},
        "absent": {"kind": "value", "params": None, "members": {}},
    }, "kombu.needs_lib": {"error": "ModuleNotFoundError: No module named 'boto'"}}
    ours = {"kombu.x": {
        "f": {"kind": "function", "params": ["a"], "members": {}},
        "g": {"kind": "function", "params": ["errback"], "members": {}},
        "C": {"kind": "class", "params": [], "members": {
            "m": {"kind": "function", "params": []}}},
    }, "kombu.needs_lib": {}}
    assert compare(theirs, ours) == [
        "kombu.x.f: parameter 'b'",
        "kombu.x.f: parameter '**'",
        "kombu.x.C.m: parameter 'timeout'",
        "kombu.x.C.gone: missing",
        "kombu.x.absent: missing",
    ]
    assert compare({"kombu.y": {}}, {"kombu.y": {"error": "ImportError: boom"}}) == [
        "kombu.y: cannot import (ImportError: boom)"]


def test_probe_reads_public_names_from_all_or_from_the_source() -> None:
    ours = probe(sys.executable, {"names": {"kombu.pools": ["reset", "nope"],
                                            "kombu.resource": ["Resource"]}})
    assert set(ours["kombu.pools"]) == {"reset"}
    assert ours["kombu.resource"]["Resource"]["members"]["acquire"]["params"] == [
        "block", "timeout"]


def test_without_kombu57_it_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    import brokers
    import kombu57

    def broken(*_: Any) -> Any:
        raise subprocess.CalledProcessError(1, ["pip", "install", "kombu==5.7.*"])

    monkeypatch.setattr(kombu57, "load_baseline",
                        lambda: type("Baseline", (), {"kombu57_python": staticmethod(broken)}))
    monkeypatch.setattr(brokers, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match=r"cannot build kombu 5\.7"):
        kombu57.kombu57_python()
    monkeypatch.setattr(brokers, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI=true requires it"):
        kombu57.kombu57_python()
