"""Run a coroutine the way the kit's async checks do: asyncio debug mode, leaks fail.

:func:`run` fails (:exc:`LeakError`) when the coroutine left a task pending,
when a task was destroyed while pending, when a transport or socket was left
unclosed (``ResourceWarning``), or when the loop's exception handler was
called (an exception nobody retrieved, a callback that raised).  No pytest here.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ("LeakError", "run")

T = TypeVar("T")


class LeakError(AssertionError):
    """An async check left something behind: a task, a socket, an unretrieved error."""


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def run(main: Callable[[], Coroutine[Any, Any, T]], timeout: float = 120.0) -> T:
    """``await main()`` on a fresh event loop in debug mode; raise :exc:`LeakError` on leaks."""
    problems: list[str] = []
    records = _Records()
    log = logging.getLogger("asyncio")
    log.addHandler(records)
    loop = asyncio.new_event_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = 1.0  # a shared CI machine: only real stalls are news

    def on_error(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        problems.append(str(context.get("message")) + (
            f": {context['exception']!r}" if context.get("exception") else ""))

    loop.set_exception_handler(on_error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        try:
            asyncio.set_event_loop(loop)
            result = loop.run_until_complete(asyncio.wait_for(main(), timeout))
            left = [t for t in asyncio.all_tasks(loop) if not t.done()]
            if left:
                problems.append(f"{len(left)} task(s) still pending after the check: "
                                + ", ".join(repr(t.get_coro()) for t in left[:5]))
                for task in left:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
            gc.collect()
            log.removeHandler(records)
    for warning in caught:
        if issubclass(warning.category, ResourceWarning):
            problems.append(f"unclosed resource: {warning.message}")
    problems += records.lines
    if problems:
        raise LeakError("the async check left something behind:\n- " + "\n- ".join(problems))
    return result
