"""kombu-core's own plugin: the built-in transports and codecs, registered
through the kernel exactly as an installed plugin registers its own.

Transports are named by path and imported only when used; the codec hooks
run on the first serializer or compressor lookup, not at discovery, so
finding a transport never imports pickle, json or a compression library.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .hookspecs import CodecSpec, hookimpl

KOMBU_PLUGIN_API = "1.0"


@hookimpl
def kombu_transports() -> Mapping[str, str]:
    return {
        "memory": "kombu.transport.memory:Transport",
        "filesystem": "kombu.transport.filesystem:Transport",
    }


@hookimpl
def kombu_serializers() -> Iterable[CodecSpec]:
    from . import builtin_codecs as codecs
    from .utils import json

    return [
        CodecSpec("json", json.dumps, json.loads, "application/json", "utf-8"),
        CodecSpec("pickle", codecs.pickle_dumps, codecs.pickle_loads,
                  "application/x-python-serialize", "binary"),
        CodecSpec("yaml", codecs.yaml_dumps, codecs.yaml_loads, "application/x-yaml", "utf-8"),
        CodecSpec("msgpack", codecs.msgpack_dumps, codecs.msgpack_loads,
                  "application/x-msgpack", "binary"),
        # Encode only: application/data bodies are left as they are on decode.
        CodecSpec("raw", codecs.raw_payload, None, "application/data", None),
    ]


@hookimpl
def kombu_compressors() -> Iterable[CodecSpec]:
    import bz2
    import lzma
    import zlib

    from . import builtin_codecs

    specs = [
        CodecSpec("zlib", zlib.compress, zlib.decompress, "application/x-gzip",
                  aliases=("gzip",)),
        CodecSpec("bzip2", bz2.compress, bz2.decompress, "application/x-bz2",
                  aliases=("bzip",)),
        CodecSpec("lzma", lzma.compress, lzma.decompress, "application/x-lzma",
                  aliases=("xz",)),
    ]
    for name, compress, decompress, content_type, aliases in builtin_codecs.optional_compressors():
        specs.append(CodecSpec(name, compress, decompress, content_type, aliases=aliases))
    return specs
