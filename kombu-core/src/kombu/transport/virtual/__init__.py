"""The emulated AMQP broker every non-AMQP transport builds on.

A transport implements :class:`~.contract.Storage` (see
:mod:`kombu.transport.virtual.contract`) and sets ``Transport.Storage``;
the engine does exchanges, routing, QoS, acks, leases, TTL, priorities,
dead letters and the drain loop.  Transports written on kombu's classic
hooks (``_get``, ``_put``, ...) keep working.
"""

from __future__ import annotations

from .base import (
    AbstractChannel,
    Base64,
    BrokerState,
    Channel,
    Empty,
    Management,
    Message,
    NotEquivalentError,
    NotFound,
    PreconditionFailed,
    QoS,
    Transport,
    UndeliverableWarning,
    Unroutable,
    binding_key_t,
    queue_binding_t,
    queue_declare_ok_t,
)
from .contract import Binding, Delivery, RouteTable, Storage, Target, Waiter
from .exchange import (
    DirectExchange,
    ExchangeType,
    FanoutExchange,
    HeadersExchange,
    TopicExchange,
)
from .waiters import ConditionWaiter, PollingWaiter, Signal

__all__ = (
    "AbstractChannel",
    "Base64",
    "Binding",
    "BrokerState",
    "Channel",
    "ConditionWaiter",
    "Delivery",
    "DirectExchange",
    "Empty",
    "ExchangeType",
    "FanoutExchange",
    "HeadersExchange",
    "Management",
    "Message",
    "NotEquivalentError",
    "NotFound",
    "PollingWaiter",
    "PreconditionFailed",
    "QoS",
    "RouteTable",
    "Signal",
    "Storage",
    "Target",
    "TopicExchange",
    "Transport",
    "UndeliverableWarning",
    "Unroutable",
    "Waiter",
    "binding_key_t",
    "queue_binding_t",
    "queue_declare_ok_t",
)
