"""The pytest plugin: ``pytest -p kombu.testing --kombu-url=URL``.

Options: ``--kombu-url`` (run the kit against this broker), ``--kombu-transport-options``
(a JSON object) and ``--kombu-results PATH`` (write per-feature outcomes as JSON).
With ``--kombu-url`` and no test paths, the kit is what gets collected.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .features import NOT_SUPPORTED as NOT_SUPPORTED_PREFIX
from .results import FAIL, NOT_SUPPORTED, PASS, SKIPPED, build_run, write_results

KIT_MODULE = Path(__file__).resolve().with_name("kit.py")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kombu", "kombu transport conformance kit")
    group.addoption("--kombu-url", dest="kombu_url", default=None, metavar="URL",
                    help="run the transport conformance kit against this broker URL")
    group.addoption("--kombu-transport-options", dest="kombu_transport_options",
                    default=None, metavar="JSON",
                    help="transport options for the kit's connections, as a JSON object")
    group.addoption("--kombu-results", dest="kombu_results", default=None, metavar="PATH",
                    help="write the kit's per-feature results as JSON to PATH (a file, "
                         "or a directory for one <transport>.json per transport)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    faults = config.pluginmanager.has_plugin("kombu.testing.faults.plugin")
    if config.getoption("kombu_url") and not _explicit_args(config) and not faults:
        config.args[:] = [str(KIT_MODULE)]  # (-p kombu.testing.faults collects its own)
    path = config.getoption("kombu_results")
    if path:
        config.pluginmanager.register(ResultsRecorder(path), "kombu-testing-results")


def _explicit_args(config: pytest.Config) -> bool:
    """Whether test paths were named on the command line (pytest >= 7.4 tells)."""
    sources = getattr(pytest.Config, "ArgsSource", None)
    return sources is not None and getattr(config, "args_source", None) == sources.ARGS


def _outcome(report: pytest.TestReport) -> tuple[str, str]:
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash is not None else report.longreprtext
        return FAIL, (message.strip().splitlines() or [""])[0][:300]
    if report.skipped:
        longrepr = report.longrepr
        reason = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        kind = NOT_SUPPORTED if reason.startswith(NOT_SUPPORTED_PREFIX) else SKIPPED
        return kind, reason
    return PASS, ""


class ResultsRecorder:
    """Collects each kit check's outcome and writes the results at session end."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.infos: dict[str, dict[str, Any]] = {}
        self.checks: dict[str, dict[str, dict[str, Any]]] = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
        from .suite import CHECK_KEY

        outcome = yield
        report: pytest.TestReport = outcome.get_result()
        info = item.stash.get(CHECK_KEY, None)
        if info is None:
            return
        name = info["transport"]["transport"]
        self.infos.setdefault(name, info["transport"])
        checks = self.checks.setdefault(name, {})
        result, reason = _outcome(report)
        entry = checks.get(item.name)
        if entry is None or result == FAIL or (entry["outcome"] == PASS and result != PASS):
            checks[item.name] = {"group": info["group"], "outcome": result,
                                 **({"reason": reason} if reason else {})}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.checks:
            return
        runs = {name: build_run(self.infos[name], checks) for name, checks in self.checks.items()}
        for path in write_results(self.path, runs):
            tr = session.config.pluginmanager.get_plugin("terminalreporter")
            if tr is not None:
                tr.write_line(f"kombu.testing: results written to {path}")
