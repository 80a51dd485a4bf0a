"""kombu-mongo: the kombu-core plugin for MongoDB.

This module only answers the kernel's hooks; it imports no client library.
pymongo is imported when the transport is first used, by
:mod:`kombu_mongo.transport` (which also answers ``kombu.transport.mongodb``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_mongo.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``mongodb`` and ``mongodb+srv`` (DNS seed list)."""
    return {"mongodb": f"{_MODULE}:Transport", "mongodb+srv": f"{_MODULE}:Transport"}


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the MongoDB transport."""
    return {"kombu.transport.mongodb": _MODULE}
