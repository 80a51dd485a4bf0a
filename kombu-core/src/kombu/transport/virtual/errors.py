"""The channel errors of the emulated broker, named and numbered as AMQP's."""

from __future__ import annotations

from ...exceptions import ChannelError

__all__ = ("NotEquivalentError", "NotFound", "PreconditionFailed", "UndeliverableWarning",
           "Unroutable")


class NotFound(ChannelError):
    """An exchange or queue does not exist (AMQP 404 NOT_FOUND)."""

    code = reply_code = 404


class PreconditionFailed(ChannelError):
    """The request conflicts with the entity's state (AMQP 406 PRECONDITION_FAILED)."""

    code = reply_code = 406


class NotEquivalentError(PreconditionFailed):
    """An entity was redeclared with different settings than the first declaration."""


class Unroutable(ChannelError):
    """A mandatory message reached no queue (AMQP 312 NO_ROUTE)."""

    code = reply_code = 312


class UndeliverableWarning(UserWarning):
    """A message could not be delivered (e.g. a dead-letter exchange is missing)."""
