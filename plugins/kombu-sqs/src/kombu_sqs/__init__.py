"""kombu-sqs: the kombu-core plugin for Amazon SQS (over boto3).

This module only answers the kernel's hooks; it imports no client library.
boto3 is imported when the transport is first used, by
:mod:`kombu_sqs.transport` (which also answers ``kombu.transport.SQS``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transport_modules", "kombu_transports")

__version__ = "0.1.0"

#: The kombu-core kernel API this plugin was built against.
KOMBU_PLUGIN_API = "1.0"

_MODULE = "kombu_sqs.transport"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """``sqs`` (kombu's scheme; ``sqs://host:port`` selects an endpoint)."""
    return {"sqs": f"{_MODULE}:Transport", "SQS": f"{_MODULE}:Transport"}


@hookimpl
def kombu_transport_modules() -> Mapping[str, str]:
    """kombu's module path for the SQS transport."""
    return {"kombu.transport.SQS": _MODULE}
