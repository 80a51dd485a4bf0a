"""Debugging aids: log to stdout, log every method call of an object."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from functools import wraps
from typing import Any

from .functional import reprcall

__all__ = ("Logwrapped", "setup_logging")


def setup_logging(
    loglevel: int | str = logging.DEBUG,
    loggers: Iterable[str] = ("kombu.connection", "kombu.channel"),
) -> None:
    """Send the named loggers' records at ``loglevel`` and above to stdout."""
    for name in loggers:
        logger = logging.getLogger(name)
        logger.setLevel(loglevel)
        if not logger.handlers:
            logger.addHandler(logging.StreamHandler(sys.stdout))


class Logwrapped:
    """Proxy to ``instance`` that logs each method call (and its result) at DEBUG."""

    __ignore = ("__enter__", "__exit__")

    def __init__(
        self, instance: Any, logger: logging.Logger | str | None = None, ident: str | None = None
    ) -> None:
        self.instance = instance
        if logger is None or isinstance(logger, str):
            logger = logging.getLogger(logger or "kombu.debug")
        self.logger = logger
        self.ident = ident

    def __getattr__(self, key: str) -> Any:
        attr = getattr(self.instance, key)
        if not callable(attr) or key in self.__ignore:
            return attr

        @wraps(attr)
        def logged(*args: Any, **kwargs: Any) -> Any:
            call = reprcall(key, args, kwargs)
            prefix = f"{self.ident} " if self.ident else ""
            self.logger.debug("%s%s", prefix, call)
            result = attr(*args, **kwargs)
            self.logger.debug("%s%s -> %r", prefix, call, result)
            return result

        return logged

    def __repr__(self) -> str:
        return repr(self.instance)

    def __dir__(self) -> list[str]:
        return dir(self.instance)
