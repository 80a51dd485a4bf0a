"""Logging utilities."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from logging.handlers import WatchedFileHandler
from typing import Any

__all__ = (
    "LOG_LEVELS",
    "Log",
    "LogMixin",
    "get_logger",
    "get_loglevel",
    "safeify_format",
    "setup_logging",
)

#: Level names to numbers and numbers to names (both directions).
LOG_LEVELS: dict[Any, Any] = {}
for _name in ("NOTSET", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    LOG_LEVELS[_name] = getattr(logging, _name)
    LOG_LEVELS[getattr(logging, _name)] = _name
LOG_LEVELS["WARN"] = logging.WARNING
LOG_LEVELS["FATAL"] = logging.FATAL
del _name

#: Set to drop tracebacks from :class:`LogMixin` log records.
DISABLE_TRACEBACKS = os.environ.get("DISABLE_TRACEBACKS")


def get_logger(logger: str | logging.Logger) -> logging.Logger:
    """Get a logger by name (or pass one through).

    A logger without handlers gets a :class:`logging.NullHandler`, so a
    library logging before the application configured logging stays quiet.
    """
    if isinstance(logger, str):
        logger = logging.getLogger(logger)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger


def get_loglevel(level: str | int) -> int:
    """Get a log level number by name (numbers pass through)."""
    if isinstance(level, str):
        try:
            return LOG_LEVELS[level]
        except KeyError:
            return LOG_LEVELS[level.upper()]
    return level


def _safe_str(obj: Any) -> str:
    try:
        return obj if isinstance(obj, str) else str(obj)
    except Exception as exc:
        return _safe_repr(obj, exc)


def _safe_repr(obj: Any, exc: BaseException | None = None) -> str:
    try:
        return repr(obj)
    except Exception as error:
        return f"<Unrepresentable {type(obj).__name__!r}: {exc or error!r}>"


class _Rendered:
    """Text already rendered for ``%s``/``%r``: both show it unchanged."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _safe_str_arg(obj: Any) -> Any:
    return _Rendered(_safe_str(obj))


def _safe_repr_arg(obj: Any) -> Any:
    return _Rendered(_safe_repr(obj))


def _format_conversions(fmt: str) -> Iterator[str]:
    """Yield the conversion character of each ``%`` spec in ``fmt`` that takes an arg."""
    i, end = 0, len(fmt)
    while True:
        i = fmt.find("%", i)
        if i < 0 or i + 1 >= end:
            return
        j = i + 1
        if fmt[j] == "%":
            i = j + 1
            continue
        # skip flags, width, precision and length modifiers
        while j < end and fmt[j] in "#0- +*.0123456789hlL":
            if fmt[j] == "*":
                yield "*"
            j += 1
        if j < end:
            yield fmt[j]
        i = j + 1


def safeify_format(
    fmt: str,
    args: Sequence[Any],
    filters: Mapping[str, Callable[[Any], Any]] | None = None,
) -> Iterator[Any]:
    """Yield ``args`` made safe for ``fmt``: ``%s`` and ``%r`` args are pre-rendered.

    An arg whose ``str()`` or ``repr()`` raises shows as a placeholder
    instead of breaking the log call.
    """
    filters = filters or {"s": _safe_str_arg, "r": _safe_repr_arg}
    conversions = list(_format_conversions(fmt))
    for index, arg in enumerate(args):
        conv = conversions[index] if index < len(conversions) else None
        filt = filters.get(conv) if conv else None
        yield filt(arg) if filt else arg


class LogMixin:
    """Mixin that adds severity methods (debug, info, ...) to any class.

    Messages are prefixed with :attr:`logger_name` by :meth:`annotate`.
    """

    def debug(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.DEBUG, *args, **kwargs)

    def info(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.INFO, *args, **kwargs)

    def warn(self, *args: Any, **kwargs: Any) -> None:
        return self.log(logging.WARNING, *args, **kwargs)

    warning = warn

    def error(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        return self.log(logging.ERROR, *args, **kwargs)

    def critical(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        return self.log(logging.CRITICAL, *args, **kwargs)

    def annotate(self, text: str) -> str:
        return f"{self.logger_name} - {text}"

    def log(self, severity: int, *args: Any, **kwargs: Any) -> None:
        if DISABLE_TRACEBACKS:
            kwargs.pop("exc_info", None)
        if not self.logger.isEnabledFor(severity):
            return None
        if len(args) > 1 and isinstance(args[0], str) and "%" in args[0]:
            fmt = args[0]
            safe = list(safeify_format(fmt, args[1:]))
            return self.logger.log(severity, self.annotate(fmt), *safe, **kwargs)
        text = " ".join(_safe_str(arg) for arg in args)
        # no args left: logging does not %-format the text
        return self.logger.log(severity, self.annotate(text), **kwargs)

    def get_logger(self) -> logging.Logger:
        return get_logger(self.logger_name)

    def is_enabled_for(self, level: str | int) -> bool:
        return self.logger.isEnabledFor(self.get_loglevel(level))

    def get_loglevel(self, level: str | int) -> int:
        return get_loglevel(level)

    @cached_property
    def logger(self) -> logging.Logger:
        return self.get_logger()

    @property
    def logger_name(self) -> str:
        return type(self).__name__


class Log(LogMixin):
    """A named :class:`LogMixin`, optionally bound to a given logger."""

    def __init__(self, name: str, logger: logging.Logger | None = None) -> None:
        self._logger_name = name
        self._logger = logger

    def get_logger(self) -> logging.Logger:
        if self._logger is not None:
            return self._logger
        return super().get_logger()

    @property
    def logger_name(self) -> str:
        return self._logger_name


def setup_logging(loglevel: str | int | None = None, logfile: Any = None) -> logging.Logger:
    """Set up the root logger, unless it already has handlers.

    ``loglevel`` defaults to ERROR; ``logfile`` is a path or a stream
    (default: standard error).
    """
    logger = logging.getLogger()
    level = get_loglevel(loglevel or "ERROR")
    logfile = logfile if logfile else sys.__stderr__
    if not logger.handlers:
        handler: logging.Handler
        if hasattr(logfile, "write"):
            handler = logging.StreamHandler(logfile)
        else:
            handler = WatchedFileHandler(logfile)
        logger.addHandler(handler)
        logger.setLevel(level)
    return logger
