"""Text/bytes conversion that never raises on odd input.

Used when logging or persisting data whose type or encoding is not known in
advance: the ``safe_*`` helpers return something printable even for objects
whose ``__repr__``/``__str__`` blow up.
"""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = (
    "bytes_t",
    "bytes_to_str",
    "default_encode",
    "default_encoding",
    "default_encoding_file",
    "ensure_bytes",
    "from_utf8",
    "get_default_encoding_file",
    "safe_repr",
    "safe_str",
    "set_default_encoding_file",
    "str_t",
    "str_to_bytes",
)

str_t = str
bytes_t = bytes

#: The file whose ``encoding`` :func:`default_encoding` reports (stdout if unset).
default_encoding_file: IO[Any] | None = None


def set_default_encoding_file(file: IO[Any] | None) -> None:
    """Use ``file``'s encoding as the default encoding."""
    global default_encoding_file
    default_encoding_file = file


def get_default_encoding_file() -> IO[Any] | None:
    """The file consulted by :func:`default_encoding`."""
    return default_encoding_file


def default_encoding(file: IO[Any] | None = None) -> str:
    """The encoding of ``file`` (or the default file, or stdout), else the fs encoding."""
    if file is None:
        file = default_encoding_file if default_encoding_file is not None else sys.stdout
    return getattr(file, "encoding", None) or sys.getfilesystemencoding()


def str_to_bytes(s: Any) -> Any:
    """Encode ``s`` as UTF-8 if it is a str; anything else is returned as is."""
    if isinstance(s, str):
        return s.encode("utf-8")
    return s


#: Alias of :func:`str_to_bytes`.
ensure_bytes = str_to_bytes


def bytes_to_str(s: Any) -> Any:
    """Decode bytes-like ``s`` as UTF-8 (bad bytes replaced); anything else as is."""
    if isinstance(s, (bytes, bytearray)):
        return s.decode("utf-8", errors="replace")
    if isinstance(s, memoryview):
        return s.tobytes().decode("utf-8", errors="replace")
    return s


def from_utf8(s: Any, *args: Any, **kwargs: Any) -> Any:
    """Kept for compatibility: text is already unicode on Python 3."""
    return s


def default_encode(obj: Any, file: IO[Any] | None = None) -> Any:
    """Kept for compatibility: returns ``obj`` unchanged on Python 3."""
    return obj


def _unrepresentable(obj: Any, exc: BaseException) -> str:
    return f"<Unrepresentable {type(obj).__name__} object: {type(exc).__name__}: {exc}>"


def safe_str(s: Any, errors: str = "replace") -> str:
    """``str(s)`` that never raises: bytes are decoded, failures described."""
    if isinstance(s, str):
        return s
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s).decode("utf-8", errors=errors)
    try:
        return str(s)
    except Exception:
        return safe_repr(s, errors)


def safe_repr(o: Any, errors: str = "replace") -> str:
    """``repr(o)`` that never raises: a failure is described instead."""
    try:
        return repr(o)
    except Exception as exc:
        return _unrepresentable(o, exc)
