"""SimpleQueue and SimpleBuffer."""

from __future__ import annotations

import pytest

from ...entity import Exchange, Queue
from ..helpers import Kit, unique_name

__all__ = ("SimpleChecks",)


class SimpleChecks:
    kit_group = "simple"

    def _name(self, kit: Kit) -> str:
        name = unique_name("simple")
        kit.track(Queue(name), Exchange(name))
        return name

    def test_simple_queue(self, kit: Kit) -> None:
        name = self._name(kit)
        with kit.conn.SimpleQueue(name) as queue:
            for n in range(3):
                queue.put({"n": n})
            got = []
            for _ in range(3):
                message = queue.get(timeout=kit.timeout)
                got.append(message.payload["n"])
                message.ack()
            assert got == [0, 1, 2]
            with pytest.raises(queue.Empty):
                queue.get_nowait()
            with pytest.raises(queue.Empty):
                queue.get(timeout=kit.quiet)

    def test_simple_queue_size_and_clear(self, kit: Kit) -> None:
        name = self._name(kit)
        with kit.conn.SimpleQueue(name) as queue:
            for n in range(4):
                queue.put({"n": n})
            assert kit.wait_size(Queue(name), 4) == 4
            assert queue.qsize() == 4
            assert len(queue) == 4
            assert queue.clear() == 4
            assert queue.qsize() == 0

    def test_simple_queue_unacked_comes_back(self, kit: Kit) -> None:
        name = self._name(kit)
        conn = kit.connection()
        with conn.SimpleQueue(name) as queue:
            queue.put({"n": "again"})
            first = queue.get(timeout=kit.timeout)
            assert first.payload == {"n": "again"}
        conn.close()
        with kit.conn.SimpleQueue(name) as queue:
            message = queue.get(timeout=kit.timeout)
            assert message.payload == {"n": "again"}
            assert message.delivery_info.get("redelivered") is True
            message.ack()

    def test_simple_queue_serializer_and_headers(self, kit: Kit) -> None:
        name = self._name(kit)
        with kit.conn.SimpleQueue(name, serializer="json") as queue:
            queue.put({"n": 1}, headers={"h": "v"}, compression="zlib")
            message = queue.get(timeout=kit.timeout)
            assert message.payload == {"n": 1}
            assert message.headers.get("h") == "v"
            message.ack()

    def test_simple_buffer(self, kit: Kit) -> None:
        name = self._name(kit)
        with kit.conn.SimpleBuffer(name) as buffer:
            for n in range(3):
                buffer.put({"n": n})
            got = [buffer.get(timeout=kit.timeout).payload["n"] for _ in range(3)]
            assert got == [0, 1, 2]
            with pytest.raises(buffer.Empty):
                buffer.get(timeout=kit.quiet)
