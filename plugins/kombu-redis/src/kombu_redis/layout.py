"""Where things live in Redis: key names, priority steps and the transport's settings.

kombu's layout, so kombu and kombu-core clients can share one Redis (see
:mod:`.scripts`).  One :class:`Layout` per connection, built from the
channel class's defaults and ``Connection.transport_options``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .routing import priority_step

__all__ = ("Layout",)


class Layout:
    """The keys and settings of one Redis connection."""

    def __init__(self, defaults: Any, options: Mapping[str, Any], db: int) -> None:
        def opt(name: str) -> Any:
            return options.get(name, getattr(defaults, name))

        self.db = db
        self.visibility_timeout = float(opt("visibility_timeout"))
        if self.visibility_timeout <= 0:
            raise ValueError(f"visibility_timeout must be a positive number of seconds, "
                             f"not {opt('visibility_timeout')!r}")
        self.ack_emulation = bool(opt("ack_emulation"))
        self.restore_limit = int(opt("unacked_restore_limit") or 1000)
        self.sep: str = opt("sep")
        self.steps: list[int] = sorted({int(s) for s in opt("priority_steps")}) or [0]
        self.steps_csv = ",".join(str(s) for s in self.steps)
        gkp = self.gkp = opt("global_keyprefix") or ""
        self.hkey = gkp + opt("unacked_key")
        self.zkey = gkp + opt("unacked_index_key")
        self.version_key = gkp + "_kombu.binding_version"
        self.meta_key = gkp + "_kombu.exchanges"
        self.queues_key = gkp + "_kombu.queues"
        self.binding_prefix = gkp + opt("keyprefix_queue").replace("%s", "")
        self.wake_prefix = f"{gkp}_kombu.wake/{db}."
        self.fanout_patterns = bool(opt("fanout_patterns"))
        #: Filter fanout deliveries by binding key (kombu's fanout_patterns) only
        #: when asked for explicitly; by default fanout ignores routing keys (AMQP).
        self.fanout_filter = bool(options.get("fanout_patterns", False)) and \
            self.fanout_patterns
        prefix = opt("fanout_prefix")
        if prefix:
            prefix = prefix if isinstance(prefix, str) else opt("keyprefix_fanout")
            self.fanout_prefix = gkp + prefix.format(db=db)
        else:
            self.fanout_prefix = gkp
        self._keys: dict[str, tuple[str, ...]] = {}

    def queue_keys(self, queue: str) -> tuple[str, ...]:
        """The list keys of ``queue``, one per priority step, in serving order."""
        keys = self._keys.get(queue)
        if keys is None:
            gkp, sep = self.gkp, self.sep
            keys = self._keys[queue] = tuple(
                f"{gkp}{queue}{sep}{s}" if s else f"{gkp}{queue}" for s in self.steps)
        return keys

    def key_for_priority(self, queue: str, priority: Any) -> str:
        """The list key a message of kombu ``priority`` (0 most urgent) goes to."""
        step = priority_step(priority, self.steps)
        return f"{self.gkp}{queue}{self.sep}{step}" if step else f"{self.gkp}{queue}"

    def key_for_level(self, queue: str, level: int) -> str:
        """The list key for an engine priority level (higher served first)."""
        return self.key_for_priority(queue, 9 - min(max(level, 0), 9))

    def queue_args_key(self, queue: str) -> str:
        """Where the arguments of a queue declared with ``x-expires`` live (it expires too)."""
        return f"{self.gkp}_kombu.queue_args.{queue}"

    def expiring_keys(self, queue: str) -> tuple[str, ...]:
        """Every key of ``queue`` that ``x-expires`` applies to (its arguments' key last)."""
        return (*self.queue_keys(queue), self.rindex_key(queue), self.queue_args_key(queue))

    def wake(self, queue: str) -> str:
        return self.wake_prefix + queue

    def binding_key(self, exchange: str) -> str:
        return self.binding_prefix + exchange

    def rindex_key(self, queue: str) -> str:
        return f"{self.gkp}_kombu.queue_exchanges.{queue}"

    def fanout_topic(self, exchange: str, routing_key: str = "") -> str:
        if routing_key and self.fanout_patterns:
            return f"{self.fanout_prefix}{exchange}/{routing_key}"
        return f"{self.fanout_prefix}{exchange}"

    def queue_json(self, queue: str) -> str:
        return json.dumps(queue)

    def steps_for(self, queues: Sequence[str]) -> list[tuple[str, str]]:
        """``(queue, key)`` pairs in serving order: step by step, then queue by queue."""
        per_queue = [(q, self.queue_keys(q)) for q in queues]
        return [(q, keys[pos]) for pos in range(len(self.steps)) for q, keys in per_queue]
