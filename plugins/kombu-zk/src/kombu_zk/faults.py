"""The fault suite's envelope writer for ZooKeeper (``kombu_zk.faults:write``).

Writes a raw entry straight into a queue, bypassing the producer, as a
broken or foreign client would: the suite checks that it still reaches a
consumer (with the decode error raised) and is never dropped.
"""

from __future__ import annotations

from typing import Any

from .layout import entry_prefix

__all__ = ("write",)


def write(conn: Any, queue: str, payload: bytes) -> None:
    transport = conn.default_channel.connection
    path = f"{transport.layout.messages(queue)}/{entry_prefix(0)}"
    transport.zk_client().create(path, payload, sequence=True, makepath=True)
