"""Message body compression: compressors by MIME type, with short aliases.

Built in: zlib (``application/x-gzip``; aliases ``zlib``, ``gzip``), bz2
(``application/x-bz2``; ``bzip2``, ``bzip``) and lzma (``application/x-lzma``;
``lzma``, ``xz``) from the standard library, plus brotli
(``application/x-brotli``) and zstd (``application/zstd``; ``zstd``,
``zstandard``) when their libraries are installed.  The optional ones and
plugin compressors (the ``kombu_compressors`` hook) are looked up on the first
miss, never at import.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from typing import Any

from .exceptions import SerializerNotInstalled
from .utils.encoding import ensure_bytes

__all__ = (
    "CompressionNotInstalled",
    "compress",
    "decompress",
    "encoders",
    "get_decoder",
    "get_encoder",
    "register",
)

Codec = Callable[[bytes], bytes]

_aliases: dict[str, str] = {}
_encoders: dict[str, Codec] = {}
_decoders: dict[str, Codec] = {}


class CompressionNotInstalled(SerializerNotInstalled, KeyError):
    """No compressor is registered for this name (a ``KeyError`` too, as in kombu)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def register(
    encoder: Codec, decoder: Codec, content_type: str, aliases: Iterable[str] | None = None
) -> None:
    """Register a compressor for ``content_type``, also known by each of ``aliases``."""
    _encoders[content_type] = encoder
    _decoders[content_type] = decoder
    for alias in aliases or ():
        _aliases[alias] = content_type


def encoders() -> list[str]:
    """The content types of every available compressor (optional ones included)."""
    _load_optional()
    return list(_encoders)


def _unknown(t: str) -> CompressionNotInstalled:
    extra = _EXTRAS.get(t)
    if extra is not None:
        return CompressionNotInstalled(
            f"Compression method {t!r} is not available: its library is not installed. "
            f"Install it with: pip install 'kombu-core[{extra}]'"
        )
    known = ", ".join(sorted({*_encoders, *_aliases}))
    return CompressionNotInstalled(
        f"Unknown compression method {t!r} (available: {known}). Install the plugin "
        f"that provides it, or register it with kombu.compression.register()."
    )


def _resolve(t: str, table: dict[str, Codec]) -> tuple[Codec, str]:
    content_type = _aliases.get(t, t)
    fun = table.get(content_type)
    if fun is None:
        _discover()
        content_type = _aliases.get(t, t)
        fun = table.get(content_type)
        if fun is None:
            raise _unknown(t)
    return fun, content_type


def get_encoder(t: str) -> tuple[Codec, str]:
    """``(compress_function, content_type)`` for a content type or alias."""
    return _resolve(t, _encoders)


def get_decoder(t: str) -> Codec:
    """The decompress function for a content type or alias."""
    return _resolve(t, _decoders)[0]


def compress(body: Any, content_type: str) -> tuple[bytes, str]:
    """Compress ``body`` (str is UTF-8 encoded): returns ``(compressed, content_type)``."""
    encoder, content_type = _resolve(content_type, _encoders)
    return encoder(ensure_bytes(body)), content_type


def decompress(body: Any, content_type: str) -> bytes:
    """Decompress ``body`` compressed with ``content_type`` (or its alias)."""
    return _resolve(content_type, _decoders)[0](ensure_bytes(body))


# -- built-in compressors -----------------------------------------------------

register(zlib.compress, zlib.decompress, "application/x-gzip", aliases=["zlib", "gzip"])

try:
    import bz2
except ImportError:  # pragma: no cover - Python built without bz2
    pass
else:
    register(bz2.compress, bz2.decompress, "application/x-bz2", aliases=["bzip2", "bzip"])

try:
    import lzma
except ImportError:  # pragma: no cover - Python built without lzma
    pass
else:
    register(lzma.compress, lzma.decompress, "application/x-lzma", aliases=["lzma", "xz"])


# -- optional compressors: imported on first use ------------------------------

#: Names of the optional compressors and the kombu-core extra that installs each.
_EXTRAS = {
    "brotli": "brotli",
    "application/x-brotli": "brotli",
    "zstd": "zstd",
    "zstandard": "zstd",
    "application/zstd": "zstd",
}
_optional_loaded = False


def _register_brotli() -> None:
    import brotli

    register(brotli.compress, brotli.decompress, "application/x-brotli", aliases=["brotli"])


def _register_zstd() -> None:
    try:
        import zstandard
    except ImportError:
        from compression import zstd as stdlib_zstd  # Python 3.14+

        register(
            stdlib_zstd.compress,
            stdlib_zstd.decompress,
            "application/zstd",
            aliases=["zstd", "zstandard"],
        )
        return

    def zstd_compress(body: bytes) -> bytes:  # contexts are not thread safe: one per call
        return bytes(zstandard.ZstdCompressor().compress(body))

    def zstd_decompress(body: bytes) -> bytes:
        try:
            return bytes(zstandard.ZstdDecompressor().decompress(body))
        except zstandard.ZstdError:  # frame without a content size: stream it
            return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))

    register(zstd_compress, zstd_decompress, "application/zstd", aliases=["zstd", "zstandard"])


def _load_optional() -> None:
    global _optional_loaded
    if _optional_loaded:
        return
    _optional_loaded = True
    for loader in (_register_brotli, _register_zstd):
        try:
            loader()
        except ImportError:
            pass


def _discover() -> None:
    """Register the optional compressors and any a plugin provides."""
    _load_optional()
    from . import plugins

    state = plugins.get_registry().state
    for spec, _dist in state.compressors:
        if spec.content_type not in _encoders:
            register(spec.encode, spec.decode, spec.content_type, aliases=spec.aliases)
        _aliases.setdefault(spec.name, spec.content_type)
