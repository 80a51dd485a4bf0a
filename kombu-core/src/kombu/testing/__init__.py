"""kombu.testing: the transport conformance kit, a pytest plugin.

Run it against any broker::

    pytest -p kombu.testing --kombu-url=memory:// [--kombu-results results.json]

or subclass it in a plugin's test suite::

    from kombu.testing import TransportConformance

    class TestMyTransport(TransportConformance):
        url = "mybroker://localhost"

Each check names the transport feature it needs (see :func:`requires`); a check
whose feature the transport does not state in ``Transport.implements`` is
skipped as "not supported", and one it states but fails fails the kit.
Importing this package does not import pytest (``kombu transports --matrix``
reads results through :mod:`kombu.testing.matrix`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: Loaded by pytest along with this module when it is given as ``-p kombu.testing``.
pytest_plugins = ("kombu.testing.plugin",)

__all__ = ("GROUPS", "Kit", "TransportConformance", "render_matrix", "requires")

_LAZY = {
    "TransportConformance": "kombu.testing.suite",
    "Kit": "kombu.testing.helpers",
    "requires": "kombu.testing.features",
    "GROUPS": "kombu.testing.features",
    "render_matrix": "kombu.testing.matrix",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kombu.testing' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .features import GROUPS, requires
    from .helpers import Kit
    from .matrix import render_matrix
    from .suite import TransportConformance
