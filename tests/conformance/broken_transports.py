"""Deliberately broken memory transports: the kit must catch each one.

Not a test module: ``kits_broken.py`` subclasses the kit with these, and
``test_broken_transports.py`` runs it and checks what failed.
"""

from __future__ import annotations

import re
from typing import Any

from kombu.transport import memory
from kombu.transport.virtual import Target
from kombu.transport.virtual.exchange import TopicExchange, topic_regex


class LosingChannel(memory.Channel):
    """reject(requeue=True) acks instead: the message is gone."""

    def basic_reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            self.basic_ack(delivery_tag)
            return
        super().basic_reject(delivery_tag, requeue=requeue)


class LosesRequeued(memory.Transport):
    Channel = LosingChannel


class GreedyChannel(memory.Channel):
    """basic_qos is ignored: consumers get everything at once."""

    def basic_qos(self, prefetch_size: int = 0, prefetch_count: int = 0,
                  apply_global: bool = False) -> None:
        self.qos.prefetch_count = 0


class IgnoresPrefetch(memory.Transport):
    Channel = GreedyChannel


class HashAsStarTopic(TopicExchange):
    """Routes ``#`` as if it were ``*`` (exactly one word)."""

    @staticmethod
    def _broken(key: str) -> re.Pattern[str]:
        return topic_regex(".".join("*" if w == "#" else w for w in key.split(".")))

    def route(self, bindings: Any, routing_key: str,
              headers: dict[str, Any] | None = None) -> list[str]:
        subject = "." + routing_key if routing_key else ""
        return list(dict.fromkeys(b.queue for b in bindings
                                  if self._broken(b.routing_key).match(subject)))


class MisroutingChannel(memory.Channel):
    exchange_types = {**memory.Channel.exchange_types, "topic": HashAsStarTopic}


class MisroutesHash(memory.Transport):
    Channel = MisroutingChannel


class FlatStorage(memory.MemoryStorage):
    """Every message is stored at priority level 0, whatever it asked for."""

    def put(self, envelope: dict[str, Any], targets: Any, version: Any = None) -> bool:
        return super().put(envelope, [Target(t.queue, 0) for t in targets], version)


class IgnoresPriority(memory.Transport):
    Storage = FlatStorage
    implements = memory.Transport.implements.extend(priority=True)


BROKEN = {
    "LosesRequeued": LosesRequeued,
    "IgnoresPrefetch": IgnoresPrefetch,
    "MisroutesHash": MisroutesHash,
    "IgnoresPriority": IgnoresPriority,
}
