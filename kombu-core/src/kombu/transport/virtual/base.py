"""kombu's ``kombu.transport.virtual.base``: the emulated broker's names in one place.

The engine lives in modules named for what they do: :mod:`.contract` (what a
storage implements), :mod:`.channel` and :mod:`.entities` (the channel),
:mod:`.transport` (connections and the drain loop), :mod:`.routing` and
:mod:`.exchange` (routing), :mod:`.qos` (prefetch and acks), :mod:`.leases`
(lease renewal), :mod:`.deadletter` (dead letters), :mod:`.hooks` (kombu's
classic storage hooks).
"""

from __future__ import annotations

import logging
from queue import Empty

from .channel import Base64, Channel
from .entities import queue_declare_ok_t
from .errors import (
    NotEquivalentError,
    NotFound,
    PreconditionFailed,
    UndeliverableWarning,
    Unroutable,
)
from .hooks import AbstractChannel
from .message import Message
from .qos import QoS
from .state import BrokerState, binding_key_t, queue_binding_t
from .tags import next_delivery_tag
from .transport import Management, Transport

__all__ = (
    "ARRAY_TYPE_H",
    "NOT_EQUIVALENT_FMT",
    "W_NO_CONSUMERS",
    "logger",
    "AbstractChannel",
    "Base64",
    "BrokerState",
    "Channel",
    "Empty",
    "Management",
    "Message",
    "NotEquivalentError",
    "NotFound",
    "PreconditionFailed",
    "QoS",
    "RESTORE_PANIC_FMT",
    "RESTORING_FMT",
    "Transport",
    "UNDELIVERABLE_FMT",
    "UndeliverableWarning",
    "Unroutable",
    "binding_key_t",
    "next_delivery_tag",
    "queue_binding_t",
    "queue_declare_ok_t",
)

#: Message formats for these events (kombu's names).
UNDELIVERABLE_FMT = ("Undeliverable message: exchange {exchange!r} has no queue bound "
                     "with key {routing_key!r}.")
RESTORING_FMT = "Giving back {0!r} unacknowledged message(s)"
RESTORE_PANIC_FMT = "Could not give back {0} message(s): {1}"
NOT_EQUIVALENT_FMT = ("Exchange {0!r} in vhost {1!r} exists with another type, durability, "
                      "auto-delete setting or arguments.")
W_NO_CONSUMERS = ("Requeuing undeliverable message for queue {0!r}: no consumers "
                  "registered for it on this channel.")
#: The array type code kombu uses for channel ids.
ARRAY_TYPE_H = "H"

logger = logging.getLogger("kombu.transport.virtual")
