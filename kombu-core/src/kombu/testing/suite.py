""":class:`TransportConformance`: every check, with the fixtures they run on.

Subclass it in a test module (the class name must start with ``Test``) and set
``url`` (and ``transport_options``), or override the ``kombu_connection``
fixture; or run it against any URL with ``pytest -p kombu.testing --kombu-url=URL``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from ..connection import Connection
from .checks.acks import AckChecks
from .checks.aio import AsyncChecks
from .checks.bad_input import BadInputChecks
from .checks.concurrency import ConcurrencyChecks
from .checks.connection import ConnectionChecks
from .checks.entities import EntityChecks
from .checks.extensions import ExtensionChecks
from .checks.extras import ExtraChecks
from .checks.leases import LeaseChecks
from .checks.messages import MessageChecks
from .checks.reliability import PrefetchChecks, ReliabilityChecks
from .checks.routing import RoutingChecks
from .checks.simple import SimpleChecks
from .features import NOT_SUPPORTED, check_group, check_requirements, missing_features
from .helpers import Kit
from .results import transport_info

__all__ = ("CHECK_KEY", "TransportConformance")

#: Where each kit check records its transport, group and requirements (item stash).
CHECK_KEY = pytest.StashKey[dict[str, Any]]()


class TransportConformance(
    ConnectionChecks, EntityChecks, RoutingChecks, MessageChecks, AckChecks,
    ReliabilityChecks, PrefetchChecks, LeaseChecks, ExtensionChecks, SimpleChecks,
    ConcurrencyChecks, BadInputChecks, ExtraChecks, AsyncChecks,
):
    """The transport conformance kit.  Set ``url`` or pass ``--kombu-url``."""

    #: Broker URL; ``--kombu-url`` is used when this is None.
    url: str | None = None
    #: Transport options, merged under ``--kombu-transport-options``.
    transport_options: dict[str, Any] | None = None
    #: Seconds to wait for a message that must arrive.
    timeout = 5.0
    #: Seconds of silence that show a message will not arrive.
    quiet = 0.3

    @pytest.fixture
    def kombu_url(self, request: pytest.FixtureRequest) -> str:
        url = self.url or request.config.getoption("kombu_url", default=None)
        if not url:
            pytest.fail("the kombu conformance kit needs a broker URL: pass --kombu-url=URL "
                        f"or set url on {type(self).__name__}", pytrace=False)
        return str(url)

    @pytest.fixture
    def kombu_transport_options(self, request: pytest.FixtureRequest) -> dict[str, Any]:
        options = dict(self.transport_options or {})
        raw = request.config.getoption("kombu_transport_options", default=None)
        if raw:
            try:
                extra = json.loads(raw)
            except ValueError as exc:
                pytest.fail(f"--kombu-transport-options is not JSON: {exc}", pytrace=False)
            if not isinstance(extra, dict):
                pytest.fail("--kombu-transport-options must be a JSON object", pytrace=False)
            options.update(extra)
        return options

    @pytest.fixture
    def kombu_connection(self, kombu_url: str,
                         kombu_transport_options: dict[str, Any]) -> Iterator[Connection]:
        conn = Connection(kombu_url, transport_options=kombu_transport_options)
        try:
            yield conn
        finally:
            conn.close()

    @pytest.fixture
    def kit(self, kombu_connection: Connection) -> Iterator[Kit]:
        helper = Kit(kombu_connection, timeout=self.timeout, quiet=self.quiet)
        try:
            yield helper
        finally:
            helper.cleanup()

    @pytest.fixture(autouse=True)
    def _kombu_check(self, request: pytest.FixtureRequest,
                     kombu_connection: Connection) -> None:
        function = getattr(request.function, "__func__", request.function)
        needs = check_requirements(function)
        info: dict[str, Any] = {
            "group": check_group(request.cls, function),
            "requires": list(needs),
            "transport": transport_info(kombu_connection),
        }
        request.node.stash[CHECK_KEY] = info
        missing = missing_features(kombu_connection.transport.implements, needs)
        if missing:
            pytest.skip(f"{NOT_SUPPORTED} {', '.join(missing)} (not stated in "
                        f"{info['transport']['transport_class']}.implements)")
