"""How the filesystem transport lays messages out on disk: names, atomic writes, modes.

A queue is a folder holding one file per waiting message, named so that a
plain sort gives the serving order (highest priority level first, then
FIFO)::

    <255-level>-<time_ns>-<counter>-<writer>-<flag>.msg

``writer`` is a random token per storage (so two hosts never collide) and
``flag`` is ``n`` (new) or ``r`` (redelivered).  A message is written to a
dot-file and renamed into place, so a crash never leaves half a message
visible; a dot-file older than a few minutes was left by a killed writer and
is removed.  A consumer claims a message by renaming it into the queue's
``.unacked`` folder as ``<name>~<owner>``: one rename wins.  The claim's
modification time is its lease: its holder touches it while it lives.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import threading
import time
import uuid
from typing import Any
from urllib.parse import quote

__all__ = (
    "CORRUPT",
    "MSG_SUFFIX",
    "TMP_PREFIX",
    "UNACKED",
    "atomic_write",
    "default_data_folder",
    "is_redelivered",
    "message_name",
    "read_json",
    "redelivered_name",
    "safe_name",
)

MSG_SUFFIX = ".msg"
UNACKED = ".unacked"
CORRUPT = ".corrupt"
TMP_PREFIX = ".tmp-"
#: Default modes: messages are private data.
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def default_data_folder() -> str:
    """The per-user folder used when no data folder is configured."""
    if os.name == "nt":
        root = os.environ.get("LOCALAPPDATA") or os.path.expanduser(r"~\AppData\Local")
    else:
        root = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(root, "kombu", "filesystem")


def safe_name(name: str) -> str:
    """A file name for an entity name (no separators, never starting with a dot)."""
    encoded = quote(name, safe="-_@+=,").replace(".", "%2E")
    if len(encoded) > 180:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()
        encoded = f"{encoded[:120]}~{digest}"
    return encoded or "%00"


_lock = threading.Lock()
_last_ns = 0
_counter = itertools.count()


def message_name(level: int, writer: str) -> str:
    """A new message file name at priority ``level`` (0..255)."""
    global _last_ns
    with _lock:
        now = time.time_ns()
        if now <= _last_ns:
            now = _last_ns + 1
        _last_ns = now
        n = next(_counter) % 1_000_000
    return f"{255 - level:03d}-{now:020d}-{n:06d}-{writer}-n{MSG_SUFFIX}"


def redelivered_name(name: str) -> str:
    """The name of the same message flagged as redelivered."""
    stem = name[: -len(MSG_SUFFIX)] if name.endswith(MSG_SUFFIX) else name
    head, sep, _ = stem.rpartition("-")
    return f"{head}-r{MSG_SUFFIX}" if sep else name


def is_redelivered(name: str) -> bool:
    return name.endswith(f"-r{MSG_SUFFIX}")


def level_of(name: str) -> int:
    try:
        return 255 - int(name[:3])
    except ValueError:
        return 0


def atomic_write(path: str, data: bytes, fsync: bool = True, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` so that readers see all of it or nothing."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{name}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json(path: str) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read())
