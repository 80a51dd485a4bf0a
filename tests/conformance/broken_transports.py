"""Deliberately broken memory transports: the kit must catch each one.

Not a test module: ``kits_broken.py`` subclasses the kit with these, and
``test_broken_transports.py`` runs it and checks what failed.
"""

from __future__ import annotations

import re
from typing import Any

from kombu.transport import memory
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
    """Binds ``#`` as if it were ``*`` (exactly one word)."""

    @staticmethod
    def _broken(key: str) -> re.Pattern[str]:
        return topic_regex(".".join("*" if w == "#" else w for w in key.split(".")))

    def prepare_bind(self, queue: str, exchange: str, routing_key: str,
                     arguments: dict[str, Any] | None) -> tuple[str, Any, str]:
        return routing_key, self._broken(routing_key), queue

    def key_to_pattern(self, rkey: str) -> re.Pattern[str]:
        return self._broken(rkey)


class MisroutingChannel(memory.Channel):
    exchange_types = {**memory.Channel.exchange_types, "topic": HashAsStarTopic}


class MisroutesHash(memory.Transport):
    Channel = MisroutingChannel


class FlatChannel(memory.Channel):
    """Every message is stored at priority 0, whatever it asked for."""

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        message["properties"]["priority"] = 0
        super()._put(queue, message, **kwargs)


class IgnoresPriority(memory.Transport):
    Channel = FlatChannel
    implements = memory.Transport.implements.extend(priority=True)


BROKEN = {
    "LosesRequeued": LosesRequeued,
    "IgnoresPrefetch": IgnoresPrefetch,
    "MisroutesHash": MisroutesHash,
    "IgnoresPriority": IgnoresPriority,
}
