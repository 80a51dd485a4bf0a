"""Delivery tags: uuid-shaped, unique across processes, and cheap (no uuid4() per message)."""

from __future__ import annotations

import itertools
import os
import uuid

__all__ = ("next_delivery_tag",)

_tag_prefix = ""
_tag_counter = itertools.count(1)


def _reset_delivery_tags() -> None:
    global _tag_prefix, _tag_counter
    h = uuid.uuid4().hex
    _tag_prefix = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-"
    _tag_counter = itertools.count(1)


_reset_delivery_tags()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_delivery_tags)


def next_delivery_tag() -> str:
    """A new delivery tag: a uuid-shaped string unique across processes."""
    return f"{_tag_prefix}{next(_tag_counter) & 0xFFFFFFFFFFFF:012x}"
