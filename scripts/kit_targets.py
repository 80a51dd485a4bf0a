"""Where this repository runs the conformance kit: one entry per transport.

The only place a kit run's URL, broker and transport options are written.
Read by nox (the ``conformance`` sessions), by the test suite
(``tests/conformance``, ``tests/faults``, ``tests/leases``) and by
``scripts/update_transport_table.py`` and ``scripts/update_reliability_table.py``,
so they always measure the same thing.  Leases are short here so that the
lease checks (a frozen or vanished consumer's messages come back) finish in
seconds; ``tests/leases`` measures each transport's default lease instead.

The fault suite (:mod:`kombu.testing.faults`) reads the ``fault_*`` fields:
which faults the broker allows, how to run a server of its own (so it can be
restarted and filled with garbage without touching the shared one), where its
storage keeps envelopes, and what its broker cannot offer, with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ("TARGETS", "KitTarget")


@dataclass(frozen=True)
class KitTarget:
    """One transport the kit runs against."""

    name: str
    url: str
    #: Distribution that must be installed (None: built into kombu-core).
    distribution: str | None = None
    #: Folder under plugins/ that provides it.
    plugin: str | None = None
    #: Services scripts/services.sh starts for it.
    services: tuple[str, ...] = ()
    #: Port the broker answers on (None: no server).
    port: int | None = None
    #: Transport options; "{tmp}" in a string value becomes a scratch folder.
    options: dict[str, Any] = field(default_factory=dict)
    #: Fault suite: the scenarios the broker allows (None: all that apply).
    faults: tuple[str, ...] | None = None
    #: Fault suite: options added to ``options`` (timeouts that notice a cut network).
    fault_options: dict[str, Any] = field(default_factory=dict)
    #: Fault suite: command running a private server (``{port}``, ``{dir}``).
    fault_server: str | None = None
    #: Fault suite: restart by closing every connection at the proxy (shared server).
    fault_restart_via_proxy: bool = False
    #: Fault suite: ``module:write[,module:set_aside]`` (None: built in for its name).
    fault_envelopes: str | None = None
    #: Fault suite: connection heartbeat of the workers (seconds).
    fault_heartbeat: float = 0.0
    #: Fault suite: scenario -> why the broker cannot offer 0 lost / 0 twice there.
    cannot_offer: dict[str, str] = field(default_factory=dict)

    def url_for(self, tmp: str = "") -> str:
        """The URL, "{tmp}" replaced by a scratch folder (a SQLite file lives there)."""
        return self.url.replace("{tmp}", tmp)

    def transport_options(self, tmp: str = "") -> dict[str, Any]:
        return {k: v.replace("{tmp}", tmp) if isinstance(v, str) else v
                for k, v in self.options.items()}

    def pytest_args(self, tmp: str = "") -> list[str]:
        """``pytest -p kombu.testing`` arguments for a run against this target."""
        args = [f"--kombu-url={self.url_for(tmp)}"]
        options = self.transport_options(tmp)
        if options:
            args.append(f"--kombu-transport-options={json.dumps(options)}")
        return args

    def fault_args(self, tmp: str = "") -> list[str]:
        """``pytest -p kombu.testing.faults`` arguments for a run against this target."""
        options = {**self.transport_options(tmp), **self.fault_options}
        args = [f"--kombu-url={self.url_for(tmp)}"]
        if options:
            args.append(f"--kombu-transport-options={json.dumps(options)}")
        if self.faults is not None:
            args.append(f"--kombu-faults={','.join(self.faults)}")
        if self.fault_server:
            args.append(f"--kombu-fault-server={self.fault_server}")
        if self.fault_restart_via_proxy:
            args.append("--kombu-fault-restart-via-proxy")
        if self.fault_envelopes:
            args.append(f"--kombu-fault-envelopes={self.fault_envelopes}")
        if self.fault_heartbeat:
            args.append(f"--kombu-fault-heartbeat={self.fault_heartbeat}")
        if self.cannot_offer:
            args.append(f"--kombu-fault-cannot-offer={json.dumps(self.cannot_offer)}")
        return args


#: A private redis-server for the fault suite: appendfsync always, so a restart keeps
#: every message Redis acknowledged.
REDIS_SERVER = ("redis-server --port {port} --bind 127.0.0.1 --dir {dir} --save '' "
                "--appendonly yes --appendfsync always")

#: A private ZooKeeper for the fault suite (Debian's package, in the foreground).
ZOOKEEPER_SERVER = (str(Path(__file__).resolve().parent / "services.d" / "zookeeper.sh")
                    + " --foreground {port} {dir}")

#: Why ZooKeeper can deliver a message twice when its connection or server goes away.
ZOOKEEPER_LOST_ACK = ("an ack in flight when the connection drops, or a session that "
                      "expires while the server is away, gives the message back: it is "
                      "delivered again (flagged redelivered)")

#: Why a lost connection can store a message twice on a broker without deduplication.
RETRIED_PUBLISH = ("a publish whose reply (or confirm) the lost connection swallowed is "
                   "retried by retry=True and stored twice: the broker has no publish "
                   "deduplication")

#: Azurite's queue service with the well-known development account (its published key).
AZURITE_URL = ("azurestoragequeues://Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq"
               "/K1SZFPTOtr/KBHBeksoGMGw==@http://127.0.0.1:10001/devstoreaccount1")
#: kombu-sql: one transport, a target per database (its results are named sqla+<database>).
SQL_OPTIONS = {"visibility_timeout": 2, "polling_interval": 0.05,
               "queue_tablename": "kit_queue", "message_tablename": "kit_message"}
#: A commit whose reply a cut connection swallowed is retried (a publish: stored twice)
#: or not known to have happened (an ack: the message comes back once more).
SQL_RETRIED = ("a publish or ack whose COMMIT reply the lost connection swallowed is "
               "retried by retry=True (stored twice) or redelivered: SQL has no "
               "idempotent insert without a client key")
SQL_ENVELOPES = "kombu_sql.testing:write_envelope"
#: The fault suite's lease scenario holds its busy consumer for three leases while it
#: starts a killed and a frozen holder, one process each; importing SQLAlchemy on a
#: loaded 2-core machine took seconds, so a 2 s lease left them no time to lapse.
SQL_FAULT_LEASE = {"visibility_timeout": 5}
SQL_TARGETS = (
    KitTarget("sqla+sqlite", "sqla+sqlite:///{tmp}/kit.db", "kombu-sql", "sql",
              options={"visibility_timeout": 2, "polling_interval": 0.05},
              fault_options=SQL_FAULT_LEASE, fault_envelopes=SQL_ENVELOPES),
    KitTarget("sqla+postgresql", "sqla+postgresql+psycopg://postgres@127.0.0.1:5432/test",
              "kombu-sql", "sql", ("postgres",), 5432, SQL_OPTIONS,
              fault_options={**SQL_FAULT_LEASE, "connect_args": {
                  "connect_timeout": 3, "keepalives": 1, "keepalives_idle": 2,
                  "keepalives_interval": 1, "keepalives_count": 3, "tcp_user_timeout": 5000}},
              fault_server=f"{Path(__file__).resolve().parent / 'pg_private.sh'} {{port}}",
              fault_envelopes=SQL_ENVELOPES,
              cannot_offer={"network_cut": SQL_RETRIED, "broker_restart": SQL_RETRIED}),
    KitTarget("sqla+mysql", "sqla+mysql+pymysql://root@127.0.0.1:3306/test",
              "kombu-sql", "sql", ("mariadb",), 3306, SQL_OPTIONS,
              fault_options={**SQL_FAULT_LEASE, "connect_args": {
                  "connect_timeout": 3, "read_timeout": 10, "write_timeout": 10}},
              fault_restart_via_proxy=True, fault_envelopes=SQL_ENVELOPES,
              cannot_offer={"network_cut": SQL_RETRIED, "broker_restart": SQL_RETRIED}),
)


TARGETS: dict[str, KitTarget] = {t.name: t for t in (
    KitTarget("memory", "memory://"),
    KitTarget("filesystem", "filesystem://", options={
        "data_folder": "{tmp}", "fsync": False, "polling_interval": 0.05,
        "visibility_timeout": 2}),
    KitTarget("amqp", "amqp://guest:guest@127.0.0.1:5672//", "kombu-amqp", "amqp",
              ("rabbitmq",), 5672, fault_options={"confirm_publish": True},
              fault_restart_via_proxy=True, fault_heartbeat=2.0, cannot_offer={
                  "network_cut": RETRIED_PUBLISH, "broker_restart": RETRIED_PUBLISH}),
    KitTarget("redis", "redis://127.0.0.1:6379/13", "kombu-redis", "redis", ("redis",), 6379,
              # The kit's priority checks are AMQP's (higher first, x-max-priority
              # queues); kombu-redis serves kombu's order (lower first) by default.
              {"visibility_timeout": 2, "priority_order": "auto"},
              fault_options={"socket_timeout": 5, "socket_connect_timeout": 3},
              fault_server=REDIS_SERVER, cannot_offer={
                  "network_cut": RETRIED_PUBLISH, "broker_restart": RETRIED_PUBLISH}),
    KitTarget("azurestoragequeues", AZURITE_URL, "kombu-azure", "azure", ("azurite",), 10001,
              {"visibility_timeout": 2, "polling_interval": 0.05, "wait_time_seconds": 1},
              fault_options={"retry_total": 0, "read_timeout": 5},
              cannot_offer={"network_cut": RETRIED_PUBLISH,
                            "broker_restart": RETRIED_PUBLISH}),
    *SQL_TARGETS,
    # moto's local SQS (with SNS for fanout).  AWS is not restarted by its users and moto
    # keeps its queues in memory, so there is no broker_restart scenario (n/a).
    KitTarget("sqs", "sqs://test:test@127.0.0.1:9324", "kombu-sqs", "sqs", ("moto",),
              9324, {"visibility_timeout": 2, "wait_time_seconds": 0,
                     "polling_interval": 0.05, "supports_fanout": True, "region": "us-east-1"},
              fault_options={"client-config": {"connect_timeout": 3, "read_timeout": 5}},
              fault_envelopes="kombu_sqs.faults:write_envelope", cannot_offer={
                  "network_cut": RETRIED_PUBLISH + " (and SQS standard queues themselves "
                  "deliver at least once, occasionally twice)"}),
    KitTarget("zookeeper", "zookeeper://127.0.0.1:2181/kombu-kit", "kombu-zk", "kombu-zk",
              ("zookeeper",), 2181,
              # The lease is the consumer's ZooKeeper session (visibility_timeout is
              # session_timeout's alias): 2 s here (the test server allows sessions
              # down to 1 s), 10 s by default.
              {"visibility_timeout": 2, "polling_interval": 0.05},
              fault_options={"connect_timeout": 5},
              fault_server=ZOOKEEPER_SERVER, fault_envelopes="kombu_zk.faults:write",
              cannot_offer={"network_cut": RETRIED_PUBLISH + "; " + ZOOKEEPER_LOST_ACK,
                            "broker_restart": RETRIED_PUBLISH + "; " + ZOOKEEPER_LOST_ACK}),
    KitTarget("mongodb", "mongodb://127.0.0.1:27027/kombu_kit", "kombu-mongo", "mongo",
              ("secantusdb",), 27027, {"visibility_timeout": 2, "polling_interval": 0.05},
              fault_options={"connect_timeout": 3},
              fault_server="sh scripts/services.d/secantusdb.sh serve {port} {dir}",
              cannot_offer={
                  "network_cut": RETRIED_PUBLISH, "broker_restart": RETRIED_PUBLISH}),
)}
