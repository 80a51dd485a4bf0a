"""Bad input: undecodable bodies and disallowed content types are never lost; publishing
to an unknown exchange is an error naming it."""

from __future__ import annotations

from typing import Any

import pytest

from ...entity import Exchange, Queue
from ...exceptions import ContentDisallowed, DecodeError
from ...messaging import Consumer
from ..helpers import Kit, unique_name
from .messages import serializers

__all__ = ("BadInputChecks",)

GARBAGE = b"\xff\xfe{not json"


def _insecure_serializer() -> str | None:
    names = [n for n in serializers() if n != "json"]
    return "pickle" if "pickle" in names else (names[0] if names else None)


class BadInputChecks:
    kit_group = "bad_input"

    def _publish_garbage(self, kit: Kit, queue: Queue) -> None:
        kit.declare(queue)
        kit.publish(GARBAGE, routing_key=queue.name, content_type="application/json",
                    content_encoding="binary")

    def _raises_then_redelivered(self, kit: Kit, queue: Queue, error: type[BaseException],
                                 **consumer_options: Any) -> None:
        conn = kit.connection()
        consumer = Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: m.ack()],
                            **consumer_options)
        with consumer, pytest.raises(error):
            kit.drain(conn, lambda: False)
        conn.close()
        again = kit.consume(queue, 1, ack=True)
        assert len(again) == 1, "a message that failed to decode was lost"
        assert again[0].delivery_info.get("redelivered") is True

    def test_undecodable_body_left_for_redelivery(self, kit: Kit) -> None:
        queue = kit.queue()
        self._publish_garbage(kit, queue)
        self._raises_then_redelivered(kit, queue, DecodeError)

    def test_undecodable_body_goes_to_on_decode_error(self, kit: Kit) -> None:
        queue = kit.queue()
        self._publish_garbage(kit, queue)
        failed: list[tuple[Any, BaseException]] = []

        def on_decode_error(message: Any, exc: BaseException) -> None:
            failed.append((message, exc))
            message.ack()

        called: list[Any] = []
        with Consumer(kit.conn.default_channel, [queue], callbacks=[lambda b, m: called.append(b)],
                      on_decode_error=on_decode_error):
            kit.drain(kit.conn, lambda: bool(failed))
        assert not called, "a callback got a body that failed to decode"
        assert len(failed) == 1, "on_decode_error was not called"
        message, exc = failed[0]
        assert bytes(message.body) == GARBAGE, "on_decode_error must get the raw body intact"
        assert isinstance(exc, DecodeError)

    def test_disallowed_content_type_left_for_redelivery(self, kit: Kit) -> None:
        name = _insecure_serializer()
        if name is None:
            pytest.skip("no serializer besides json is installed")
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name, serializer=name)
        self._raises_then_redelivered(kit, queue, ContentDisallowed, accept=["json"])

    def test_disallowed_by_default(self, kit: Kit) -> None:
        if "pickle" not in serializers():
            pytest.skip("pickle is not registered")
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key=queue.name, serializer="pickle")
        failed: list[BaseException] = []

        def on_decode_error(message: Any, exc: BaseException) -> None:
            failed.append(exc)
            message.reject(requeue=False)

        with Consumer(kit.conn.default_channel, [queue], callbacks=[lambda b, m: m.ack()],
                      on_decode_error=on_decode_error):
            kit.drain(kit.conn, lambda: bool(failed))
        assert failed and isinstance(failed[0], ContentDisallowed), \
            "a consumer without accept must refuse pickle"

    def test_publish_to_unknown_exchange(self, kit: Kit) -> None:
        exchange = Exchange(unique_name("nowhere"), "direct")
        probe = kit.queue()
        kit.declare(probe)
        conn = kit.connection()
        channel = conn.channel()
        errors = (*kit.channel_errors, *conn.connection_errors)
        with pytest.raises(errors) as info:
            conn.Producer(channel, auto_declare=False).publish(
                {"n": 1}, exchange=exchange.name, routing_key="rk")
            # brokers that report publish errors asynchronously do so on the next call
            probe(channel).queue_declare(passive=True)
        assert exchange.name in str(info.value), \
            f"the error should name the exchange: {info.value}"
