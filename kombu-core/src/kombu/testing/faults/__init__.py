"""kombu.testing.faults: the fault and bad-input suite, a pytest plugin shipped with the kit.

Run it against any broker::

    pytest -p kombu.testing.faults --kombu-url=URL [--kombu-fault-results=DIR/]

or subclass it in a plugin's test suite::

    from kombu.testing.faults import FaultSuite

    class TestMyBrokerFaults(FaultSuite):
        url = "mybroker://127.0.0.1:7000"

Each scenario publishes a numbered stream, injects one fault and counts, from
the broker's side, every message published (``publish`` returned), consumed,
lost and delivered twice after an ack (see :mod:`.events`):

``consumer_sigkill``  a consumer holding prefetched, unacked messages is SIGKILLed
``producer_sigkill``  a producer is SIGKILLed mid-burst: what ``publish`` returned
                      for must be there, once
``broker_restart``    the broker restarts mid-stream; producers publish with
                      ``retry=True``, consumers are :class:`kombu.mixins.ConsumerMixin`
``network_cut``       a TCP proxy the suite runs stops forwarding for 10 s (connections
                      hang, they do not close), then forwards again
``slow_consumer``     work lasts 2.5 leases, a second consumer polls meanwhile
``bad_input``         undecodable bodies for every serializer, a disallowed and an
                      unknown content type, truncated, oversized and wrongly compressed
                      bodies, and malformed envelopes written straight into the storage
``leases``            a consumer whose main thread is busy in CPU-bound Python keeps its
                      leases; SIGKILLed and SIGSTOPped ones have theirs back in time

A scenario that does not apply (no other process to kill on an in-process
broker, no server of the suite's own to restart, no network) is skipped as
``n/a`` with its reason; every other must show 0 lost and 0 delivered twice
after an ack, unless the transport states why its broker cannot offer it
(``cannot_offer``): then it is measured and the table says why.

What a transport author adds
----------------------------

In this repository, one entry in ``scripts/kit_targets.py`` (a ``KitTarget``,
the list the conformance kit, nox, CI and both README tables read); outside
it, the same as class attributes of a :class:`FaultSuite` subclass or as
``--kombu-fault-*`` options:

1. **A target**: the URL and transport options (``url``, ``options``; short
   leases, e.g. ``visibility_timeout: 2``, keep the scenarios fast).
2. **Which faults its server allows** (``faults``: the scenario names above;
   default all that apply) and, for each scenario where the broker cannot offer
   0 lost / 0 twice, the reason (``cannot_offer``).
3. **How to restart it**: ``server``, a command running a private server on a
   port of the suite's own (``{port}`` and ``{dir}`` are filled in; every
   scenario then runs on it, never on a shared server); or
   ``restart_via_proxy`` for a server the suite must not restart (the proxy
   closes every connection instead, and the table says so).  Neither: the
   restart scenario is n/a.  ``heartbeat`` and socket timeouts in the options
   are what lets clients notice the network cut.
4. **Where its storage keeps envelopes**, for the bad-input scenario:
   ``envelopes = "module:write[,module:set_aside]"`` with
   ``write(conn, queue, payload: bytes)`` putting a raw entry where the
   transport stores its own (a Redis list, a file, a database row) and
   ``set_aside(conn, queue) -> int`` counting entries the transport moved out
   of the way itself, loudly (see :mod:`.envelopes`; memory, filesystem, Redis
   and AMQP are built in).

Then ``python3 scripts/update_reliability_table.py --measure`` stores its
counts and rewrites the README's table; ``tests/faults`` runs it in CI.
A transport with leases is added to ``tests/leases`` by the same entry: the
default-lease measurement runs for every target whose transport has leases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: Loaded by pytest along with this module when it is given as ``-p kombu.testing.faults``
#: (the kit's plugin first: it owns ``--kombu-url`` and ``--kombu-transport-options``).
pytest_plugins = ("kombu.testing.plugin", "kombu.testing.faults.plugin")

__all__ = ("SCENARIOS", "FaultSuite", "TcpProxy", "measure_leases", "render_reliability")

_LAZY = {
    "FaultSuite": "kombu.testing.faults.suite",
    "SCENARIOS": "kombu.testing.faults.suite",
    "TcpProxy": "kombu.testing.faults.proxy",
    "measure_leases": "kombu.testing.faults.leases",
    "render_reliability": "kombu.testing.faults.table",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kombu.testing.faults' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .leases import measure_leases
    from .proxy import TcpProxy
    from .suite import SCENARIOS, FaultSuite
    from .table import render_reliability
