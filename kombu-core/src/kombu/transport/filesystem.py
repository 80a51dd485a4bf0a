"""File-system transport: a broker made of directories, shared by processes.

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
``polling_interval``
    Seconds between polls of empty queues (default 1.0).

Layout: a queue is a folder (``<data_folder>/<queue>/``) holding one file per
message, named so that sorting gives priority order then FIFO:
``<255-priority>-<time_ns>-<pid>-<counter>-<expires_ms>-<flag>.msg``.  A
message is written to a dot-file and renamed into place, so a crash never
leaves half a message visible.  A consumer claims a message by renaming it
into the queue's ``.unacked`` folder (suffixed ``~<pid>~<channel>``): one
rename wins, so each message goes to exactly one consumer.  Acks delete the
claim; closing a channel renames its claims back.  Claims held by a process
that no longer exists are renamed back by the next consumer that polls.
"""

from __future__ import annotations

import datetime
import decimal
import hashlib
import itertools
import json
import os
import shutil
import threading
import time
import uuid
import warnings
from collections import deque
from typing import Any
from urllib.parse import quote

from .virtual import base as virtual
from .virtual.base import Empty, UndeliverableWarning
from .virtual.exchange import BindingTable
from .virtual.qos import QoS as _QoS
from .virtual.state import BrokerState

__all__ = ("Channel", "QoS", "Transport", "default_data_folder")

MSG_SUFFIX = ".msg"
UNACKED = ".unacked"
CORRUPT = ".corrupt"
TMP_PREFIX = ".tmp-"
#: A folder modified this recently may change again within one mtime tick.
FRESH_NS = 200_000_000


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


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (datetime.datetime, datetime.date, datetime.time)):
        return obj.isoformat()
    if isinstance(obj, (uuid.UUID, decimal.Decimal)):
        return str(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(
        f"Object of type {type(obj).__name__} cannot be stored by the "
        f"filesystem transport (not JSON serializable)"
    )


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    try:  # a killed child not yet reaped is a zombie: it holds nothing
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] != b"Z"
    except (OSError, ValueError):
        return True


def _atomic_write(path: str, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see all of it or nothing."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
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


def _read_json(path: str) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read())


class _Name:
    """Parse and build message file names."""

    _lock = threading.Lock()
    _last_ns = 0
    _counter = itertools.count()

    @classmethod
    def new(cls, priority: int, deadline: float | None) -> str:
        with cls._lock:
            now = time.time_ns()
            if now <= cls._last_ns:
                now = cls._last_ns + 1
            cls._last_ns = now
            n = next(cls._counter) % 1_000_000
        expires = int(deadline * 1000) if deadline is not None else 0
        return (
            f"{255 - priority:03d}-{now:020d}-{os.getpid():07d}-{n:06d}"
            f"-{expires:013d}-n{MSG_SUFFIX}"
        )

    @staticmethod
    def expires_ms(name: str) -> int:
        try:
            return int(name.split("-")[4])
        except (IndexError, ValueError):
            return 0

    @staticmethod
    def redelivered(name: str) -> str:
        """The name of the same message flagged as redelivered."""
        stem = name[: -len(MSG_SUFFIX)] if name.endswith(MSG_SUFFIX) else name
        head, sep, _ = stem.rpartition("-")
        return f"{head}-r{MSG_SUFFIX}" if sep else name

    @staticmethod
    def is_redelivered(name: str) -> bool:
        return name.endswith(f"-r{MSG_SUFFIX}")


_states: dict[str, BrokerState] = {}
_states_lock = threading.Lock()


def _state_for(control_folder: str) -> BrokerState:
    key = os.path.abspath(control_folder)
    with _states_lock:
        state = _states.get(key)
        if state is None:
            state = _states[key] = BrokerState()
            state.fs_tables = {}  # type: ignore[attr-defined]
            state.fs_missing_args = {}  # type: ignore[attr-defined]
        return state


class QoS(_QoS):
    """Acks delete (or archive) the consumer's claim file."""

    def ack(self, delivery_tag: Any) -> None:
        message = self._delivered.pop(delivery_tag, None)
        if message is not None:
            self.channel._ack_claim(message)

    def ack_multiple(self, delivery_tag: Any) -> None:
        delivered = self._delivered
        if delivery_tag not in delivered:
            return
        while delivered:
            tag, message = delivered.popitem(last=False)
            self.channel._ack_claim(message)
            if tag == delivery_tag:
                break


