"""Connections and channels: connect, close, reconnect, channels, default_channel."""

from __future__ import annotations

import socket
from time import monotonic

import pytest

from ..helpers import Kit

__all__ = ("ConnectionChecks",)


class ConnectionChecks:
    kit_group = "connection"

    def test_connect_and_close(self, kit: Kit) -> None:
        conn = kit.connection()
        assert conn.connect() is not None
        assert conn.connected
        conn.close()
        assert not conn.connected

    def test_context_manager_closes(self, kit: Kit) -> None:
        with kit.conn.clone() as conn:
            conn.connect()
            assert conn.connected
        assert not conn.connected

    def test_ensure_connection(self, kit: Kit) -> None:
        conn = kit.connection()
        assert conn.ensure_connection(max_retries=1) is conn
        assert conn.connected

    def test_reconnect_after_close(self, kit: Kit) -> None:
        conn = kit.connection()
        queue = kit.queue()
        kit.declare(queue, channel=conn.default_channel)
        conn.close()
        conn.connect()
        assert conn.connected
        kit.publish({"again": True}, routing_key=queue.name, conn=conn)
        assert kit.bodies(queue, 1, conn=conn) == [{"again": True}]

    def test_default_channel(self, kit: Kit) -> None:
        conn = kit.connection()
        channel = conn.default_channel
        assert channel is conn.default_channel, "default_channel must be created once"
        conn.close()
        queue = kit.queue()
        fresh = conn.default_channel  # reconnects
        assert fresh is not channel, "closing the connection must drop its default channel"
        kit.declare(queue, channel=fresh)
        kit.publish({"n": 1}, routing_key=queue.name, conn=conn)
        assert kit.bodies(queue, 1, conn=conn) == [{"n": 1}]

    def test_channels_are_independent(self, kit: Kit) -> None:
        conn = kit.connection()
        first, second = conn.channel(), conn.channel()
        assert first is not second
        q1, q2 = kit.queue(), kit.queue()
        kit.declare(q1, q2)
        kit.publish({"to": 1}, routing_key=q1.name)
        kit.publish({"to": 2}, routing_key=q2.name)
        assert kit.bodies(q1, 1, conn=conn, channel=first) == [{"to": 1}]
        first.close()
        assert kit.bodies(q2, 1, conn=conn, channel=second) == [{"to": 2}], \
            "closing one channel broke another channel of the same connection"
        second.close()

    def test_drain_events_times_out(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        with kit.conn.Consumer([queue], on_message=lambda m: None):
            started = monotonic()
            with pytest.raises(socket.timeout):
                kit.conn.drain_events(timeout=0.2)
            waited = monotonic() - started
        assert waited < 0.2 + 2.0, f"drain_events(timeout=0.2) took {waited:.2f}s"

    def test_messages_cross_connections(self, kit: Kit) -> None:
        queue = kit.queue()
        kit.declare(queue)
        other = kit.connection()
        kit.publish({"from": "a"}, routing_key=queue.name, conn=other)
        assert kit.bodies(queue, 1) == [{"from": "a"}]
