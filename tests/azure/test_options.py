"""kombu's options (prefix, visibility_timeout, wait_time_seconds, polling_interval),
the 64 KiB limit, and what Azure stores."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from azurite_env import URL

from kombu import Connection, Exchange, Queue
from kombu.exceptions import LimitExceeded


def test_queue_name_prefix_and_mangling_name_the_azure_queue(service: Any, prefix: str,
                                                            options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = conn.SimpleQueue("orders.high_priority")
        queue.put("x")
        queue.close()
    names = [q.name for q in service.list_queues(name_starts_with=prefix)]
    assert names == [f"{prefix}orders-high-priority"]
    raw = service.get_queue_client(names[0]).peek_messages()
    assert json.loads(raw[0].content)["body"]  # the envelope, as JSON text


def test_visibility_timeout_hides_and_renewal_keeps_a_held_message(
        service: Any, prefix: str, options: dict[str, Any]) -> None:
    with Connection(URL, transport_options={**options, "visibility_timeout": 2}) as conn:
        assert conn.default_channel.storage.lease_seconds == 2.0
        queue = conn.SimpleQueue("held")
        queue.put({"n": 1})
        message = queue.get(timeout=10)
        raw = service.get_queue_client(f"{prefix}held")
        deadline = time.monotonic() + 5  # 2.5 leases: renewed, never visible
        while time.monotonic() < deadline:
            assert raw.peek_messages() == []
            time.sleep(0.5)
        message.ack()
        assert raw.get_queue_properties().approximate_message_count == 0
        queue.close()


def test_default_lease_is_kombus_30_seconds(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        assert conn.default_channel.storage.lease_seconds == 30.0


def test_requeue_shows_the_message_again_flagged_redelivered(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = conn.SimpleQueue("requeue")
        queue.put({"n": 2})
        queue.get(timeout=10).requeue()
        again = queue.get(timeout=10)
        assert again.payload == {"n": 2} and again.delivery_info["redelivered"]
        again.ack()
        queue.close()


def test_wait_time_seconds_bounds_one_fetch(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options={**options, "wait_time_seconds": 0.5}) as conn:
        conn.SimpleQueue("waits").close()
        storage = conn.default_channel.storage
        started = time.monotonic()
        assert storage.fetch(["waits"], 1, timeout=10) == []
        assert 0.4 < time.monotonic() - started < 3
        # A message arriving while a fetch waits is returned by it.
        storage.wait_time_seconds = 10
        timer = threading.Timer(0.5, lambda: conn.SimpleQueue("waits").put("late"))
        timer.start()
        got = storage.fetch(["waits"], 1, timeout=10)
        timer.join()
        assert len(got) == 1
        storage.ack([got[0].tag])


def test_polling_interval_option(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options={**options, "polling_interval": 0.3}) as conn:
        assert conn.transport.polling_interval == 0.3
        assert conn.default_channel.storage.polling_interval == 0.3
    with Connection(URL) as conn:
        assert conn.transport.polling_interval == 1.0  # kombu's default


def test_over_64_kib_fails_at_publish_and_stores_nothing(options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = conn.SimpleQueue("big")
        with pytest.raises(LimitExceeded, match="65536"):
            queue.put("x" * 60_000)  # 80 KB once base64-encoded
        assert queue.qsize() == 0
        queue.put("y" * 40_000)
        message = queue.get(timeout=10)
        assert message.payload == "y" * 40_000
        message.ack()
        queue.close()


def test_queue_arguments_are_kept_in_azure_metadata(service: Any, prefix: str,
                                                   options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        Queue("ttl", Exchange("ex", "direct"), "ttl",
              queue_arguments={"x-message-ttl": 60000})(conn.default_channel).declare()
    metadata = service.get_queue_client(f"{prefix}ttl").get_queue_properties().metadata
    assert json.loads(metadata["kombuarguments"]) == {"x-message-ttl": 60000}


def test_no_ack_consumer_deletes_on_receipt(service: Any, prefix: str,
                                           options: dict[str, Any]) -> None:
    with Connection(URL, transport_options=options) as conn:
        queue = conn.SimpleQueue("noack", no_ack=True)
        queue.put("gone")
        assert queue.get(timeout=10).payload == "gone"
        raw = service.get_queue_client(f"{prefix}noack")
        assert raw.get_queue_properties().approximate_message_count == 0
        queue.close()
