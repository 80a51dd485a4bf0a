"""Where things live in the ZooKeeper tree (all under the URL's path, the "chroot").

::

    <root>/queues/<queue>            data: the queue's arguments (JSON)
    <root>/queues/<queue>/m/<entry>  one waiting or leased message (its envelope, JSON)
    <root>/queues/<queue>/t/<entry>  the lease: an ephemeral node of the holder's session
    <root>/exchanges/<exchange>      data: the declaration (JSON; empty: bound, not declared)
    <root>/exchanges/<exchange>/<b>  one binding (its name encodes queue, key, arguments)

An entry is named ``<rank>-<sequence>`` (``<rank>!<sequence>`` when put back at
the head): ``rank`` is ``255 - level``, three digits, so a plain sort of the
children serves higher levels first and FIFO within a level.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, unquote

__all__ = ("Layout", "binding_name", "entry_level", "entry_prefix", "parse_binding_name")


def _node(name: str) -> str:
    """A znode name for any string ('/', '%' and '.' escaped; '' is '%')."""
    return quote(name, safe="").replace(".", "%2E") or "%"


def _name(node: str) -> str:
    return "" if node == "%" else unquote(node)


def entry_prefix(level: int, head: bool = False) -> str:
    """The name prefix (before ZooKeeper's sequence number) of an entry at ``level``."""
    return f"{255 - max(0, min(255, level)):03d}{'!' if head else '-'}"


def entry_level(entry: str) -> int:
    try:
        return 255 - int(entry[:3])
    except ValueError:
        return 0


def binding_name(queue: str, routing_key: str, arguments: Any) -> str:
    raw = json.dumps([queue, routing_key, arguments or None], sort_keys=True,
                     separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def parse_binding_name(node: str) -> tuple[str, str, Any]:
    raw = base64.urlsafe_b64decode(node + "=" * (-len(node) % 4))
    queue, routing_key, arguments = json.loads(raw)
    return queue, routing_key, arguments


class Layout:
    """Paths of one connection's tree, rooted at ``root`` ('' for ``/``)."""

    def __init__(self, root: str) -> None:
        root = "/" + root.strip("/") if root.strip("/") else ""
        self.root = root
        self.queues = f"{root}/queues"
        self.exchanges = f"{root}/exchanges"
        self._entry_paths: dict[tuple[str, int], str] = {}

    def queue(self, queue: str) -> str:
        return f"{self.queues}/{_node(queue)}"

    def messages(self, queue: str) -> str:
        return f"{self.queues}/{_node(queue)}/m"

    def entry_path(self, queue: str, level: int) -> str:
        """Where a new entry of ``queue`` at ``level`` is created (cached: the hot path)."""
        key = (queue, level)
        path = self._entry_paths.get(key)
        if path is None:
            if len(self._entry_paths) > 4096:
                self._entry_paths.clear()
            path = self._entry_paths[key] = f"{self.messages(queue)}/{entry_prefix(level)}"
        return path

    def taken(self, queue: str) -> str:
        return f"{self.queues}/{_node(queue)}/t"

    def exchange(self, exchange: str) -> str:
        return f"{self.exchanges}/{_node(exchange)}"

    @staticmethod
    def name(node: str) -> str:
        """The queue or exchange name a znode name stands for."""
        return _name(node)
