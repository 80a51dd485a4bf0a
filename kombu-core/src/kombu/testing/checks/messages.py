"""Round trips: every serializer and compression method, unicode, binary and large
bodies, many headers, message properties."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from ..helpers import Kit

__all__ = ("MessageChecks", "compressions", "serializers")

#: Large enough to cross any small frame or value limit (sent once per check).
LARGE_BODY = 8 * 1024 * 1024

#: A body every serializer can carry.
SAMPLE: dict[str, Any] = {
    "int": 42, "neg": -7, "float": 1.5, "true": True, "false": False, "none": None,
    "text": "héllo wörld ✓ 日本語 🎉", "list": [1, "two", [3]],
    "nested": {"a": {"b": {"c": "deep"}}},
}


def _over_size_limit(kit: Kit, queue: Any, body: Any, **kwargs: Any) -> bool:
    """On a transport stating ``max_message_size`` below LARGE_BODY: publishing ``body``
    fails with an error naming the limit, and stores nothing.  False elsewhere."""
    limit = getattr(kit.conn.transport, "max_message_size", None)
    if not limit or limit >= LARGE_BODY:
        return False
    with pytest.raises(Exception) as info:
        kit.publish(body, routing_key=queue.name, **kwargs)
    assert str(limit) in str(info.value) or f"{limit // 1024} KiB" in str(info.value), (
        f"the error does not name the transport's size limit ({limit}): {info.value!r}")
    assert kit.size(queue) == 0
    return True


def serializers() -> list[str]:
    """Names of the registered serializers whose libraries import."""
    from ... import serialization

    registry = serialization.registry
    registry._sync()  # plugin serializers arrive on the first lookup: ask for them now
    names = []
    for name in sorted(getattr(registry, "_encoders", None) or registry.name_to_type):
        try:
            serialization.dumps(SAMPLE, serializer=name)
        except Exception:  # the library behind it is not installed
            continue
        names.append(name)
    return names


def compressions() -> list[str]:
    """Content types of the registered compression methods whose libraries import."""
    from ... import compression

    usable = []
    for name in sorted(set(compression.encoders())):
        try:
            compression.compress(b"probe", name)
        except Exception:
            continue
        usable.append(name)
    return usable


class MessageChecks:
    kit_group = "serialization"

    def pytest_generate_tests(self, metafunc: Any) -> None:
        if "serializer" in metafunc.fixturenames:
            metafunc.parametrize("serializer", serializers())
        if "compression" in metafunc.fixturenames:
            metafunc.parametrize("compression", compressions())

    def test_serializer_round_trip(self, kit: Kit, serializer: str) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish(SAMPLE, routing_key=queue.name, serializer=serializer)
        [message] = kit.consume(queue, 1, accept=[serializer])
        assert message.decode() == SAMPLE

    def test_compression_round_trip(self, kit: Kit, compression: str) -> None:
        queue = kit.queue()
        kit.declare(queue)
        body = {"text": "compress me " * 500, "sample": SAMPLE}
        kit.publish(body, routing_key=queue.name, compression=compression)
        [message] = kit.consume(queue, 1)
        assert message.headers.get("compression") == compression
        assert message.decode() == body

    def test_unicode_bodies(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        text = SAMPLE["text"] + " \u0000 \u2028 \U0010ffff"
        kit.publish({"text": text}, routing_key=queue.name)
        kit.publish(text, routing_key=queue.name, content_type="text/plain",
                    content_encoding="utf-8")
        json_msg, raw_msg = kit.consume(queue, 2, accept=["json", "text/plain"])
        assert json_msg.decode() == {"text": text}
        assert raw_msg.content_type == "text/plain"
        assert raw_msg.decode() == text

    def test_binary_body(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        data = bytes(range(256)) * 64
        kit.publish(data, routing_key=queue.name, content_type="application/data",
                    content_encoding="binary")
        [message] = kit.consume(queue, 1, accept=["application/data"])
        assert bytes(message.body) == data
        assert message.decode() == data

    def test_large_binary_body(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        data = os.urandom(LARGE_BODY)
        if _over_size_limit(kit, queue, data, content_type="application/data",
                            content_encoding="binary"):
            return
        kit.publish(data, routing_key=queue.name, content_type="application/data",
                    content_encoding="binary")
        [message] = kit.consume(queue, 1, accept=["application/data"], timeout=kit.timeout * 4)
        body = bytes(message.body)
        assert len(body) == len(data)
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()

    def test_large_json_body(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        text = ("0123456789abcdef" * (LARGE_BODY // 16))
        if _over_size_limit(kit, queue, {"text": text}):
            return
        kit.publish({"text": text}, routing_key=queue.name)
        [message] = kit.consume(queue, 1, timeout=kit.timeout * 4)
        assert message.decode()["text"] == text

    def test_many_headers(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        headers: dict[str, Any] = {f"h-{i:03d}": f"value {i} ✓" for i in range(150)}
        headers.update({"int": 7, "true": True, "false": False, "list": ["a", "b"],
                        "map": {"k": "v", "n": 1}, "long": "x" * 4096})
        kit.publish({"n": 1}, routing_key=queue.name, headers=dict(headers))
        [message] = kit.consume(queue, 1)
        missing = {k: v for k, v in headers.items() if message.headers.get(k) != v}
        assert not missing, f"headers lost or changed: {sorted(missing)[:10]}"

    def test_properties_and_delivery_info(self, kit: Kit) -> None:
        exchange = kit.exchange("direct")
        queue = kit.queue(exchange, routing_key="props")
        kit.declare(queue)
        kit.publish({"n": 1}, routing_key="props", exchange=exchange,
                    correlation_id="corr-1", reply_to="reply.queue")
        [message] = kit.consume(queue, 1)
        assert message.properties.get("correlation_id") == "corr-1"
        assert message.properties.get("reply_to") == "reply.queue"
        assert message.content_type == "application/json"
        assert message.delivery_info.get("routing_key") == "props"
        assert message.delivery_info.get("exchange") == exchange.name
        assert message.delivery_tag is not None

    @pytest.mark.parametrize("mode", ["persistent", "transient"])
    def test_delivery_modes(self, kit: Kit, mode: str) -> None:
        queue = kit.queue()
        kit.declare(queue)
        kit.publish({"mode": mode}, routing_key=queue.name, delivery_mode=mode)
        assert kit.bodies(queue, 1) == [{"mode": mode}]
