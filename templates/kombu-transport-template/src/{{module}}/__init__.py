"""{{name}}: the kombu plugin for the ``{{scheme}}://`` transport.

This module only answers the kernel's hooks, so it imports nothing heavy:
the transport (and any broker client library) is imported when a connection
is first made.
"""

from __future__ import annotations

from collections.abc import Mapping

from kombu.plugins import hookimpl

__all__ = ("KOMBU_PLUGIN_API", "__version__", "kombu_transports")

__version__ = "{{version}}"

#: The kombu kernel API this plugin was written for ("MAJOR.MINOR").
KOMBU_PLUGIN_API = "{{plugin_api}}"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    """URL schemes this plugin serves, each naming its Transport class."""
    return {"{{scheme}}": "{{module}}.transport:Transport"}
