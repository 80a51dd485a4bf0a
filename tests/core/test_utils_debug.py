"""kombu.utils.debug."""

from __future__ import annotations

import logging

from kombu.utils.debug import Logwrapped, setup_logging


def test_setup_logging():
    name = "kombu.test.debug"
    logger = logging.getLogger(name)
    try:
        setup_logging(logging.INFO, loggers=[name])
        assert logger.level == logging.INFO
        assert len(logger.handlers) == 1
        setup_logging(logging.DEBUG, loggers=[name])
        assert len(logger.handlers) == 1  # not added twice
    finally:
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)


def test_logwrapped_logs_calls(caplog):
    class Thing:
        value = 3

        def add(self, a, b=0):
            return a + b

    wrapped = Logwrapped(Thing(), logger="kombu.test.wrapped", ident="T1")
    with caplog.at_level(logging.DEBUG, logger="kombu.test.wrapped"):
        assert wrapped.add(1, b=2) == 3
    assert wrapped.value == 3
    messages = [r.getMessage() for r in caplog.records]
    assert "T1 add(1, b=2)" in messages
    assert "T1 add(1, b=2) -> 3" in messages
    assert "add" in dir(wrapped)
    assert "Thing" in repr(wrapped)
