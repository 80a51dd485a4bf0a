"""The emulated AMQP broker every non-AMQP transport builds on."""

from __future__ import annotations

from .base import (
    AbstractChannel,
    Base64,
    Channel,
    Empty,
    NotEquivalentError,
    NotFound,
    PreconditionFailed,
    Transport,
    UndeliverableWarning,
    Unroutable,
    queue_declare_ok_t,
)
from .exchange import (
    BindingTable,
    DirectExchange,
    ExchangeType,
    FanoutExchange,
    HeadersExchange,
    TopicExchange,
)
from .message import Message
from .qos import QoS
from .state import BrokerState, binding_key_t, queue_binding_t

__all__ = (
    "AbstractChannel",
    "Base64",
    "BindingTable",
    "BrokerState",
    "Channel",
    "DirectExchange",
    "Empty",
    "ExchangeType",
    "FanoutExchange",
    "HeadersExchange",
    "Message",
    "NotEquivalentError",
    "NotFound",
    "PreconditionFailed",
    "QoS",
    "TopicExchange",
    "Transport",
    "UndeliverableWarning",
    "Unroutable",
    "binding_key_t",
    "queue_binding_t",
    "queue_declare_ok_t",
)
