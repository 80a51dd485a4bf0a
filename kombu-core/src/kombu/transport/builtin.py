"""The core's own plugin: registers the built-in transports through the kernel,
exactly as an installed plugin would."""

from __future__ import annotations

from collections.abc import Mapping

from ..plugins import hookimpl

KOMBU_PLUGIN_API = "1.0"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    return {
        "memory": "kombu.transport.memory:Transport",
        "filesystem": "kombu.transport.filesystem:Transport",
    }
