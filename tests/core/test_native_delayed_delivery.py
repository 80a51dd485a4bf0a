"""kombu.transport.native_delayed_delivery: routing keys and the declarations it makes.

The declarations are checked on a recording channel: the topology is a
RabbitMQ one (exchange-to-exchange bindings, dead-letter exchanges), and
the point here is which entities are declared, not a broker's routing.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from kombu import Exchange, Queue, binding
from kombu.transport.native_delayed_delivery import (
    CELERY_DELAYED_DELIVERY_EXCHANGE,
    MAX_LEVEL,
    MAX_NUMBER_OF_BITS_TO_USE,
    bind_queue_to_native_delayed_delivery_exchange,
    calculate_routing_key,
    declare_native_delayed_delivery_exchanges_and_queues,
    level_name,
)


class RecordingChannel:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    def _record(self, name: str):
        def method(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            if name == "queue_declare":
                return kwargs["queue"], 0, 0
            return None

        return method

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("exchange_", "queue_")):
            return self._record(name)
        raise AttributeError(name)

    def close(self) -> None:
        self.closed = True

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for call, kwargs in self.calls if call == name]


class RecordingConnection:
    def __init__(self) -> None:
        self.channels: list[RecordingChannel] = []

    def channel(self) -> RecordingChannel:
        channel = RecordingChannel()
        self.channels.append(channel)
        return channel


def test_routing_key_is_the_delay_in_28_binary_digits():
    key = calculate_routing_key(10, "tasks")
    bits, _, rest = key.rpartition(".")
    assert rest == "tasks"
    assert bits.split(".") == list(format(10, "028b"))
    assert key == "0." * 24 + "1.0.1.0.tasks"


def test_routing_key_keeps_dotted_routing_keys_and_max_delay():
    assert calculate_routing_key(1, "a.b").endswith(".1.a.b")
    top = 2**MAX_NUMBER_OF_BITS_TO_USE - 1
    assert calculate_routing_key(top, "q") == "1." * 28 + "q"


@pytest.mark.parametrize("countdown", [0, -5])
def test_routing_key_rejects_non_positive_countdown(countdown):
    with pytest.raises(ValueError, match="positive"):
        calculate_routing_key(countdown, "q")


def test_routing_key_rejects_empty_routing_key_and_too_long_delay():
    with pytest.raises(ValueError, match="routing_key"):
        calculate_routing_key(5, "")
    with pytest.raises(ValueError, match="too long"):
        calculate_routing_key(2**28, "q")


def test_level_names():
    assert MAX_NUMBER_OF_BITS_TO_USE == 28
    assert MAX_LEVEL == 27
    assert level_name(0) == "celery_delayed_0"
    assert level_name(27) == "celery_delayed_27"
    assert level_name(3, prefix="app") == "app_celery_delayed_3"
    with pytest.raises(ValueError):
        level_name(-1)


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_declares_28_levels_and_the_delivery_exchange(queue_type):
    conn = RecordingConnection()
    declare_native_delayed_delivery_exchanges_and_queues(conn, queue_type)
    (channel,) = conn.channels
    assert channel.closed
    exchanges = {c["exchange"]: c for c in channel.of("exchange_declare")}
    assert set(exchanges) == {level_name(n) for n in range(28)} | {CELERY_DELAYED_DELIVERY_EXCHANGE}
    assert all(c["type"] == "topic" for c in exchanges.values())

    queues = {c["queue"]: c for c in channel.of("queue_declare")}
    assert set(queues) == {level_name(n) for n in range(28)}
    for level in range(28):
        args = queues[level_name(level)]["arguments"]
        assert args["x-queue-type"] == queue_type
        assert args["x-message-ttl"] == 2**level * 1000
        assert args["x-overflow"] == "reject-publish"
        expected_dlx = level_name(level - 1) if level else CELERY_DELAYED_DELIVERY_EXCHANGE
        assert args["x-dead-letter-exchange"] == expected_dlx
        assert ("x-dead-letter-strategy" in args) == (queue_type == "quorum")

    # Each level's queue takes the keys whose bit for that level is 1 ...
    queue_binds = {c["queue"]: c for c in channel.of("queue_bind")}
    bind = queue_binds[level_name(27)]
    assert bind["exchange"] == level_name(27)
    assert bind["routing_key"] == "1.#"
    assert queue_binds[level_name(0)]["routing_key"] == "*." * 27 + "1.#"
    # ... and the others pass straight on to the next level.
    e2e = {(c["source"], c["destination"]): c["routing_key"] for c in channel.of("exchange_bind")}
    assert e2e[(level_name(27), level_name(26))] == "0.#"
    assert e2e[(level_name(0), CELERY_DELAYED_DELIVERY_EXCHANGE)] == "*." * 27 + "0.#"
    assert len(e2e) == 28


def test_routing_key_walks_the_levels():
    # Follow a key through the declared topology: the levels it waits in
    # must add up to the countdown.
    countdown = 37
    key_bits = calculate_routing_key(countdown, "q").split(".")[:28]
    waited = sum(2 ** (27 - i) for i, bit in enumerate(key_bits) if bit == "1")
    assert waited == countdown


def test_rejects_unknown_queue_type():
    with pytest.raises(ValueError, match="classic or quorum"):
        declare_native_delayed_delivery_exchanges_and_queues(RecordingConnection(), "stream")


def test_bind_queue_binds_its_topic_exchange_to_the_delivery_exchange():
    conn = RecordingConnection()
    queue = Queue("tasks", Exchange("tasks", type="topic"), routing_key="tasks.high")
    bind_queue_to_native_delayed_delivery_exchange(conn, queue)
    (channel,) = conn.channels
    assert channel.of("exchange_bind") == [
        {
            "destination": "tasks",
            "source": CELERY_DELAYED_DELIVERY_EXCHANGE,
            "routing_key": "#.tasks.high",
            "nowait": False,
            "arguments": None,
        }
    ]
    assert [(c["queue"], c["exchange"], c["routing_key"]) for c in channel.of("queue_bind")] == [
        ("tasks", "tasks", "#.tasks.high")
    ]
    assert channel.closed


def test_bind_queue_uses_every_binding_and_skips_direct_exchanges(caplog):
    conn = RecordingConnection()
    queue = Queue(
        "multi",
        bindings=[
            binding(Exchange("events", type="topic"), routing_key="ev"),
            binding(Exchange("plain", type="direct"), routing_key="p"),
        ],
    )
    with caplog.at_level(logging.WARNING):
        bind_queue_to_native_delayed_delivery_exchange(conn, queue)
    (channel,) = conn.channels
    assert [c["destination"] for c in channel.of("exchange_bind")] == ["events"]
    assert "direct exchange" in caplog.text
