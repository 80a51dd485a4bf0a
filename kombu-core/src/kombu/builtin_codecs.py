"""The codecs kombu-core ships: functions only, registered by :mod:`kombu.core_plugin`.

Serializers: json (:mod:`kombu.utils.json`), pickle, yaml (PyYAML) and
msgpack, plus ``raw``.  Compressors: zlib, bz2 and lzma from the standard
library, brotli and zstd when their libraries are installed.  Optional
libraries are imported on first use; a missing one raises
:exc:`~kombu.exceptions.SerializerNotInstalled` naming the kombu-core extra
that installs it.

The pickle protocol lives here (:data:`pickle_protocol`);
``kombu.serialization.pickle_protocol`` reads and writes this value.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from io import BytesIO
from typing import Any

from .exceptions import EncodeError, SerializerNotInstalled

__all__ = (
    "install_hint",
    "msgpack_dumps",
    "msgpack_loads",
    "optional_compressors",
    "pickle_dumps",
    "pickle_loads",
    "pickle_protocol",
    "raw_encode",
    "yaml_dumps",
    "yaml_loads",
)

#: The pickle protocol used to encode (env ``PICKLE_PROTOCOL`` overrides the default).
pickle_protocol = int(os.environ.get("PICKLE_PROTOCOL", pickle.DEFAULT_PROTOCOL))


def install_hint(extra: str) -> str:
    return f"pip install 'kombu-core[{extra}]'"


def pickle_dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, protocol=pickle_protocol)


def pickle_loads(data: Any) -> Any:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return pickle.load(BytesIO(data))


def raw_encode(data: Any) -> tuple[str, str, Any]:
    """The ``raw`` serializer: bytes as ``binary``, str as UTF-8 bytes.

    Returns ``(content_type, content_encoding, payload)``.
    """
    if isinstance(data, str):
        try:
            return "application/data", "utf-8", data.encode("utf-8")
        except UnicodeError as exc:
            raise EncodeError(f"Cannot encode raw text as utf-8: {exc}") from exc
    if isinstance(data, (bytes, bytearray, memoryview)):
        return "application/data", "binary", data
    raise EncodeError(
        f"The raw serializer sends bytes or str, not {type(data).__name__}: "
        f"pick a serializer such as 'json' for other objects"
    )


def raw_payload(data: Any) -> tuple[Any, str]:
    """``raw`` as a registry encoder: ``(payload, content_encoding)``."""
    _, content_encoding, payload = raw_encode(data)
    return payload, content_encoding


class OptionalLibrary:
    """A library imported on first use, with the extra that installs it."""

    def __init__(self, module: str, extra: str, serializer: str) -> None:
        self.module_name = module
        self.extra = extra
        self.serializer = serializer
        self.module: Any = None

    def load(self) -> Any:
        module = self.module
        if module is None:
            try:
                module = self.module = __import__(self.module_name)
            except ImportError:
                raise SerializerNotInstalled(
                    f"The {self.serializer} serializer needs the {self.module_name!r} "
                    f"library: {install_hint(self.extra)}"
                ) from None
        return module


yaml = OptionalLibrary("yaml", "yaml", "yaml")
msgpack = OptionalLibrary("msgpack", "msgpack", "msgpack")


def yaml_dumps(obj: Any) -> str:
    return str(yaml.load().safe_dump(obj))


def yaml_loads(data: Any) -> Any:
    return yaml.load().safe_load(data)


def msgpack_dumps(obj: Any) -> bytes:
    return bytes(msgpack.load().packb(obj, use_bin_type=True))


def msgpack_loads(data: Any) -> Any:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return msgpack.load().unpackb(data, raw=False)


# -- optional compressors ---------------------------------------------------------

Compressor = tuple[str, Callable[[bytes], bytes], Callable[[bytes], bytes], str, tuple[str, ...]]


def _brotli() -> Compressor:
    import brotli

    return ("brotli", brotli.compress, brotli.decompress, "application/x-brotli", ())


def _zstd() -> Compressor:
    try:
        import zstandard
    except ImportError:
        from compression import zstd as stdlib_zstd  # Python 3.14+

        return ("zstd", stdlib_zstd.compress, stdlib_zstd.decompress, "application/zstd",
                ("zstandard",))

    def zstd_compress(body: bytes) -> bytes:  # contexts are not thread safe: one per call
        return bytes(zstandard.ZstdCompressor().compress(body))

    def zstd_decompress(body: bytes) -> bytes:
        try:
            return bytes(zstandard.ZstdDecompressor().decompress(body))
        except zstandard.ZstdError:  # frame without a content size: stream it
            return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))

    return ("zstd", zstd_compress, zstd_decompress, "application/zstd", ("zstandard",))


def optional_compressors() -> list[Compressor]:
    """The optional compressors whose library is installed (each imported now)."""
    found = []
    for loader in (_brotli, _zstd):
        try:
            found.append(loader())
        except ImportError:
            pass
    return found
