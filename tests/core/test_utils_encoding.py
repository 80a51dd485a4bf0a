"""kombu.utils.encoding."""

from __future__ import annotations

import io

from kombu.utils import encoding
from kombu.utils.encoding import (
    bytes_to_str,
    default_encode,
    default_encoding,
    ensure_bytes,
    from_utf8,
    get_default_encoding_file,
    safe_repr,
    safe_str,
    set_default_encoding_file,
    str_to_bytes,
)


def test_str_bytes_conversion():
    assert str_to_bytes("☃") == "☃".encode()
    assert str_to_bytes(b"x") == b"x"
    assert str_to_bytes(5) == 5
    assert ensure_bytes is str_to_bytes
    assert bytes_to_str("☃".encode()) == "☃"
    assert bytes_to_str(bytearray(b"ab")) == "ab"
    assert bytes_to_str(memoryview(b"ab")) == "ab"
    assert bytes_to_str(b"\xff") == "\ufffd"
    assert bytes_to_str("s") == "s"
    assert bytes_to_str(None) is None


def test_compat_noops():
    assert from_utf8("x") == "x"
    assert default_encode("x") == "x"


def test_default_encoding_file():
    assert get_default_encoding_file() is None
    fh = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    set_default_encoding_file(fh)
    try:
        assert get_default_encoding_file() is fh
        assert default_encoding() == "latin-1"
        assert encoding.default_encoding_file is fh
    finally:
        set_default_encoding_file(None)
    assert default_encoding(io.StringIO())  # falls back to the filesystem encoding


class BadRepr:
    def __repr__(self):
        raise RuntimeError("boom")

    def __str__(self):
        raise RuntimeError("boom")


def test_safe_str_and_safe_repr():
    assert safe_str("☃") == "☃"
    assert safe_str("☃".encode()) == "☃"
    assert safe_str(b"\xff") == "\ufffd"
    assert safe_str(12) == "12"
    assert "Unrepresentable" in safe_str(BadRepr())
    assert safe_repr([1]) == "[1]"
    assert "boom" in safe_repr(BadRepr())
