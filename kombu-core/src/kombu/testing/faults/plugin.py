"""The pytest plugin: ``pytest -p kombu.testing.faults --kombu-url=URL``.

Adds the ``--kombu-fault-*`` options (``--kombu-url`` and
``--kombu-transport-options`` are the kit's, whose plugin is loaded with it);
``--kombu-fault-results PATH`` writes what each scenario counted as JSON.
With ``--kombu-url`` and no test paths, the fault suite is what gets collected.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .table import build_results, write_fault_results

SUITE_MODULE = Path(__file__).resolve().with_name("collected.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kombu-faults", "kombu fault and bad-input suite")
    group.addoption("--kombu-faults", dest="kombu_faults", default=None, metavar="LIST",
                    help="comma-separated scenarios this broker allows (default: all that "
                         "apply)")
    group.addoption("--kombu-fault-server", dest="kombu_fault_server", default=None,
                    metavar="COMMAND", help="command running a private server of the broker "
                    "({port} and {dir} are filled in): scenarios run on it and "
                    "broker_restart restarts it")
    group.addoption("--kombu-fault-restart-via-proxy", dest="kombu_fault_restart_via_proxy",
                    action="store_true", help="broker_restart closes every connection at "
                    "the suite's TCP proxy instead of restarting the (shared) server")
    group.addoption("--kombu-fault-envelopes", dest="kombu_fault_envelopes", default=None,
                    metavar="MODULE:WRITE[,MODULE:SET_ASIDE]",
                    help="how to write a raw entry into the broker's storage")
    group.addoption("--kombu-fault-heartbeat", dest="kombu_fault_heartbeat", default=None,
                    metavar="SECONDS", help="connection heartbeat for the workers")
    group.addoption("--kombu-fault-lease-busy", dest="kombu_fault_lease_busy", default=None,
                    metavar="SECONDS", help="how long the leases scenario's consumer stays "
                    "busy (default: three leases)")
    group.addoption("--kombu-fault-cannot-offer", dest="kombu_fault_cannot_offer",
                    default=None, metavar="JSON", help="scenario -> why this broker cannot "
                    "offer 0 lost / 0 twice there (still measured; the table says why)")
    group.addoption("--kombu-fault-results", dest="kombu_fault_results", default=None,
                    metavar="PATH", help="write what each scenario counted as JSON to PATH "
                    "(a file, or a directory for one <transport>.json per transport)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    sources = getattr(pytest.Config, "ArgsSource", None)
    explicit = sources is not None and getattr(config, "args_source", None) == sources.ARGS
    if config.getoption("kombu_url") and not explicit:
        config.args[:] = [str(SUITE_MODULE)]
    path = config.getoption("kombu_fault_results")
    if path:
        config.pluginmanager.register(FaultRecorder(path), "kombu-fault-results")


class FaultRecorder:
    """Collects each scenario's counts and writes them at session end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: dict[str, list[dict[str, Any]]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
        from .suite import FAULT_KEY

        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        entry = item.stash.get(FAULT_KEY, None)
        if entry is None or "scenario" not in entry or report.when == "teardown":
            return
        if report.when == "setup" and not report.failed:
            return
        if entry.get("outcome") != "n/a":
            entry["outcome"] = "fail" if report.failed else "pass"
            if report.failed:
                crash = getattr(report.longrepr, "reprcrash", None)
                text = crash.message if crash is not None else report.longreprtext
                entry["error"] = (text.strip().splitlines() or [""])[0][:300]
        name = entry["transport"]["transport"]
        runs = self.entries.setdefault(name, [])
        runs[:] = [e for e in runs if e["scenario"] != entry["scenario"]] + [entry]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.entries:
            return
        results = {name: build_results(entries) for name, entries in self.entries.items()}
        for path in write_fault_results(self.path, results):
            tr = session.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.write_line(f"kombu.testing.faults: results written to {path}")
