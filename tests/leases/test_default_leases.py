"""Each transport's default lease, measured: a consumer whose main thread is busy in
CPU-bound Python for 10 minutes keeps its messages (its lease keeper thread gets the
GIL: its renewals are timed), and a SIGKILLed or SIGSTOPped one has its messages back
within the default.  Every transport of scripts/kit_targets.py that has leases runs
in one busy process, so the measurement costs one core for 10 minutes in all, in
parallel with the other groups.  ``KOMBU_LEASE_BUSY=SECONDS`` shortens it locally.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import require_service, unavailable
from kit_targets import TARGETS

from kombu import Connection
from kombu.testing.faults.leases import SLACK, measure_leases
from kombu.testing.faults.runtime import Target
from kombu.testing.faults.servers import OwnServer, with_address
from kombu.testing.faults.table import load_lease_results

BUSY = float(os.environ.get("KOMBU_LEASE_BUSY", 600))
#: The issue's bound for a dead consumer's messages to come back.
FIVE_MINUTES = 300.0


#: Why a target of scripts/kit_targets.py is not measured: it has no leases, or its
#: private server cannot run here (a missing broker: skipped locally, failed in CI).
NO_LEASES = "has no leases (the broker keeps unacked messages, or nothing to share)"


@pytest.fixture(scope="module")
def left_out() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory,
            left_out: dict[str, str]) -> Iterator[list[Target]]:
    servers: list[OwnServer] = []
    found = []
    for name, kit in TARGETS.items():
        tmp = tmp_path_factory.mktemp(f"leases-{name}")
        options = {k: v for k, v in kit.transport_options(str(tmp)).items()
                   if k != "visibility_timeout"}  # the transport's default lease
        url = kit.url_for(str(tmp))
        if kit.fault_server:
            server = OwnServer(kit.fault_server, str(tmp))
            if not server.available:
                left_out[name] = f"its private server ({server.args[0]}) is not installed"
                continue
            servers.append(server.start())
            url = with_address(url, server.port)
        elif kit.port is not None:
            require_service(name, "127.0.0.1", kit.port)
        with Connection(url, transport_options=options) as conn:
            implements = conn.transport.implements
            lease = getattr(getattr(conn.default_channel, "storage", None),
                            "lease_seconds", None)
        if lease and implements.get("cross_process"):
            found.append(Target(name, url, options, 0.0, True, float(lease)))
        else:
            left_out[name] = NO_LEASES
    yield found
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def measured(targets: list[Target], tmp_path_factory: pytest.TempPathFactory
             ) -> dict[str, Any]:
    results = measure_leases(targets, BUSY, str(tmp_path_factory.mktemp("leases")))
    out = os.environ.get("KOMBU_LEASE_RESULTS")  # scripts/update_reliability_table.py
    if out:
        Path(out).write_text(json.dumps({n: r.as_dict() for n, r in results.items()}))
    return results


def test_every_lease_transport_is_measured(targets: list[Target]) -> None:
    names = {t.name for t in targets}
    assert {"redis", "filesystem"} <= names, names


@pytest.mark.timeout(BUSY + 300)
@pytest.mark.parametrize("name", sorted(n for n in TARGETS))
def test_default_lease(measured: dict[str, Any], targets: list[Target],
                       left_out: dict[str, str], name: str) -> None:
    if name not in measured:
        why = left_out.get(name, "was not measured")
        if why == NO_LEASES:
            pytest.skip(f"{name} {why}")
        unavailable(f"{name}: {why}")
    result = measured[name]
    print(f"{name}: {result.as_dict()}")
    assert result.busy_kept, f"{name}: the busy consumer lost its messages: {result.as_dict()}"
    assert result.max_renewal_gap <= result.interval + 1.0, \
        f"{name}: the lease keeper was starved of the GIL: {result.as_dict()}"
    for kind in ("killed", "stopped"):
        back = getattr(result, f"{kind}_back_after")
        assert back is not None, f"{name}: the {kind} consumer's message never came back"
        assert back <= result.lease + SLACK, (name, kind, back, result.lease)
        assert back <= FIVE_MINUTES
    stored = load_lease_results().get(name)
    if BUSY >= 600 and stored is not None:
        assert stored["lease"] == result.lease, (
            f"{name}: the README's lease table is stale: run python "
            f"scripts/update_reliability_table.py --measure-leases")


def test_redis_default_is_within_five_minutes() -> None:
    from kombu_redis.channel import Channel

    assert Channel.visibility_timeout + SLACK <= FIVE_MINUTES