class Channel(virtual.Channel):
    """Filesystem channel."""

    QoS = QoS
    supports_fanout = True
    do_restore = True

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        self.data_folder_in: str = connection.data_folder_in
        self.data_folder_out: str = connection.data_folder_out
        self.control_folder: str = connection.control_folder
        self.processed_folder: str = connection.processed_folder
        self.store_processed: bool = connection.store_processed
        self.fsync: bool = connection.fsync
        self.recover_interval: float = connection.recover_interval
        self._token = uuid.uuid4().hex[:12]
        self._pid = os.getpid()
        self._candidates: dict[str, tuple[int, deque[str]]] = {}
        self._last_recovery: dict[str, float] = {}
        self._known_dirs: set[str] = set()

    @property
    def transport_options(self) -> dict[str, Any]:
        return getattr(self.connection.client, "transport_options", None) or {}

    # -- paths --------------------------------------------------------------

    def _dir_in(self, queue: str) -> str:
        return os.path.join(self.data_folder_in, safe_name(queue))

    def _dir_out(self, queue: str) -> str:
        return os.path.join(self.data_folder_out, safe_name(queue))

    def _ensure_dir(self, path: str) -> str:
        if path not in self._known_dirs:
            os.makedirs(path, exist_ok=True)
            self._known_dirs.add(path)
        return path

    def _control(self, *parts: str) -> str:
        return os.path.join(self.control_folder, *parts)

    # -- exchanges, bindings and queue arguments (shared through files) -----

    def _exchange_meta(self, exchange: str) -> dict[str, Any] | None:
        meta = self.state.exchanges.get(exchange)
        if meta is not None:
            return meta
        try:
            data = _read_json(self._control("exchanges", safe_name(exchange) + ".json"))
        except (OSError, ValueError):
            return None
        return self.state.declare_exchange(
            exchange,
            data.get("type", "direct"),
            bool(data.get("durable")),
            bool(data.get("auto_delete")),
            data.get("arguments") or None,
        )

    def _declare_exchange(
        self,
        exchange: str,
        type: str,
        durable: bool,
        auto_delete: bool,
        arguments: dict[str, Any] | None,
    ) -> None:
        super()._declare_exchange(exchange, type, durable, auto_delete, arguments)
        folder = self._ensure_dir(self._control("exchanges"))
        data = {
            "name": exchange,
            "type": type,
            "durable": durable,
            "auto_delete": auto_delete,
            "arguments": arguments or {},
        }
        _atomic_write(
            os.path.join(folder, safe_name(exchange) + ".json"),
            json.dumps(data, default=_json_default).encode(),
            self.fsync,
        )

    def exchange_delete(self, exchange: str, if_unused: bool = False, nowait: bool = False) -> None:
        super().exchange_delete(exchange, if_unused=if_unused, nowait=nowait)
        try:
            os.unlink(self._control("exchanges", safe_name(exchange) + ".json"))
        except OSError:
            pass
        shutil.rmtree(self._control("bindings", safe_name(exchange)), ignore_errors=True)
        self.state.fs_tables.pop(exchange, None)  # type: ignore[attr-defined]

    def _binding_file(self, exchange: str, routing_key: str, queue: str) -> str:
        digest = hashlib.sha1(routing_key.encode("utf-8")).hexdigest()[:16]
        return self._control("bindings", safe_name(exchange), f"{safe_name(queue)}~{digest}.json")

    def get_table(self, exchange: str) -> Any:
        """The bindings of ``exchange`` as stored in the control folder (cached)."""
        if self._exchange_meta(exchange) is None:
            raise KeyError(exchange)
        folder = self._control("bindings", safe_name(exchange))
        try:
            mtime: int | None = os.stat(folder).st_mtime_ns
        except FileNotFoundError:
            mtime = None
        tables = self.state.fs_tables  # type: ignore[attr-defined]
        cached = tables.get(exchange)
        if (
            cached is not None
            and cached[0] == mtime
            and (mtime is None or time.time_ns() - mtime > FRESH_NS)
        ):
            return cached[1]
        etype = self.typeof(exchange)
        table = BindingTable()
        entries = []
        if mtime is not None:
            for name in sorted(os.listdir(folder)):
                if name.startswith("."):
                    continue
                try:
                    data = _read_json(os.path.join(folder, name))
                except (OSError, ValueError):
                    continue
                meta = etype.prepare_bind(
                    data["queue"], exchange, data.get("routing_key", ""), data.get("arguments")
                )
                if meta not in entries:
                    entries.append(meta)
        list.extend(table, entries)
        tables[exchange] = (mtime, table)
        return table

    def _queue_bind(self, exchange: str, routing_key: str, pattern: Any, queue: str) -> None:
        path = self._binding_file(exchange, routing_key, queue)
        self._ensure_dir(os.path.dirname(path))
        data = {
            "queue": queue,
            "routing_key": routing_key,
            "arguments": pattern if isinstance(pattern, dict) else None,
        }
        _atomic_write(path, json.dumps(data, default=_json_default).encode(), self.fsync)

    def _queue_unbind(self, exchange: str, routing_key: str, queue: str) -> None:
        super()._queue_unbind(exchange, routing_key, queue)
        try:
            os.unlink(self._binding_file(exchange, routing_key, queue))
        except OSError:
            pass

    def _queue_arguments(self, queue: str | None) -> dict[str, Any] | None:
        if queue is None:
            return None
        state = self.state
        args = state.queue_arguments.get(queue)
        if args is not None:
            return args
        missing = state.fs_missing_args  # type: ignore[attr-defined]
        now = time.monotonic()
        if missing.get(queue, 0) > now:
            return None
        try:
            args = _read_json(self._control("queues", safe_name(queue) + ".json"))
        except (OSError, ValueError):
            missing[queue] = now + 1.0
            return None
        state.queue_arguments[queue] = args
        return args

    def _set_queue_arguments(self, queue: str, arguments: dict[str, Any] | None) -> None:
        super()._set_queue_arguments(queue, arguments)
        if arguments:
            folder = self._ensure_dir(self._control("queues"))
            _atomic_write(
                os.path.join(folder, safe_name(queue) + ".json"),
                json.dumps(arguments, default=_json_default).encode(),
                self.fsync,
            )

    # -- queues -------------------------------------------------------------

    def _new_queue(self, queue: str, **kwargs: Any) -> None:
        folder = self._ensure_dir(self._dir_in(queue))
        self._ensure_dir(os.path.join(folder, UNACKED))
        self._ensure_dir(self._dir_out(queue))

    def _has_queue(self, queue: str, **kwargs: Any) -> bool:
        return os.path.isdir(self._dir_in(queue)) or os.path.isdir(self._dir_out(queue))

    def _ready_names(self, folder: str) -> list[str]:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return []
        names = [n for n in names if n.endswith(MSG_SUFFIX) and not n.startswith(".")]
        names.sort()
        return names

    def _size(self, queue: str) -> int:
        return len(self._ready_names(self._dir_in(queue)))

    def _purge(self, queue: str) -> int:
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

    def _delete(self, queue: str, *args: Any, **kwargs: Any) -> None:
        self._purge(queue)
        for folder in {self._dir_in(queue), self._dir_out(queue)}:
            shutil.rmtree(folder, ignore_errors=True)
            self._known_dirs.discard(folder)
            self._known_dirs.discard(os.path.join(folder, UNACKED))
        try:
            os.unlink(self._control("queues", safe_name(queue) + ".json"))
        except OSError:
            pass

    def _priority(self, queue: str, message: Any) -> int:
        args = self._queue_arguments(queue)
        if not args or not args.get("x-max-priority"):
            return 0
        try:
            top = max(0, min(int(args["x-max-priority"]), 255))
            priority = int(message["properties"].get("priority") or 0)
        except (TypeError, ValueError, KeyError, AttributeError):
            return 0
        return max(0, min(priority, top))

    def _put(self, queue: str, message: Any, **kwargs: Any) -> None:
        folder = self._ensure_dir(self._dir_out(queue))
        if "_claim" in message:
            message = {k: v for k, v in message.items() if k != "_claim"}
        name = _Name.new(self._priority(queue, message), self._message_deadline(queue, message))
        data = json.dumps(message, default=_json_default).encode("utf-8")
        try:
            _atomic_write(os.path.join(folder, name), data, self.fsync)
        except FileNotFoundError:  # queue folder deleted meanwhile: recreate it
            self._known_dirs.discard(folder)
            _atomic_write(os.path.join(self._ensure_dir(folder), name), data, self.fsync)

    # -- consuming ----------------------------------------------------------

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

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        folder = self._dir_in(queue)
        self._maybe_recover(queue, folder)
        unacked = os.path.join(folder, UNACKED)
        candidates = self._next_candidates(queue, folder)
        suffix = f"~{self._pid}~{self._token}"
        while candidates:
            name = candidates.popleft()
            claim = os.path.join(unacked, name + suffix)
            try:
                os.rename(os.path.join(folder, name), claim)
            except FileNotFoundError:
                if not os.path.isdir(unacked) and os.path.isdir(folder):
                    os.makedirs(unacked, exist_ok=True)
                    candidates.appendleft(name)
                continue  # someone else claimed it
            expires = _Name.expires_ms(name)
            try:
                message = _read_json(claim)
                if not isinstance(message, dict):
                    raise ValueError("message file does not hold an object")
            except (OSError, ValueError) as exc:
                self._set_aside(queue, folder, claim, name, exc)
                continue
            if expires and expires <= time.time() * 1000:
                self._expired(queue, message)
                self._remove(claim)
                continue
            if _Name.is_redelivered(name):
                props = message.get("properties")
                if isinstance(props, dict):
                    info = props.get("delivery_info")
                    if isinstance(info, dict):
                        info["redelivered"] = True
            message["_claim"] = claim
            return message
        raise Empty()

    def _set_aside(self, queue: str, folder: str, claim: str, name: str, exc: Exception) -> None:
        corrupt = os.path.join(folder, CORRUPT)
        os.makedirs(corrupt, exist_ok=True)
        try:
            os.replace(claim, os.path.join(corrupt, name))
        except OSError:
            pass
        warnings.warn(
            f"Unreadable message {name!r} in queue {queue!r} moved to {corrupt!r}: {exc}",
            UndeliverableWarning,
            stacklevel=3,
        )

    @staticmethod
    def _remove(path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _maybe_recover(self, queue: str, folder: str) -> None:
        """Give back claims whose owner process is gone (at most every few seconds)."""
        now = time.monotonic()
        if self._last_recovery.get(queue, 0) > now:
            return
        self._last_recovery[queue] = now + self.recover_interval
        self.recover_orphans(queue)

    def recover_orphans(self, queue: str) -> int:
        """Rename back every claim in ``queue`` held by a dead process; return how many."""
        folder = self._dir_in(queue)
        unacked = os.path.join(folder, UNACKED)
        try:
            claims = os.listdir(unacked)
        except FileNotFoundError:
            return 0
        alive: dict[int, bool] = {}
        restored = 0
        for claim in claims:
            name, _, rest = claim.partition("~")
            try:
                pid = int(rest.partition("~")[0])
            except ValueError:
                continue
            if pid == self._pid:
                continue
            if pid not in alive:
                alive[pid] = _pid_alive(pid)
            if alive[pid]:
                continue
            try:
                os.rename(
                    os.path.join(unacked, claim), os.path.join(folder, _Name.redelivered(name))
                )
            except OSError:
                continue
            restored += 1
        return restored

    def _ack_claim(self, message: Any) -> None:
        raw = getattr(message, "_raw", None)
        claim = raw.pop("_claim", None) if isinstance(raw, dict) else None
        if claim is None:
            return
        if self.store_processed:
            folder = self._ensure_dir(self.processed_folder)
            queue = getattr(message, "_queue", None) or ""
            name = os.path.basename(claim).partition("~")[0]
            try:
                os.replace(claim, os.path.join(folder, f"{safe_name(queue)}~{name}"))
                return
            except FileNotFoundError:
                return
        self._remove(claim)

    def _auto_ack(self, message: Any) -> None:
        self._ack_claim(message)

    def _restore(self, message: Any) -> None:
        raw = message._raw
        claim = raw.pop("_claim", None) if isinstance(raw, dict) else None
        queue = message._queue
        if claim is None or queue is None:
            return super()._restore(message)
        message.delivery_info["redelivered"] = True
        name = os.path.basename(claim).partition("~")[0]
        folder = self._dir_in(queue)
        try:
            os.rename(claim, os.path.join(folder, _Name.redelivered(name)))
        except FileNotFoundError:
            if os.path.exists(claim):  # the queue folder was deleted: recreate it
                os.makedirs(folder, exist_ok=True)
                os.rename(claim, os.path.join(folder, _Name.redelivered(name)))
        self._candidates.pop(queue, None)
        return None

    def _restore_at_beginning(self, message: Any) -> None:
        # The original name sorts before newer messages: renaming the claim
        # back puts the message at the head of its priority.
        self._restore(message)

    def _dead_letter(self, message: Any, reason: str = "rejected") -> None:
        super()._dead_letter(message, reason)
        self._ack_claim(message)

    def _restore_raw(self, queue: str, raw: Any) -> None:
        self._restore(self.Message(raw, channel=self, queue=queue))


class Transport(virtual.Transport):
    """Filesystem transport: queues are folders, messages are files."""

    Channel = Channel
    default_port = 0
    polling_interval = 1.0
    driver_type = "filesystem"
    driver_name = "filesystem"
    #: Seconds between scans for claims of dead consumers (per queue).
    recover_interval = 1.0
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
            options.get("control_folder") or os.path.join(self.data_folder_out, ".control")
        )
        self.processed_folder = os.fspath(
            options.get("processed_folder") or os.path.join(self.data_folder_in, ".processed")
        )
        self.store_processed = bool(options.get("store_processed", False))
        self.fsync = bool(options.get("fsync", True))
        if options.get("recover_interval") is not None:
            self.recover_interval = float(options["recover_interval"])
        self.state = _state_for(self.control_folder)

    def establish_connection(self) -> Transport:
        for folder in (self.data_folder_in, self.data_folder_out, self.control_folder):
            os.makedirs(folder, exist_ok=True)
        super().establish_connection()
        return self

    def driver_version(self) -> str:
        return "N/A"
