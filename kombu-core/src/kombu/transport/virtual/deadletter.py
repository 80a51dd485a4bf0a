"""Dead letters: what a rejected or expired message becomes, as RabbitMQ does it.

A queue declared with ``x-dead-letter-exchange`` (and optionally
``x-dead-letter-routing-key``) republishes the messages it rejects (reject
without requeue) or lets expire through that exchange, with an ``x-death``
header that counts each (queue, reason) it went through.  A queue without it
drops them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .envelope import ENQUEUED_KEY

__all__ = ("dead_letter_envelope", "dead_letter_target")


def dead_letter_target(arguments: Mapping[str, Any] | None,
                       routing_key: str) -> tuple[str, str] | None:
    """``(exchange, routing_key)`` a queue with ``arguments`` dead-letters to, or None."""
    if not arguments:
        return None
    dlx = arguments.get("x-dead-letter-exchange")
    if dlx is None:
        return None
    return str(dlx), str(arguments.get("x-dead-letter-routing-key") or routing_key)


def _mapping(value: Any) -> dict[str, Any]:
    """A copy of ``value`` if it is a mapping, else an empty dict (malformed envelopes)."""
    return dict(value) if isinstance(value, Mapping) else {}


def dead_letter_envelope(envelope: Mapping[str, Any], queue: str | None, reason: str,
                         exchange: str, routing_key: str) -> dict[str, Any]:
    """A new envelope for ``envelope`` dead-lettered from ``queue`` for ``reason``.

    The original is left untouched; the copy carries ``x-death`` (newest
    first, one entry per queue and reason with a count) and the
    ``x-first-death-*`` headers, loses its ``expiration`` (it would expire
    again at once) and is stamped as enqueued now.
    """
    props = _mapping(envelope.get("properties"))
    delivery_info = _mapping(props.get("delivery_info"))
    original_exchange = delivery_info.get("exchange", "")
    original_key = delivery_info.get("routing_key", "")
    headers = _mapping(envelope.get("headers"))
    deaths = [dict(d) for d in headers.get("x-death") or () if isinstance(d, Mapping)]
    for i, death in enumerate(deaths):
        if death.get("queue") == queue and death.get("reason") == reason:
            death["count"] = int(death.get("count", 1)) + 1
            deaths.insert(0, deaths.pop(i))
            break
    else:
        deaths.insert(0, {
            "count": 1,
            "reason": reason,
            "queue": queue,
            "time": int(time.time()),
            "exchange": original_exchange,
            "routing-keys": [original_key],
        })
    headers["x-death"] = deaths
    headers.setdefault("x-first-death-reason", reason)
    headers.setdefault("x-first-death-queue", queue)
    headers.setdefault("x-first-death-exchange", original_exchange)
    props.pop("expiration", None)
    props.pop("delivery_tag", None)
    props["delivery_info"] = {"exchange": exchange, "routing_key": routing_key}
    copy = dict(envelope)
    copy.pop("redelivered", None)
    copy["properties"] = props
    copy["headers"] = headers
    copy[ENQUEUED_KEY] = time.time()
    return copy
