"""kombu-amqp: the kombu-core plugin for AMQP 0-9-1 brokers (RabbitMQ) over py-amqp.

This module only answers the kernel's hooks; it imports no client library.
py-amqp is imported when a transport is first used, by
:mod:`kombu_amqp.transport`.
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_TRANSPORT = "kombu_amqp.transport:Transport"
_SSL_TRANSPORT = "kombu_amqp.transport:SSLTransport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``amqp://`` and ``pyamqp://``; ``amqps://`` and ``pyamqps://`` with TLS on."""
    return {
        "amqp": _TRANSPORT,
        "pyamqp": _TRANSPORT,
        "amqps": _SSL_TRANSPORT,
        "pyamqps": _SSL_TRANSPORT,
    }


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module paths for the AMQP transport."""
    return {
        "kombu.transport.pyamqp": "kombu_amqp.transport",
        "kombu.transport.amqp": "kombu_amqp.transport",
    }
