"""Message body compression: compressors by MIME type, with short aliases.

Built in: zlib (``application/x-gzip``; aliases ``zlib``, ``gzip``), bz2
(``application/x-bz2``; ``bzip2``, ``bzip``) and lzma (``application/x-lzma``;
``lzma``, ``xz``) from the standard library, plus brotli
(``application/x-brotli``) and zstd (``application/zstd``; ``zstd``,
``zstandard``) when their libraries are installed.  Every compressor (the
built-in ones included, from kombu-core's own plugin) comes from the kernel,
:mod:`kombu.plugins`, asked on the first lookup and again on a miss, never
at import.
"""

from __future__ import annotations

from _thread import allocate_lock
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
    _sync()
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
        _sync()
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


# -- compressors from the kernel ---------------------------------------------------

#: Names of the optional compressors and the kombu-core extra that installs each.
_EXTRAS = {
    "brotli": "brotli",
    "application/x-brotli": "brotli",
    "zstd": "zstd",
    "zstandard": "zstd",
    "application/zstd": "zstd",
}
_seen_specs: object = None
_sync_lock = allocate_lock()


def _sync() -> None:
    """Register the compressors the kernel offers that are new since the last call.

    A content type already registered (by hand, or by the core before a
    plugin) is kept; the spec's name and aliases are added as aliases.
    """
    global _seen_specs
    from . import plugins

    specs = plugins.get_registry().compressors()
    if specs is _seen_specs:
        return
    with _sync_lock:
        if specs is _seen_specs:
            return
        for spec, _dist in specs:
            if spec.decode is None:  # a compressor must decompress: not one
                continue
            if spec.content_type not in _encoders:
                register(spec.encode, spec.decode, spec.content_type, aliases=spec.aliases)
            for alias in (spec.name, *spec.aliases):
                _aliases.setdefault(alias, spec.content_type)
        _seen_specs = specs
