"""A malformed envelope in the storage reaches the consumer as a decode error; it never
raises out of the engine (a consumer that crashed on it would stop consuming)."""

from __future__ import annotations

from typing import Any

import pytest

from kombu import Connection, Consumer, Queue
from kombu.testing.faults.envelopes import RAW_ENVELOPES, WRITERS


@pytest.mark.parametrize("kind", sorted(RAW_ENVELOPES))
def test_malformed_envelope_goes_to_on_decode_error_or_is_delivered(kind: str) -> None:
    write = WRITERS["memory"][0]
    with Connection("memory://") as conn:
        queue = Queue(f"bad-envelope-{kind.replace(' ', '-')}")
        queue(conn.default_channel).declare()
        write(conn, queue.name, RAW_ENVELOPES[kind](queue.name))
        conn.default_channel.basic_publish(
            conn.default_channel.prepare_message('{"n": 1}', content_type="application/json",
                                                 content_encoding="utf-8"), "", queue.name)
        errors: list[BaseException] = []
        bodies: list[Any] = []

        def on_decode_error(message: Any, exc: BaseException) -> None:
            errors.append(exc)
            message.reject(requeue=False)

        def on_message(body: Any, message: Any) -> None:
            bodies.append(body)
            message.ack()

        with Consumer(conn.default_channel, [queue], callbacks=[on_message],
                      on_decode_error=on_decode_error, accept=["json"]):
            for _ in range(4):
                try:
                    conn.drain_events(timeout=0.2)
                except TimeoutError:
                    break
        assert {"n": 1} in bodies, "the good message behind the bad one was not delivered"
        assert len(errors) + len(bodies) == 2, (errors, bodies)
        assert all(isinstance(e, Exception) for e in errors), errors


@pytest.mark.parametrize("envelope", [
    {"body": "e30=", "properties": "oops", "headers": {}},
    {"body": "e30=", "properties": {"delivery_info": [1]}, "headers": ["x"]},
], ids=["properties-not-a-map", "delivery-info-and-headers-not-maps"])
def test_malformed_envelope_is_dead_lettered(envelope: dict[str, Any]) -> None:
    with Connection("memory://") as conn:
        channel = conn.default_channel
        dlq = Queue("bad-envelope-dlq")
        dlq(channel).declare()
        queue = Queue("bad-envelope-source", queue_arguments={
            "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq.name})
        queue(channel).declare()
        storage = channel.storage
        storage.state.queue(queue.name).put(dict(envelope))
        failed: list[BaseException] = []

        def on_decode_error(message: Any, exc: BaseException) -> None:
            failed.append(exc)
            message.reject(requeue=False)

        with Consumer(channel, [queue], callbacks=[lambda b, m: m.ack()],
                      on_decode_error=on_decode_error):
            conn.drain_events(timeout=1)
        assert len(failed) == 1
        assert dlq(channel).get(no_ack=True) is not None, "the bad message was not dead-lettered"
