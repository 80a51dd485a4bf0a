"""kombu-zk: the kombu-core plugin for ZooKeeper.

This module only answers the kernel's hooks; it imports no client library.
kazoo is imported when the transport is first used, by
:mod:`kombu_zk.transport` (which also answers ``kombu.transport.zookeeper``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_zk.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``zookeeper`` and its short form ``zk``."""
    return {"zookeeper": f"{_MODULE}:Transport", "zk": f"{_MODULE}:Transport"}


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the ZooKeeper transport."""
    return {"kombu.transport.zookeeper": _MODULE}
