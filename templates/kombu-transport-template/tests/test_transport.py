"""A smoke test; the full contract is checked by kombu's conformance kit:

    pytest -p kombu.testing --kombu-url={{scheme}}://
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue


def test_round_trip() -> None:
    exchange = Exchange("smoke", "direct")
    queue = Queue("smoke", exchange, routing_key="smoke")
    with Connection("{{scheme}}://") as conn:
        conn.Producer().publish({"n": 1}, exchange=exchange, routing_key="smoke",
                                declare=[queue])
        message = queue(conn.default_channel).get(no_ack=False)
        assert message is not None
        assert message.payload == {"n": 1}
        message.ack()
        assert conn.transport.driver_type == "{{scheme}}"
