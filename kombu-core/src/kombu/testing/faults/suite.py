""":class:`FaultSuite`: the fault scenarios as pytest tests, with the fixtures they run on.

Subclass it (the class name must start with ``Test``) and set what your
broker allows, or run it with ``pytest -p kombu.testing.faults --kombu-url=URL``
and the ``--kombu-fault-*`` options (see :mod:`kombu.testing.faults`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ...connection import Connection
from ..results import transport_info
from .envelopes import load_writer
from .events import Tally
from .leases import measure_leases
from .proxy import TcpProxy
from .runtime import Run, Target
from .scenarios import CUT_SECONDS, Scenarios, own_url
from .servers import OwnServer, with_address

__all__ = ("FAULT_KEY", "SCENARIOS", "FaultSuite")

#: Where each scenario records what it measured (item stash), for the results file.
FAULT_KEY = pytest.StashKey[dict[str, Any]]()

#: Scenario names, in table order.
SCENARIOS = ("consumer_sigkill", "producer_sigkill", "broker_restart", "network_cut",
             "slow_consumer", "bad_input", "leases")


class FaultSuite(Scenarios):
    """The fault and bad-input scenarios.  Set ``url`` or pass ``--kombu-url``."""

    url: str | None = None
    transport_options: dict[str, Any] | None = None
    #: Scenarios this broker allows (None: every one that applies to the transport).
    faults: tuple[str, ...] | None = None
    #: Command running a private server of the broker (``{port}``, ``{dir}``); every
    #: scenario then runs on a server of its own, and ``broker_restart`` restarts it.
    server: str | None = None
    #: Restart by closing every connection at the suite's TCP proxy instead (a shared
    #: server that must not be restarted).
    restart_via_proxy = False
    #: ``module:write[,module:set_aside]`` (see :mod:`.envelopes`); None: built in.
    envelopes: str | None = None
    #: Connection heartbeat (seconds) for brokers that have them.
    heartbeat = 0.0
    #: Transport option holding the lease period (raised above the cut for network_cut).
    lease_option = "visibility_timeout"
    #: scenario -> why this broker cannot offer 0 lost / 0 twice there (still measured).
    cannot_offer: dict[str, str] = {}
    #: Seconds the leases scenario keeps its consumer busy (0: three leases).
    lease_busy = 0.0

    # -- fixtures ---------------------------------------------------------------------

    def _option(self, request: pytest.FixtureRequest, name: str) -> Any:
        return request.config.getoption(name, default=None)

    @pytest.fixture
    def fault_target(self, request: pytest.FixtureRequest,
                     tmp_path: Path) -> Iterator[tuple[Target, OwnServer | None]]:
        url = self.url or self._option(request, "kombu_url")
        if not url:
            pytest.fail("the fault suite needs a broker URL: pass --kombu-url=URL or set "
                        f"url on {type(self).__name__}", pytrace=False)
        options = dict(self.transport_options or {})
        raw = self._option(request, "kombu_transport_options")
        if raw:
            options.update(json.loads(raw))
        options = {k: v.replace("{tmp}", str(tmp_path / "data")) if isinstance(v, str) else v
                   for k, v in options.items()}
        server = None
        command = self.server or self._option(request, "kombu_fault_server")
        if command:
            server = OwnServer(command, str(tmp_path))
            if not server.available:
                pytest.skip(f"{server.args[0]} is not installed")
            server.start()
            url = with_address(url, server.port)
        try:
            with Connection(url, transport_options=options) as conn:
                info = transport_info(conn)
                storage = getattr(conn.default_channel, "storage", None)
                lease = getattr(storage, "lease_seconds", None)
            request.node.stash[FAULT_KEY] = {"transport": info}
            heartbeat = float(self._option(request, "kombu_fault_heartbeat") or self.heartbeat)
            target = Target(info["transport"], url, options, heartbeat,
                            bool(info["implements"].get("cross_process")),
                            float(lease) if lease else None)
            yield target, server
        finally:
            if server is not None:
                server.stop()

    def _scenario(self, request: pytest.FixtureRequest, name: str, target: Target,
                  needs: dict[str, str]) -> None:
        """Skip as not applicable (recorded with its reason) when ``needs`` says so."""
        allowed = self.faults
        raw = self._option(request, "kombu_faults")
        if raw:
            allowed = tuple(s.strip() for s in raw.split(","))
        reasons = [why for why in needs.values() if why]
        if allowed is not None and name not in allowed:
            reasons.append("not allowed by this broker's target")
        entry = request.node.stash[FAULT_KEY]
        entry["scenario"] = name
        if reasons:
            entry["outcome"] = "n/a"
            entry["reason"] = "; ".join(reasons)
            pytest.skip(f"n/a: {entry['reason']}")

    def _record(self, request: pytest.FixtureRequest, name: str, tally: Tally, note: str,
                run: Run, **extra: Any) -> None:
        entry = request.node.stash[FAULT_KEY]
        raw = self._option(request, "kombu_fault_cannot_offer")
        exempt = {**self.cannot_offer, **(json.loads(raw) if raw else {})}.get(name)
        entry.update({"tally": tally.as_dict(), "note": note, **extra})
        if exempt:
            entry["cannot_offer"] = exempt
        failures = run.failures()
        if failures:
            entry["worker_failures"] = failures
        assert not failures, f"{name}: workers failed: {failures}"
        if not exempt:
            assert tally.lost == 0 and tally.twice == 0, f"{name}: {tally.explain()}"
        assert tally.published > 0, f"{name}: nothing was published"

    # -- the scenarios ------------------------------------------------------------------

    def _run(self, target: Target, tmp_path: Path, name: str) -> Iterator[Run]:
        run = Run(target, str(tmp_path), name)
        try:
            yield run
        finally:
            run.close()

    def test_consumer_sigkill(self, request: pytest.FixtureRequest, fault_target: Any,
                              tmp_path: Path) -> None:
        target, _server = fault_target
        self._scenario(request, "consumer_sigkill", target, {
            "process": "" if target.cross_process else "in-process broker: no process to kill"})
        for run in self._run(target, tmp_path, "consumer_sigkill"):
            tally, note = self.run_consumer_sigkill(target, run)
            self._record(request, "consumer_sigkill", tally, note, run)
            assert tally.redelivered > 0 or "cannot_offer" in request.node.stash[FAULT_KEY], \
                f"the killed consumer's messages never came back: {tally.explain()}"

    def test_producer_sigkill(self, request: pytest.FixtureRequest, fault_target: Any,
                              tmp_path: Path) -> None:
        target, _server = fault_target
        self._scenario(request, "producer_sigkill", target, {
            "process": "" if target.cross_process else "in-process broker: no process to kill"})
        for run in self._run(target, tmp_path, "producer_sigkill"):
            tally, note = self.run_producer_sigkill(target, run)
            self._record(request, "producer_sigkill", tally, note, run)
            assert tally.copies == 0, f"published messages stored twice: {tally.explain()}"

    def test_broker_restart(self, request: pytest.FixtureRequest, fault_target: Any,
                            tmp_path: Path) -> None:
        target, server = fault_target
        via_proxy = self.restart_via_proxy or bool(
            self._option(request, "kombu_fault_restart_via_proxy"))
        self._scenario(request, "broker_restart", target, {
            "process": "" if target.cross_process else "in-process broker",
            "server": "" if server is not None or via_proxy else
            "no server the suite runs itself (a shared server is never restarted)"})
        proxy = None
        if via_proxy:
            port = _port_of(target.url)
            assert port is not None, f"no port in {target.url}: nothing to proxy"
            proxy = TcpProxy("127.0.0.1", port).start()
            target = own_url(target, proxy.port)
        try:
            for run in self._run(target, tmp_path, "broker_restart"):
                tally, note = self.run_broker_restart(target, run, None if via_proxy
                                                      else server, proxy)
                self._record(request, "broker_restart", tally, note, run)
        finally:
            if proxy is not None:
                proxy.close()

    def test_network_cut(self, request: pytest.FixtureRequest, fault_target: Any,
                         tmp_path: Path) -> None:
        target, _server = fault_target
        port = _port_of(target.url)
        self._scenario(request, "network_cut", target, {
            "process": "" if target.cross_process else "in-process broker",
            "network": "" if port else "no network between client and broker"})
        if target.lease is not None and target.lease < 3 * CUT_SECONDS:
            target = target.with_options(**{self.lease_option: 3 * CUT_SECONDS})
            target.lease = 3 * CUT_SECONDS
        assert port is not None
        with TcpProxy("127.0.0.1", port).start() as proxy:
            target = own_url(target, proxy.port)
            for run in self._run(target, tmp_path, "network_cut"):
                tally, note = self.run_network_cut(target, run, proxy)
                if target.lease:
                    note += f" (lease {target.lease:g} s)"
                self._record(request, "network_cut", tally, note, run)

    def test_slow_consumer(self, request: pytest.FixtureRequest, fault_target: Any,
                           tmp_path: Path) -> None:
        target, _server = fault_target
        self._scenario(request, "slow_consumer", target, {})
        for run in self._run(target, tmp_path, "slow_consumer"):
            tally, note = self.run_slow_consumer(target, run)
            self._record(request, "slow_consumer", tally, note, run)
            assert tally.copies == 0, \
                f"a message was delivered again while its consumer worked: {tally.explain()}"

    def test_bad_input(self, request: pytest.FixtureRequest, fault_target: Any,
                       tmp_path: Path) -> None:
        target, _server = fault_target
        self._scenario(request, "bad_input", target, {})
        spec = self.envelopes or self._option(request, "kombu_fault_envelopes")
        writer = load_writer(spec, target.name)
        for run in self._run(target, tmp_path, "bad_input"):
            tally, note, detail = self.run_bad_input(target, run, writer)
            self._record(request, "bad_input", tally, note, run, bad_input=detail)
            assert detail["consumer_alive"], "the consumer crashed on bad input"
            unaccounted = (detail["injected"] - detail["reported"] - detail["set_aside"]
                           - detail["delivered_as_is"])
            assert unaccounted == 0, (
                f"{unaccounted} bad messages were silently dropped or reported more than "
                f"once (a consumer spinning on one): {detail}")
            assert detail["left_in_queue"] == 0, f"bad input stuck in the queue: {detail}"

    def test_leases(self, request: pytest.FixtureRequest, fault_target: Any,
                    tmp_path: Path) -> None:
        target, _server = fault_target
        self._scenario(request, "leases", target, {
            "process": "" if target.cross_process else "in-process broker",
            "leases": "" if target.lease else "no leases: the broker keeps unacked messages "
                                              "while the consumer's connection lives"})
        assert target.lease is not None
        busy = float(self._option(request, "kombu_fault_lease_busy") or self.lease_busy
                     or 3 * target.lease)
        result = measure_leases([target], busy, str(tmp_path))[target.name]
        entry = request.node.stash[FAULT_KEY]
        entry["leases"] = result.as_dict()
        assert result.holds(), f"the lease contract does not hold: {result.as_dict()}"


def _port_of(url: str) -> int | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).port
    except ValueError:
        return None
