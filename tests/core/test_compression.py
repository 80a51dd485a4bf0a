"""kombu.compression: built-in compressors, aliases, optional libraries and plugins."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from kombu import compression, plugins
from kombu.exceptions import SerializerNotInstalled

BODY = ("héllo wörld " * 200).encode()


@pytest.fixture(autouse=True)
def restore_tables():
    compression._sync()  # the kernel's compressors are in before anything is saved
    saved = (
        dict(compression._aliases),
        dict(compression._encoders),
        dict(compression._decoders),
        compression._seen_specs,
    )
    yield
    aliases, encoders, decoders, seen = saved
    for table, old in (
        (compression._aliases, aliases),
        (compression._encoders, encoders),
        (compression._decoders, decoders),
    ):
        table.clear()
        table.update(old)
    compression._seen_specs = seen


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("zlib", "application/x-gzip"),
        ("gzip", "application/x-gzip"),
        ("application/x-gzip", "application/x-gzip"),
        ("bzip2", "application/x-bz2"),
        ("xz", "application/x-lzma"),
        ("lzma", "application/x-lzma"),
        ("brotli", "application/x-brotli"),
        ("zstd", "application/zstd"),
        ("zstandard", "application/zstd"),
    ],
)
def test_round_trip(method, content_type):
    if content_type == "application/x-brotli":
        pytest.importorskip("brotli")
    if content_type == "application/zstd":
        pytest.importorskip("zstandard")
    compressed, ctype = compression.compress(BODY, method)
    assert ctype == content_type
    assert len(compressed) < len(BODY)
    assert compression.decompress(compressed, ctype) == BODY
    assert compression.decompress(compressed, method) == BODY


def test_str_body_is_encoded_first():
    compressed, ctype = compression.compress("☃" * 10, "zlib")
    assert compression.decompress(compressed, ctype) == ("☃" * 10).encode()


def test_encoders_lists_content_types():
    available = compression.encoders()
    assert {"application/x-gzip", "application/x-bz2", "application/x-lzma"} <= set(available)


def test_get_encoder_and_decoder():
    encoder, ctype = compression.get_encoder("zlib")
    assert ctype == "application/x-gzip"
    assert compression.get_decoder("zlib")(encoder(b"abc")) == b"abc"


def test_register_custom_method():
    compression.register(lambda b: b[::-1], lambda b: b[::-1], "application/x-rev", aliases=["rev"])
    assert compression.compress(b"abc", "rev") == (b"cba", "application/x-rev")
    assert compression.decompress(b"cba", "application/x-rev") == b"abc"
    assert "application/x-rev" in compression.encoders()


def test_unknown_method_is_a_clear_key_error():
    with pytest.raises(KeyError) as info:
        compression.compress(b"x", "lz77-nope")
    assert isinstance(info.value, SerializerNotInstalled)
    assert "lz77-nope" in str(info.value)
    with pytest.raises(SerializerNotInstalled):
        compression.decompress(b"x", "lz77-nope")


@pytest.mark.parametrize(
    ("method", "module", "extra"),
    [
        ("brotli", "brotli", "brotli"),
        ("zstd", "zstandard", "zstd"),
        ("application/zstd", "zstandard", "zstd"),
    ],
)
def test_missing_optional_library_names_the_extra(monkeypatch, method, module, extra):
    for table in (compression._encoders, compression._decoders, compression._aliases):
        table.clear()
    compression._seen_specs = None
    plugins.reset()  # the core's hook runs again and finds the library missing
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "compression", None)  # no Python 3.14 stdlib zstd
    with pytest.raises(SerializerNotInstalled, match=rf"pip install 'kombu-core\[{extra}\]'"):
        compression.compress(b"x", method)
    assert compression.compress(b"x", "zlib")[1] == "application/x-gzip"


def test_import_registers_nothing_and_the_builtins_come_through_the_core_hookimpl():
    code = (
        "import sys\n"
        "from kombu import compression as c\n"
        "print(len(c._encoders), 'zlib' in sys.modules, 'kombu.plugins' in sys.modules)\n"
        "print(c.get_encoder('gzip')[1])\n"
        "from kombu import plugins\n"
        "print(sorted(s.name for s, d in plugins.get_registry().compressors()"
        " if d == 'kombu-core'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.splitlines()
    assert out[0] == "0 False False"
    assert out[1] == "application/x-gzip"
    assert {"zlib", "bzip2", "lzma"} <= set(ast.literal_eval(out[2]))


def test_known_compressor_lookup_does_not_ask_the_kernel(monkeypatch):
    compression.compress(b"x", "zlib")

    def fail():
        raise AssertionError("the kernel was asked on a cached lookup")

    monkeypatch.setattr(plugins.get_registry(), "compressors", fail)
    assert compression.decompress(*compression.compress(BODY, "gzip")) == BODY


class CompressorPlugin:
    @plugins.hookimpl
    def kombu_compressors(self):
        return [
            plugins.CodecSpec(
                "swap",
                lambda b: b.swapcase(),
                lambda b: b.swapcase(),
                "application/x-swap",
                aliases=("swapcase",),
            )
        ]


def test_plugin_compressor_found_on_first_miss():
    plugin = CompressorPlugin()
    plugins.get_registry().add_plugin(plugin, "test-compressors")
    try:
        assert compression.compress(b"aB", "swap") == (b"Ab", "application/x-swap")
        assert compression.decompress(b"Ab", "swapcase") == b"aB"
    finally:
        plugins.get_registry().remove_plugin(plugin)
