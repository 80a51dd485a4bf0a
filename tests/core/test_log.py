"""kombu.log: loggers, levels and LogMixin."""

from __future__ import annotations

import io
import logging

import pytest

from kombu import log
from kombu.log import LOG_LEVELS, Log, LogMixin, get_logger, get_loglevel, safeify_format


def test_log_levels_both_ways():
    assert LOG_LEVELS["DEBUG"] == logging.DEBUG
    assert LOG_LEVELS[logging.ERROR] == "ERROR"
    assert LOG_LEVELS["WARN"] == LOG_LEVELS["WARNING"] == logging.WARNING
    assert LOG_LEVELS["FATAL"] == logging.CRITICAL


def test_get_loglevel():
    assert get_loglevel("INFO") == logging.INFO
    assert get_loglevel("info") == logging.INFO
    assert get_loglevel(logging.WARNING) == logging.WARNING
    with pytest.raises(KeyError):
        get_loglevel("LOUD")


def test_get_logger():
    lg = get_logger("kombu.tests.fresh-logger")
    assert isinstance(lg, logging.Logger)
    assert any(isinstance(h, logging.NullHandler) for h in lg.handlers)
    assert get_logger(lg) is lg
    assert len(get_logger("kombu.tests.fresh-logger").handlers) == 1


def test_safeify_format():
    class Bad:
        def __str__(self):
            raise RuntimeError("no str")

        def __repr__(self):
            return "<Bad>"

    fmt = "%s and %r and %d %%s"
    out = list(safeify_format(fmt, [Bad(), "x", 3]))
    assert [str(out[0]), str(out[1]), out[2]] == ["<Bad>", "'x'", 3]
    assert fmt % tuple(out) == "<Bad> and 'x' and 3 %s"
    assert list(safeify_format("%s", [1], {"s": lambda v: v + 1})) == [2]


class Thing(LogMixin):
    pass


@pytest.fixture
def captured():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    lg = logging.getLogger("Thing")
    lg.addHandler(handler)
    lg.setLevel(logging.DEBUG)
    yield stream
    lg.removeHandler(handler)
    lg.setLevel(logging.NOTSET)


def test_log_mixin(captured):
    t = Thing()
    assert t.logger_name == "Thing"
    assert t.logger is logging.getLogger("Thing")
    assert t.annotate("hi") == "Thing - hi"
    t.debug("hello %s, %r", "world", "you")
    t.info("plain", 42)
    t.warn("100%")
    try:
        raise ValueError("boom")
    except ValueError:
        t.error("failed %s", "job")
    lines = captured.getvalue()
    assert "DEBUG Thing - hello world, 'you'" in lines
    assert "INFO Thing - plain 42" in lines
    assert "WARNING Thing - 100%" in lines
    assert "ERROR Thing - failed job" in lines and "ValueError: boom" in lines
    assert t.is_enabled_for("DEBUG")
    assert t.get_loglevel("ERROR") == logging.ERROR


def test_log_class():
    lg = logging.getLogger("kombu.tests.log-class")
    assert Log("named").logger_name == "named"
    assert Log("named").logger is logging.getLogger("named")
    assert Log("other", logger=lg).logger is lg


def test_setup_logging(monkeypatch, tmp_path):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    stream = io.StringIO()
    assert log.setup_logging("INFO", stream) is root
    assert root.level == logging.INFO
    assert root.handlers[0].stream is stream
    # already configured: left alone
    log.setup_logging("DEBUG", tmp_path / "x.log")
    assert root.level == logging.INFO and len(root.handlers) == 1

    monkeypatch.setattr(root, "handlers", [])
    path = tmp_path / "kombu.log"
    log.setup_logging(logfile=str(path))
    assert root.level == logging.ERROR
    root.error("to the file")
    root.handlers[0].close()
    assert "to the file" in path.read_text()
