"""kombu.utils.div.emergency_dump_state."""

from __future__ import annotations

import io
import os
import pickle


def test_dump_pickles_state():
    from kombu.utils.div import emergency_dump_state

    err = io.StringIO()
    path = emergency_dump_state({"a": [1, 2]}, stderr=err)
    try:
        with open(path, "rb") as fh:
            assert pickle.load(fh) == {"a": [1, 2]}
        assert path in err.getvalue()
    finally:
        os.unlink(path)


def test_dump_falls_back_to_pformat():
    from kombu.utils.div import emergency_dump_state

    err = io.StringIO()
    state = {"fn": lambda: None}
    path = emergency_dump_state(state, stderr=err)
    try:
        with open(path, "rb") as fh:
            assert b"'fn'" in fh.read()
        assert "Cannot pickle" in err.getvalue()
    finally:
        os.unlink(path)


def test_without_stderr_the_dump_is_logged_on_the_module_logger(caplog):
    from kombu.utils.div import emergency_dump_state, logger

    assert logger.name == "kombu.utils.div"
    with caplog.at_level("ERROR", logger="kombu.utils.div"):
        path = emergency_dump_state({"fn": lambda: None})
    try:
        first, second = caplog.records
        assert path in first.getMessage()
        assert first.emergency_state_file == path  # type: ignore[attr-defined]
        assert "falling back to pformat" in second.getMessage()
    finally:
        os.unlink(path)


def test_a_dump_of_your_own_writes_text():
    import json

    from kombu.utils.div import emergency_dump_state

    path = emergency_dump_state({"a": 1}, dump=json.dump, stderr=io.StringIO())
    try:
        with open(path) as fh:
            assert json.load(fh) == {"a": 1}
    finally:
        os.unlink(path)
