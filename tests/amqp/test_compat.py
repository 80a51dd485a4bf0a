"""kombu.compat (carrot's Publisher and Consumer) against RabbitMQ."""

from __future__ import annotations

import time
from typing import Any

from kombu import Connection, compat


def test_carrot_publisher_and_consumer_on_rabbitmq(rabbitmq: str, uid: str,
                                                   cleanup: Any) -> None:
    exchange, queue = cleanup.exchange(f"carrot-x-{uid}"), cleanup.queue(f"carrot-q-{uid}")
    with Connection(rabbitmq, connect_timeout=5) as conn:
        consumer = compat.Consumer(conn, queue=queue, exchange=exchange, routing_key="news",
                                   exchange_type="direct", auto_delete=False)
        with compat.Publisher(conn, exchange=exchange, routing_key="news") as publisher:
            publisher.send({"n": 1})
            publisher.send({"n": 2})
        got: list[Any] = []
        consumer.register_callback(lambda body, message: (got.append(body), message.ack()))
        # basic.publish is asynchronous: the messages reach the queue a little later
        # than send() returns, so poll (basic.get) until the first one is there.
        deadline = time.monotonic() + 10
        message = consumer.fetch(enable_callbacks=True)
        while message is None and time.monotonic() < deadline:
            time.sleep(0.05)
            message = consumer.fetch(enable_callbacks=True)
        assert message is not None, "nothing reached the queue within 10 s"
        assert message.payload == {"n": 1} and got == [{"n": 1}]
        for _ in consumer.iterconsume():
            if len(got) == 2:
                break
        assert got == [{"n": 1}, {"n": 2}]
        consumer.close()
        assert not consumer.backend.is_open
