"""Helpers for kombu's fault suite: write a raw (possibly malformed) entry into a queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

__all__ = ("write_envelope",)


def write_envelope(conn: Any, queue: str, payload: bytes) -> None:
    """Store ``payload`` as it is in ``queue``, bypassing the producer."""
    storage = conn.default_channel.storage
    with storage.db.engine.begin() as db:
        db.execute(insert(storage.m).values(
            queue=queue, state=0, rank=255, seq=0, redelivered=0,
            # A text column holds text: undecodable bytes and NULs become U+FFFD.
            payload=payload.decode("utf-8", "replace").replace("\x00", "\ufffd")))
