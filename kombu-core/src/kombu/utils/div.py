"""Last-resort persistence of state when a process is going down."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from pprint import pformat
from typing import IO, Any

__all__ = ("emergency_dump_state",)

logger = logging.getLogger(__name__)


def emergency_dump_state(
    state: Any,
    open_file: Callable[..., IO[Any]] = open,
    dump: Callable[..., Any] | None = None,
    stderr: IO[str] | None = None,
) -> str:
    """Save ``state`` to a new temporary file and return its path.

    By default the state is pickled into a binary file; a ``dump(state,
    file)`` of your own writes to a text file (pass an ``open_file`` that
    opens in binary mode if your ``dump`` writes bytes).  If dumping fails
    the ``pprint`` text of ``state`` is written instead.  The path (and any
    failure) is printed on ``stderr`` when given, else logged as an error on
    :data:`logger` (the path also in the record's ``emergency_state_file``).
    """
    binary = dump is None
    if dump is None:
        import pickle

        dump = pickle.dump
    fd, path = tempfile.mkstemp(prefix="kombu-state-", suffix=".dump")
    os.close(fd)
    if stderr is not None:
        print(f"EMERGENCY DUMP STATE TO FILE -> {path} <-", file=stderr)
    else:
        logger.error("EMERGENCY DUMP STATE TO FILE -> %s <-", path,
                     extra={"emergency_state_file": path})
    with open_file(path, "wb" if binary else "w") as fh:
        try:
            dump(state, fh)
        except Exception as exc:
            if stderr is not None:
                print(f"Cannot pickle state: {exc!r}. Falling back to pformat.", file=stderr)
            else:
                logger.exception("Cannot dump state: falling back to pformat.")
            fh.seek(0)
            fh.truncate()
            text = pformat(state)
            fh.write(text.encode("utf-8", errors="replace") if binary else text)
    return path
