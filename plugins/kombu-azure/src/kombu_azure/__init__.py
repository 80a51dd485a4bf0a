"""kombu-azure: the kombu-core plugin for Azure Storage Queues.

This module only answers the kernel's hooks; it imports no client library.
azure-storage-queue is imported when the transport is first used, by
:mod:`kombu_azure.transport` (which also answers
``kombu.transport.azurestoragequeues``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_azure.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``azurestoragequeues``: kombu's scheme for Azure Storage Queues."""
    return {"azurestoragequeues": f"{_MODULE}:Transport"}


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the Azure Storage Queues transport."""
    return {"kombu.transport.azurestoragequeues": _MODULE}
