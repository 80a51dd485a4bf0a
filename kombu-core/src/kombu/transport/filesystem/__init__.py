"""File-system transport: a broker made of folders, shared by processes (and hosts).

No server: every process pointing at the same folders shares the queues,
exchanges and bindings.  Transport options (``Connection.transport_options``):

``data_folder``
    Root folder for everything (default: a per-user data directory,
    ``$XDG_DATA_HOME/kombu/filesystem`` or ``~/.local/share/kombu/filesystem``).
``data_folder_in`` / ``data_folder_out``
    Where consumers read and producers write (default: ``data_folder``).
``control_folder``
    Exchange, binding and queue declarations (default: ``<data_folder_out>/.control``).
``store_processed`` / ``processed_folder``
    Keep acknowledged messages in ``processed_folder`` instead of deleting
    them (default folder: ``<data_folder_in>/.processed``).
``fsync``
    fsync each message before it becomes visible (default True).
``visibility_timeout``
    Seconds a consumer's claim lasts without renewal (default 30).  A live
    consumer renews its claims in the background, however long its work
    runs; the claims of one that died or froze go back to their queue after
    this long, recovered by any consumer on any host.
``polling_interval``
    Longest wait (seconds) between two looks at an idle queue (default 1.0);
    a consumer looks far more often while the queue's folder is changing.
``folder_mode`` / ``file_mode``
    Permissions of the folders and files the transport creates (default
    ``0o700`` / ``0o600``: messages are private data).
``temp_file_timeout``
    Seconds after which a temporary file a killed writer left behind is
    removed (default 300).

See :mod:`.layout` for the layout on disk and :mod:`.storage` for claims and leases.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection
from typing import Any

from ..virtual import transport as virtual
from .control import ControlFolder
from .layout import FILE_MODE, FOLDER_MODE, default_data_folder, safe_name
from .storage import FilesystemStorage

__all__ = ("Channel", "FilesystemStorage", "FolderWaiter", "Transport", "default_data_folder",
           "safe_name")

#: Default lease of a claim (seconds).
DEFAULT_VISIBILITY_TIMEOUT = 30.0


class FolderWaiter:
    """Waits for a watched queue's folder to change, polling its mtime with a back-off."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.folders: list[str] = []

    def watch(self, queues: Collection[str]) -> None:
        root = self.transport.data_folder_in
        self.folders = [os.path.join(root, safe_name(q)) for q in sorted(queues)]

    def token(self) -> Any:
        out: list[int | None] = []
        for folder in self.folders:
            try:
                out.append(os.stat(folder).st_mtime_ns)
            except OSError:
                out.append(None)
        return tuple(out)

    def wait(self, token: Any, timeout: float | None) -> None:
        longest = self.transport.polling_interval or 1.0
        if timeout is not None:
            longest = min(longest, timeout)
        deadline = time.monotonic() + longest
        step = 0.005
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(step, remaining))
            if token is not None and self.folders and self.token() != token:
                return
            step = min(step * 2, 0.25)

    def fileno(self) -> int | None:
        return None

    def close(self) -> None:
        pass


class Channel(virtual.Channel):
    """Filesystem channel."""

    storage: FilesystemStorage

    def recover_orphans(self, queue: str) -> int:
        """Give back the lapsed claims of ``queue`` now (any holder, any host); return how many."""
        return self.storage.recover_orphans(queue)


class Transport(virtual.Transport):
    """Filesystem transport: queues are folders, messages are files."""

    Channel = Channel
    Storage = FilesystemStorage
    default_port = 0
    polling_interval = 1.0
    driver_type = "filesystem"
    driver_name = "filesystem"
    implements = virtual.Transport.implements.extend(
        asynchronous=False,
        exchange_type=frozenset({"direct", "topic", "fanout", "headers"}),
        heartbeats=False,
        priority=True,
        message_ttl=True,
        queue_ttl=False,
        dead_letter=True,
        fanout_across_connections=True,
        cross_process=True,
        persistent=True,
        leases=True,
    )

    def __init__(self, client: Any, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
        options = getattr(client, "transport_options", None) or {}
        root = options.get("data_folder")
        folder_in = options.get("data_folder_in")
        folder_out = options.get("data_folder_out")
        if not (root or folder_in or folder_out):
            root = default_data_folder()
        self.data_folder_in: str = os.fspath(folder_in or root or folder_out or "")
        self.data_folder_out: str = os.fspath(folder_out or root or folder_in or "")
        self.control_folder = os.fspath(
            options.get("control_folder") or os.path.join(self.data_folder_out, ".control"))
        self.processed_folder = os.fspath(
            options.get("processed_folder") or os.path.join(self.data_folder_in, ".processed"))
        self.store_processed = bool(options.get("store_processed", False))
        self.fsync = bool(options.get("fsync", True))
        self.folder_mode = int(options.get("folder_mode", FOLDER_MODE))
        self.file_mode = int(options.get("file_mode", FILE_MODE))
        self.visibility_timeout = float(options.get("visibility_timeout",
                                                    DEFAULT_VISIBILITY_TIMEOUT))
        if self.visibility_timeout <= 0:
            raise ValueError(f"filesystem transport: visibility_timeout must be a positive "
                             f"number of seconds, not {options.get('visibility_timeout')!r}")
        self.temp_file_timeout = float(options.get("temp_file_timeout", 300.0))
        self.restore_interval = min(self.restore_interval, self.visibility_timeout / 4)
        self.control = ControlFolder(self.control_folder, self.fsync, self.folder_mode,
                                     self.file_mode)
        #: Queues whose lapsed claims this connection looks after.
        self.watched: set[str] = set()

    def create_waiter(self) -> FolderWaiter:
        return FolderWaiter(self)

    def establish_connection(self) -> Transport:
        for folder in (self.data_folder_in, self.data_folder_out, self.control_folder):
            os.makedirs(folder, mode=self.folder_mode, exist_ok=True)
        super().establish_connection()
        return self

    def driver_version(self) -> str:
        return "N/A"
