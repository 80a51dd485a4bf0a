"""The filesystem transport's storage: queues are folders, messages are files, leases are mtimes.

A consumer claims a message by renaming it into its queue's ``.unacked``
folder and touching it; while its process lives the engine's lease keeper
touches its claims every quarter of ``visibility_timeout``.  A claim not
touched for ``visibility_timeout`` seconds belongs to a consumer that died,
froze or lost the folder (on any host: a lease names no process id) and is
renamed back by whoever polls next.  Acks delete the claim (or move it to the
processed folder).
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections import deque
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from ..virtual.contract import Binding, Delivery, RouteTable, Target
from ..virtual.envelope import dumps as dumps_envelope
from ..virtual.errors import UndeliverableWarning
from .control import FRESH_NS, ControlFolder
from .layout import (
    CORRUPT,
    MSG_SUFFIX,
    TMP_PREFIX,
    UNACKED,
    atomic_write,
    is_redelivered,
    level_of,
    message_name,
    read_json,
    redelivered_name,
    safe_name,
)

__all__ = ("FilesystemStorage",)


class FilesystemStorage:
    """The :class:`~kombu.transport.virtual.Storage` of the filesystem transport."""

    blocking_fetch = False
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        self.folder_in: str = transport.data_folder_in
        self.folder_out: str = transport.data_folder_out
        self.control: ControlFolder = transport.control
        self.fsync: bool = transport.fsync
        self.folder_mode: int = transport.folder_mode
        self.file_mode: int = transport.file_mode
        self.lease_seconds: float | None = transport.visibility_timeout
        self.store_processed: bool = transport.store_processed
        self.processed_folder: str = transport.processed_folder
        self._writer = uuid.uuid4().hex[:10]
        self._owner = "~" + uuid.uuid4().hex[:16]
        self._known_dirs: set[str] = set()
        self._candidates: dict[str, tuple[int, deque[str]]] = {}

    # -- paths ----------------------------------------------------------------

    def _dir_in(self, queue: str) -> str:
        return os.path.join(self.folder_in, safe_name(queue))

    def _dir_out(self, queue: str) -> str:
        return os.path.join(self.folder_out, safe_name(queue))

    def _ensure_dir(self, path: str) -> str:
        if path not in self._known_dirs:
            os.makedirs(path, mode=self.folder_mode, exist_ok=True)
            self._known_dirs.add(path)
        return path

    # -- queues ---------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        folder = self._ensure_dir(self._dir_in(queue))
        self._ensure_dir(os.path.join(folder, UNACKED))
        self._ensure_dir(self._dir_out(queue))
        if arguments and self.control.queue_arguments(queue) != dict(arguments):
            self.control.set_queue_arguments(queue, arguments)

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        args = self.control.queue_arguments(queue)
        if args is None and self.queue_exists(queue):
            return {}
        return args

    def queue_exists(self, queue: str) -> bool:
        return os.path.isdir(self._dir_in(queue)) or os.path.isdir(self._dir_out(queue))

    def _ready_names(self, folder: str) -> list[str]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        names = [n for n in names if n.endswith(MSG_SUFFIX) and not n.startswith(".")]
        names.sort()
        return names

    def queue_size(self, queue: str) -> int:
        return len(self._ready_names(self._dir_in(queue)))

    def purge_queue(self, queue: str) -> int:
        folder = self._dir_in(queue)
        count = 0
        for name in self._ready_names(folder):
            try:
                os.unlink(os.path.join(folder, name))
            except FileNotFoundError:
                continue
            count += 1
        self._candidates.pop(queue, None)
        return count

    def delete_queue(self, queue: str) -> int:
        import shutil

        size = self.queue_size(queue)
        for folder in {self._dir_in(queue), self._dir_out(queue)}:
            shutil.rmtree(folder, ignore_errors=True)
            self._known_dirs.discard(folder)
            self._known_dirs.discard(os.path.join(folder, UNACKED))
        self._candidates.pop(queue, None)
        self.control.forget_queue(queue)
        return size

    # -- exchanges and bindings -------------------------------------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.control.declare_exchange(exchange, meta)

    def delete_exchange(self, exchange: str) -> None:
        self.control.delete_exchange(exchange)

    def bind(self, binding: Binding) -> None:
        self.control.bind(binding)

    def unbind(self, binding: Binding) -> None:
        self.control.unbind(binding)

    def route_table(self, exchange: str) -> RouteTable:
        return self.control.route_table(exchange)

    def route_version(self, exchange: str) -> Hashable | None:
        return self.control.route_version(exchange)

    def exchanges(self) -> list[str]:
        return self.control.exchanges()

    # -- publishing -----------------------------------------------------------

    def _write(self, queue: str, level: int, data: bytes, redelivered: bool = False) -> None:
        folder = self._ensure_dir(self._dir_out(queue))
        name = message_name(level, self._writer)
        if redelivered:
            name = redelivered_name(name)
        try:
            atomic_write(os.path.join(folder, name), data, self.fsync, self.file_mode)
        except FileNotFoundError:  # queue folder deleted meanwhile: recreate it
            self._known_dirs.discard(folder)
            atomic_write(os.path.join(self._ensure_dir(folder), name), data, self.fsync,
                         self.file_mode)

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        data = dumps_envelope(envelope).encode("utf-8")
        for queue, level in targets:
            self._write(queue, level, data)
        return True

    # -- consuming ------------------------------------------------------------

    def _next_candidates(self, queue: str, folder: str) -> deque[str]:
        """Message names to try, from the last listing unless the folder changed."""
        try:
            mtime = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            self._candidates.pop(queue, None)
            return deque()
        cached = self._candidates.get(queue)
        if cached is not None and cached[1] and cached[0] == mtime:
            return cached[1]
        names = deque(self._ready_names(folder))
        # A folder that just changed may change again without a new mtime.
        self._candidates[queue] = (mtime if time.time_ns() - mtime > FRESH_NS else -1, names)
        return names

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        out: list[Delivery] = []
        for queue in queues:
            if len(out) >= n:
                break
            self.transport.watched.add(queue)
            self._fetch_queue(queue, n - len(out), queue in noack, out)
        return out

    def _fetch_queue(self, queue: str, n: int, noack: bool, out: list[Delivery]) -> None:
        folder = self._dir_in(queue)
        unacked = os.path.join(folder, UNACKED)
        candidates = self._next_candidates(queue, folder)
        taken = 0
        while candidates and taken < n:
            name = candidates.popleft()
            claim = os.path.join(unacked, name + self._owner)
            try:
                os.rename(os.path.join(folder, name), claim)
            except FileNotFoundError:
                if not os.path.isdir(unacked) and os.path.isdir(folder):
                    os.makedirs(unacked, mode=self.folder_mode, exist_ok=True)
                    candidates.appendleft(name)
                continue  # someone else claimed it
            try:
                os.utime(claim)  # the lease starts now
                payload = read_json(claim)
                if not isinstance(payload, dict):
                    raise ValueError("the message file does not hold an envelope")
            except (OSError, ValueError) as exc:
                self._set_aside(queue, folder, claim, name, exc)
                continue
            if is_redelivered(name):
                props = payload.get("properties")
                info = props.get("delivery_info") if isinstance(props, dict) else None
                if isinstance(info, dict):
                    info["redelivered"] = True
            taken += 1
            if noack:
                self._finish(queue, claim)
                out.append(Delivery(queue, claim, payload, False, level_of(name)))
            else:
                out.append(Delivery(queue, claim, payload, True, level_of(name)))

    def _set_aside(self, queue: str, folder: str, claim: str, name: str,
                   exc: Exception) -> None:
        corrupt = os.path.join(folder, CORRUPT)
        os.makedirs(corrupt, mode=self.folder_mode, exist_ok=True)
        try:
            os.replace(claim, os.path.join(corrupt, name))
        except OSError:
            pass
        warnings.warn(f"Unreadable message {name!r} in queue {queue!r} moved to "
                      f"{corrupt!r}: {exc}", UndeliverableWarning, stacklevel=4)

    def _finish(self, queue: str, claim: str) -> None:
        """The claim is done with: delete it (or keep it in the processed folder)."""
        if self.store_processed:
            folder = self._ensure_dir(self.processed_folder)
            name = os.path.basename(claim).partition("~")[0]
            try:
                os.replace(claim, os.path.join(folder, f"{safe_name(queue)}~{name}"))
            except FileNotFoundError:
                pass
            return
        try:
            os.unlink(claim)
        except FileNotFoundError:
            pass

    def ack(self, tags: Sequence[Any]) -> None:
        for claim in tags:
            queue = _queue_of(claim)
            self._finish(queue, claim)

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            claim = delivery.tag
            if delivery.leased and isinstance(claim, str) and os.sep in claim:
                name = os.path.basename(claim).partition("~")[0]
                folder = self._dir_in(delivery.queue)
                try:
                    os.rename(claim, os.path.join(folder, redelivered_name(name)))
                except FileNotFoundError:
                    if os.path.exists(claim):  # the queue folder was deleted: recreate it
                        os.makedirs(folder, mode=self.folder_mode, exist_ok=True)
                        os.rename(claim, os.path.join(folder, redelivered_name(name)))
                    # else its lease lapsed and someone gave it back already
                self._candidates.pop(delivery.queue, None)
                continue
            payload = delivery.payload
            data = dumps_envelope(payload).encode("utf-8") if isinstance(payload, dict) \
                else (payload if isinstance(payload, bytes) else str(payload).encode("utf-8"))
            self._write(delivery.queue, delivery.level, data, redelivered=True)

    def renew(self, tags: Sequence[Any]) -> None:
        for claim in tags:
            try:
                os.utime(claim)
            except FileNotFoundError:
                pass  # acked meanwhile, or the lease lapsed and it went back

    def restore_lapsed(self) -> int:
        """Rename back every claim not touched for ``visibility_timeout``, whoever holds it.

        Also removes temporary files that killed writers left behind.
        """
        lease = self.lease_seconds
        if lease is None:
            return 0
        now = time.time()
        cutoff = now - lease
        restored = 0
        for queue in list(self.transport.watched):
            folder = self._dir_in(queue)
            unacked = os.path.join(folder, UNACKED)
            try:
                claims = os.listdir(unacked)
            except FileNotFoundError:
                claims = []
            for claim in claims:
                path = os.path.join(unacked, claim)
                try:
                    if os.stat(path).st_mtime > cutoff:
                        continue
                    name = claim.partition("~")[0]
                    os.rename(path, os.path.join(folder, redelivered_name(name)))
                except OSError:
                    continue
                restored += 1
            self._remove_stale_temps(folder, now - self.transport.temp_file_timeout)
        if restored:
            self._candidates.clear()
        return restored

    def _remove_stale_temps(self, folder: str, cutoff: float) -> None:
        try:
            names = [n for n in os.listdir(folder) if n.startswith(TMP_PREFIX)]
        except FileNotFoundError:
            return
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.stat(path).st_mtime < cutoff:
                    os.unlink(path)
            except OSError:
                continue

    def recover_orphans(self, queue: str) -> int:
        """Give back the lapsed claims of ``queue`` now; return how many."""
        self.transport.watched.add(queue)
        return self.restore_lapsed()

    def close(self) -> None:
        self._candidates.clear()


def _queue_of(claim: str) -> str:
    """The queue folder's entity name a claim path belongs to (for the processed folder)."""
    from urllib.parse import unquote

    folder = os.path.dirname(os.path.dirname(claim))
    return unquote(os.path.basename(folder))


def read_envelope(path: str) -> Any:
    """The envelope stored in a message file (for tools and tests)."""
    return read_json(path)
