"""kombu-core: the kombu messaging API on a microkernel.

Public names are imported lazily, so ``import kombu`` loads no broker client,
no serializer library and no plugin.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, NamedTuple

__version__ = "0.1.0"
__author__ = "kombu-core developers"
__homepage__ = "https://example.invalid/kombu-core"
__docformat__ = "restructuredtext en"


class version_info_t(NamedTuple):
    major: int
    minor: int
    micro: int
    releaselevel: str
    serial: str


VERSION = version_info = version_info_t(0, 1, 0, "", "")

_BY_MODULE: dict[str, tuple[str, ...]] = {
    "kombu.connection": ("Connection", "BrokerConnection"),
    "kombu.entity": ("Exchange", "Queue", "binding"),
    "kombu.message": ("Message",),
    "kombu.messaging": ("Consumer", "Producer"),
    "kombu.pools": ("connections", "producers"),
    "kombu.utils.url": ("parse_url",),
    "kombu.common": ("eventloop", "uuid"),
    "kombu.serialization": (
        "enable_insecure_serializers",
        "disable_insecure_serializers",
    ),
}
_WHERE = {name: module for module, names in _BY_MODULE.items() for name in names}

__all__ = (
    "VERSION",
    "BrokerConnection",
    "Connection",
    "Consumer",
    "Exchange",
    "Message",
    "Producer",
    "Queue",
    "binding",
    "connections",
    "disable_insecure_serializers",
    "enable_insecure_serializers",
    "eventloop",
    "parse_url",
    "producers",
    "uuid",
    "version_info",
    "version_info_t",
)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'kombu' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .common import eventloop, uuid
    from .connection import BrokerConnection, Connection
    from .entity import Exchange, Queue, binding
    from .message import Message
    from .messaging import Consumer, Producer
    from .pools import connections, producers
    from .serialization import disable_insecure_serializers, enable_insecure_serializers
    from .utils.url import parse_url
