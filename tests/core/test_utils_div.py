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
