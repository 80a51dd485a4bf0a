"""Where this repository runs the conformance kit: one entry per transport.

The only place a kit run's URL, broker and transport options are written.
Read by nox (the ``conformance`` sessions), by the test suite
(``tests/conformance``) and by ``scripts/update_transport_table.py``, so the
three always measure the same thing.  Leases are short here so that the
lease checks (a frozen or vanished consumer's messages come back) finish in
seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
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

    def transport_options(self, tmp: str = "") -> dict[str, Any]:
        return {k: v.replace("{tmp}", tmp) if isinstance(v, str) else v
                for k, v in self.options.items()}

    def pytest_args(self, tmp: str = "") -> list[str]:
        """``pytest -p kombu.testing`` arguments for a run against this target."""
        args = [f"--kombu-url={self.url}"]
        options = self.transport_options(tmp)
        if options:
            args.append(f"--kombu-transport-options={json.dumps(options)}")
        return args


TARGETS: dict[str, KitTarget] = {t.name: t for t in (
    KitTarget("memory", "memory://"),
    KitTarget("filesystem", "filesystem://", options={
        "data_folder": "{tmp}", "fsync": False, "polling_interval": 0.05,
        "visibility_timeout": 2}),
    KitTarget("amqp", "amqp://guest:guest@127.0.0.1:5672//", "kombu-amqp", "amqp",
              ("rabbitmq",), 5672),
    KitTarget("redis", "redis://127.0.0.1:6379/13", "kombu-redis", "redis", ("redis",), 6379,
              {"visibility_timeout": 2}),
)}
