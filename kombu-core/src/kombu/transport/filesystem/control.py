"""Declarations shared through files: exchanges, bindings and queue arguments.

Layout under the control folder::

    exchanges/<exchange>.json                  the first declaration of an exchange
    bindings/<exchange>/<queue>~<digest>.json  one file per binding
    queues/<queue>.json                        a queue's arguments

The version of an exchange's routing table is the modification time of its
``bindings/<exchange>`` folder, touched by every change to the exchange.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Hashable, Mapping
from typing import Any

from ...utils.json import JSONEncoder
from ..virtual.contract import Binding, RouteTable
from .layout import FILE_MODE, FOLDER_MODE, atomic_write, read_json, safe_name

__all__ = ("ControlFolder",)

#: A folder modified this recently may change again within one mtime tick:
#: its mtime is not trusted as a version until it is older.
FRESH_NS = 200_000_000

_dumps = JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode


class ControlFolder:
    """Exchanges, bindings and queue arguments of one filesystem broker."""

    def __init__(self, root: str, fsync: bool = True, folder_mode: int = FOLDER_MODE,
                 file_mode: int = FILE_MODE) -> None:
        self.root = root
        self.fsync = fsync
        self.folder_mode = folder_mode
        self.file_mode = file_mode

    def _path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def _write(self, path: str, data: Any) -> None:
        folder = os.path.dirname(path)
        try:
            atomic_write(path, _dumps(data).encode("utf-8"), self.fsync, self.file_mode)
        except FileNotFoundError:
            os.makedirs(folder, mode=self.folder_mode, exist_ok=True)
            atomic_write(path, _dumps(data).encode("utf-8"), self.fsync, self.file_mode)

    def _touch(self, exchange: str) -> None:
        folder = self._path("bindings", safe_name(exchange))
        os.makedirs(folder, mode=self.folder_mode, exist_ok=True)
        os.utime(folder)

    # -- exchanges ------------------------------------------------------------

    def exchange_meta(self, exchange: str) -> dict[str, Any] | None:
        try:
            data = read_json(self._path("exchanges", safe_name(exchange) + ".json"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        return {"type": data.get("type", "direct"), "durable": bool(data.get("durable")),
                "auto_delete": bool(data.get("auto_delete")),
                "arguments": data.get("arguments") or {}}

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        path = self._path("exchanges", safe_name(exchange) + ".json")
        if os.path.exists(path):
            return  # the first declaration wins
        self._write(path, {"name": exchange, **meta})
        self._touch(exchange)

    def delete_exchange(self, exchange: str) -> None:
        try:
            os.unlink(self._path("exchanges", safe_name(exchange) + ".json"))
        except OSError:
            pass
        folder = self._path("bindings", safe_name(exchange))
        shutil.rmtree(folder, ignore_errors=True)

    def exchanges(self) -> list[str]:
        try:
            names = os.listdir(self._path("exchanges"))
        except FileNotFoundError:
            return []
        out = []
        for name in sorted(names):
            if name.endswith(".json") and not name.startswith("."):
                try:
                    out.append(str(read_json(self._path("exchanges", name))["name"]))
                except (OSError, ValueError, KeyError, TypeError):
                    continue
        return out

    # -- bindings -------------------------------------------------------------

    def _binding_path(self, binding: Binding) -> str:
        digest = hashlib.sha1(binding.routing_key.encode("utf-8")).hexdigest()[:16]
        return self._path("bindings", safe_name(binding.exchange),
                          f"{safe_name(binding.queue)}~{digest}.json")

    def bind(self, binding: Binding) -> None:
        path = self._binding_path(binding)
        if os.path.exists(path):
            return
        self._write(path, {"queue": binding.queue, "routing_key": binding.routing_key,
                           "arguments": dict(binding.arguments) if binding.arguments else None})
        self._touch(binding.exchange)

    def unbind(self, binding: Binding) -> None:
        try:
            os.unlink(self._binding_path(binding))
        except FileNotFoundError:
            return
        self._touch(binding.exchange)

    def unbind_queue(self, queue: str) -> None:
        """Remove every binding of ``queue`` (the queue is being deleted)."""
        root = self._path("bindings")
        try:
            exchanges = os.listdir(root)
        except FileNotFoundError:
            return
        prefix = safe_name(queue) + "~"
        for exchange in exchanges:
            folder = os.path.join(root, exchange)
            try:
                names = os.listdir(folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            removed = False
            for name in names:
                if name.startswith(prefix):
                    try:
                        os.unlink(os.path.join(folder, name))
                        removed = True
                    except FileNotFoundError:
                        pass
            if removed:
                os.utime(folder)

    def route_version(self, exchange: str) -> Hashable | None:
        try:
            mtime = os.stat(self._path("bindings", safe_name(exchange))).st_mtime_ns
        except FileNotFoundError:
            return None
        if time.time_ns() - mtime < FRESH_NS:
            return None  # may change again within the same tick: read it again
        return mtime

    def route_table(self, exchange: str) -> RouteTable:
        folder = self._path("bindings", safe_name(exchange))
        try:
            version: Hashable = os.stat(folder).st_mtime_ns
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            version, names = object(), []
        meta = self.exchange_meta(exchange)
        bindings = []
        for name in names:
            if name.startswith(".") or not name.endswith(".json"):
                continue
            try:
                data = read_json(os.path.join(folder, name))
                bindings.append(Binding(str(data["queue"]), exchange,
                                        str(data.get("routing_key") or ""),
                                        data.get("arguments") or None))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return RouteTable(version, meta, tuple(bindings))

    # -- queues ---------------------------------------------------------------

    def queue_arguments(self, queue: str) -> dict[str, Any] | None:
        try:
            data = read_json(self._path("queues", safe_name(queue) + ".json"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def set_queue_arguments(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        self._write(self._path("queues", safe_name(queue) + ".json"), dict(arguments or {}))

    def forget_queue(self, queue: str) -> None:
        try:
            os.unlink(self._path("queues", safe_name(queue) + ".json"))
        except OSError:
            pass
        self.unbind_queue(queue)

