"""kombu.serialization: the codec registry, safe defaults, accept lists and plugin discovery."""

from __future__ import annotations

import pickle
import sys
import textwrap
from datetime import datetime, timezone
from decimal import Decimal
from uuid import UUID

import pytest

from kombu import builtin_codecs, plugins, serialization
from kombu.exceptions import (
    ContentDisallowed,
    DecodeError,
    EncodeError,
    SerializerNotInstalled,
)
from kombu.serialization import (
    disable_insecure_serializers,
    dumps,
    enable_insecure_serializers,
    loads,
    prepare_accept_content,
    raw_encode,
    register,
    registry,
    unregister,
)

DATA = {"text": "héllo wörld ☃", "n": [1, 2.5, None, True], "nested": {"k": "v"}}


@pytest.fixture(autouse=True)
def restore_registry():
    """Every test leaves the global registry (and insecure-serializer state) as it found it."""
    registry._sync()  # the tables hold the kernel's codecs before anything is saved
    tables = (registry._encoders, registry._decoders, registry.type_to_name,
              registry.name_to_type)
    saved_tables = [dict(table) for table in tables]
    saved = (
        set(registry._disabled_content_types),
        set(registry._enabled_content_types),
        registry._safe_mode,
        registry._seen_specs,
        (
            registry._default_encode,
            registry._default_content_type,
            registry._default_content_encoding,
            registry._default_name,
        ),
        serialization.pickle_protocol,
    )
    yield
    for table, old in zip(tables, saved_tables, strict=True):
        dict.clear(table)
        dict.update(table, old)
    disabled, enabled, safe, seen, default, protocol = saved
    registry._disabled_content_types = disabled
    registry._enabled_content_types = enabled
    registry._safe_mode = safe
    registry._seen_specs = seen
    (
        registry._default_encode,
        registry._default_content_type,
        registry._default_content_encoding,
        registry._default_name,
    ) = default
    serialization.pickle_protocol = protocol


# -- dumps / loads round trips --------------------------------------------------


def test_json_is_the_default():
    content_type, encoding, payload = dumps(DATA)
    assert (content_type, encoding) == ("application/json", "utf-8")
    assert loads(payload, content_type, encoding) == DATA


def test_json_payload_decodes_from_bytes_and_memoryview():
    content_type, encoding, payload = dumps(DATA, serializer="json")
    raw = payload.encode("utf-8")
    assert loads(raw, content_type, encoding) == DATA
    assert loads(memoryview(raw), content_type, encoding) == DATA
    assert loads(bytearray(raw), content_type, encoding) == DATA


def test_json_round_trips_extended_types():
    value = {
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        "price": Decimal("9.99"),
        "id": UUID("12345678-1234-5678-1234-567812345678"),
        "blob": b"\x00\xff",
    }
    assert loads(*_swap(dumps(value, "json"))) == value


@pytest.mark.parametrize(
    ("name", "content_type", "encoding"),
    [
        ("pickle", "application/x-python-serialize", "binary"),
        ("yaml", "application/x-yaml", "utf-8"),
        ("msgpack", "application/x-msgpack", "binary"),
    ],
)
def test_round_trip_each_serializer(name, content_type, encoding):
    ctype, enc, payload = dumps(DATA, serializer=name)
    assert (ctype, enc) == (content_type, encoding)
    assert loads(payload, ctype, enc, accept=[name]) == DATA
    assert loads(payload, ctype, enc, accept={content_type}) == DATA


def test_msgpack_and_pickle_keep_binary():
    value = {"blob": bytes(range(256))}
    for name in ("msgpack", "pickle"):
        ctype, enc, payload = dumps(value, serializer=name)
        assert loads(payload, ctype, enc, accept=[name]) == value


def test_pickle_uses_the_global_protocol():
    serialization.pickle_protocol = 2
    _, _, payload = dumps([1], serializer="pickle")
    assert payload[:2] == b"\x80\x02"
    serialization.pickle_protocol = pickle.HIGHEST_PROTOCOL
    _, _, payload = dumps([1], serializer="pickle")
    assert payload[1] == pickle.HIGHEST_PROTOCOL


def _swap(result):
    content_type, encoding, payload = result
    return payload, content_type, encoding


# -- raw bodies -------------------------------------------------------------------


def test_bytes_and_str_pass_through_without_serializer():
    assert dumps(b"\x00\x01") == ("application/data", "binary", b"\x00\x01")
    assert dumps("☃") == ("text/plain", "utf-8", "☃".encode())


def test_raw_serializer():
    assert dumps(b"abc", serializer="raw") == ("application/data", "binary", b"abc")
    assert dumps("é", serializer="raw") == ("application/data", "utf-8", "é".encode())
    assert raw_encode(b"x") == ("application/data", "binary", b"x")
    with pytest.raises(EncodeError, match="raw serializer"):
        dumps({"a": 1}, serializer="raw")


def test_explicit_serializer_encodes_str_too():
    assert dumps("x", serializer="json") == ("application/json", "utf-8", '"x"')


def test_loads_raw_and_text_content():
    assert loads(b"\x00\xff", "application/data", "binary") == b"\x00\xff"
    assert loads("☃".encode(), "text/plain", "utf-8") == "☃"
    assert loads("☃".encode(), None, None) == "☃"  # no headers: utf-8 application/data
    assert loads(b"abc", b"text/plain", b"utf-8") == "abc"  # bytes headers
    assert loads(b"", "application/json", "utf-8") == b""  # empty bodies are returned as is
    # trusted content is decoded whatever accept says
    assert loads(b"\x01", "application/data", "binary", accept=["json"]) == b"\x01"


# -- errors ---------------------------------------------------------------------


def test_decode_error_wraps_the_cause():
    with pytest.raises(DecodeError) as info:
        loads(b"{not json", "application/json", "utf-8")
    assert info.value.__cause__ is not None
    assert "application/json" in str(info.value)
    with pytest.raises(DecodeError):
        loads(b"\xff\xfe", "text/plain", "utf-8")


def test_encode_error_wraps_the_cause():
    with pytest.raises(EncodeError) as info:
        dumps({"x": object()}, serializer="json")
    assert isinstance(info.value.__cause__, TypeError)


def test_unknown_serializer():
    with pytest.raises(SerializerNotInstalled, match="no-such-serializer"):
        dumps([1], serializer="no-such-serializer")


# -- safe defaults and accept -------------------------------------------------------


@pytest.mark.parametrize("name", ["pickle", "yaml", "msgpack"])
def test_insecure_serializers_refused_without_accept(name):
    content_type, encoding, payload = dumps(DATA, serializer=name)
    with pytest.raises(ContentDisallowed) as info:
        loads(payload, content_type, encoding)
    message = str(info.value)
    assert content_type in message
    assert "accept" in message and "enable_insecure_serializers" in message
    # force bypasses the disabled list
    assert loads(payload, content_type, encoding, force=True) == DATA


def test_content_type_not_in_accept_is_refused():
    content_type, encoding, payload = dumps(DATA)
    with pytest.raises(ContentDisallowed, match="application/json"):
        loads(payload, content_type, encoding, accept=["application/x-yaml"])
    with pytest.raises(ContentDisallowed):
        loads(payload, content_type, encoding, accept=set())
    with pytest.raises(ContentDisallowed):  # text is not trusted once accept is given
        loads(b"x", "text/plain", "utf-8", accept=["json"])
    # accept may hold names as well as MIME types
    assert loads(payload, content_type, encoding, accept=["json"]) == DATA


def test_enable_and_disable_insecure_serializers():
    content_type, encoding, payload = dumps(DATA, serializer="pickle")
    enable_insecure_serializers()
    assert loads(payload, content_type, encoding) == DATA
    disable_insecure_serializers()
    with pytest.raises(ContentDisallowed):
        loads(payload, content_type, encoding)
    enable_insecure_serializers(["application/x-python-serialize"])
    assert loads(payload, content_type, encoding) == DATA
    disable_insecure_serializers(allowed=["json", "pickle"])
    assert loads(payload, content_type, encoding) == DATA
    disable_insecure_serializers(allowed=[])
    with pytest.raises(ContentDisallowed):
        loads(*_swap(dumps(DATA)))
    enable_insecure_serializers(["no-such-thing"])  # unknown names are ignored


def test_registry_enable_disable_by_name_or_type():
    payload = dumps([1])[2]
    registry.disable("json")
    with pytest.raises(ContentDisallowed):
        loads(payload, "application/json", "utf-8")
    assert loads(payload, "application/json", "utf-8", accept=["json"]) == [1]
    registry.enable("application/json")
    assert loads(payload, "application/json", "utf-8") == [1]


def test_prepare_accept_content():
    assert prepare_accept_content(None) is None
    assert prepare_accept_content(["json", "application/x-yaml", "pickle"]) == {
        "application/json",
        "application/x-yaml",
        "application/x-python-serialize",
    }
    assert prepare_accept_content(["x"], {"x": "application/x"}) == {"application/x"}
    with pytest.raises(SerializerNotInstalled, match="nope"):
        prepare_accept_content(["nope"])


# -- registration -----------------------------------------------------------------


def test_register_and_unregister_custom_serializer():
    register(
        "upper",
        lambda s: s.upper(),
        lambda s: s.lower(),
        "application/x-upper",
        content_encoding="utf-8",
    )
    assert dumps("abc", serializer="upper") == ("application/x-upper", "utf-8", "ABC")
    assert loads("ABC", "application/x-upper", "utf-8", accept=["upper"]) == "abc"
    assert prepare_accept_content(["upper"]) == {"application/x-upper"}
    unregister("upper")
    with pytest.raises(SerializerNotInstalled):
        dumps("abc", serializer="upper")
    with pytest.raises(SerializerNotInstalled):
        unregister("upper")


def test_decoder_only_registration():
    register("readonly", None, lambda s: "decoded", "application/x-ro")
    assert loads(b"x", "application/x-ro", "utf-8") == "decoded"
    with pytest.raises(SerializerNotInstalled):
        dumps(1, serializer="readonly")


def test_set_default_serializer():
    registry._set_default_serializer("pickle")
    assert dumps([1])[0] == "application/x-python-serialize"
    with pytest.raises(SerializerNotInstalled):
        registry._set_default_serializer("nope")


# -- optional libraries -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "module", "library"),
    [
        ("yaml", "yaml", builtin_codecs.yaml),
        ("msgpack", "msgpack", builtin_codecs.msgpack),
    ],
)
def test_missing_library_names_the_extra(monkeypatch, name, module, library):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import <module>` fail
    monkeypatch.setattr(library, "module", None)
    with pytest.raises(SerializerNotInstalled, match=rf"pip install 'kombu-core\[{name}\]'"):
        dumps([1], serializer=name)
    with pytest.raises(SerializerNotInstalled, match=rf"kombu-core\[{name}\]"):
        loads(b"[1]", registry.name_to_type[name], "utf-8", accept=[name])


# -- where serializers come from: the kernel, pulled on a miss ------------------------


def run_python(code: str, **env: str) -> str:
    import os
    import subprocess

    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_registers_nothing_and_the_builtins_come_through_the_core_hookimpl():
    out = run_python("""
        import sys
        import kombu.serialization as s
        print(dict.__len__(s.registry._encoders), "kombu.plugins" in sys.modules)
        print(s.dumps({"a": 1}))
        from kombu import plugins
        print(sorted(spec.name for spec, dist in plugins.get_registry().serializers()
                     if dist == "kombu-core"))
    """)
    assert out.splitlines() == [
        "0 False",
        "('application/json', 'utf-8', '{\"a\": 1}')",
        "['json', 'msgpack', 'pickle', 'raw', 'yaml']",
    ]


def test_indexing_a_table_asks_the_kernel_as_celery_does():
    """Celery's result backends read ``registry._encoders[name]`` before any dumps()."""
    out = run_python("""
        from kombu.serialization import registry
        print(registry._encoders["json"].content_type, registry.name_to_type["pickle"])
        try:
            registry._encoders["no-such"]
        except KeyError as exc:
            print("KeyError", exc)
    """)
    assert out.splitlines() == [
        "application/json application/x-python-serialize",
        "KeyError 'no-such'",
    ]


def test_known_serializer_lookup_does_not_ask_the_kernel(monkeypatch):
    dumps(DATA, serializer="pickle")

    def fail():
        raise AssertionError("the kernel was asked on a cached lookup")

    monkeypatch.setattr(plugins.get_registry(), "serializers", fail)
    assert dumps(DATA)[0] == "application/json"
    assert dumps(DATA, serializer="pickle")[0] == "application/x-python-serialize"
    assert loads(*_swap(dumps(DATA))) == DATA


class CodecPlugin:
    @plugins.hookimpl
    def kombu_serializers(self):
        return [
            plugins.CodecSpec(
                "rev", lambda o: str(o)[::-1], lambda s: s[::-1], "application/x-rev", "utf-8"
            )
        ]


@pytest.fixture
def codec_plugin():
    registry._sync()  # the built-ins are in: the plugin arrives later, on a miss
    plugin = CodecPlugin()
    plugins.get_registry().add_plugin(plugin, "test-codecs")
    yield plugin
    plugins.get_registry().remove_plugin(plugin)


def test_plugin_serializer_found_on_first_miss(codec_plugin):
    assert "rev" not in registry.name_to_type
    assert dumps("abc", serializer="rev") == ("application/x-rev", "utf-8", "cba")
    assert loads("cba", "application/x-rev", "utf-8", accept=["rev"]) == "abc"
    # discovered serializers are not decoded without accept while the safe default holds
    with pytest.raises(ContentDisallowed):
        loads("cba", "application/x-rev", "utf-8")
    enable_insecure_serializers(["rev"])
    assert loads("cba", "application/x-rev", "utf-8") == "abc"


def test_plugin_serializer_found_by_loads_and_accept(codec_plugin):
    assert prepare_accept_content(["rev"]) == {"application/x-rev"}
    assert loads(b"cba", "application/x-rev", "utf-8", accept={"application/x-rev"}) == b"abc"


def test_plugin_serializer_found_after_discovery_elsewhere_is_still_disabled(codec_plugin):
    plugins.get_registry().transports()  # discovery triggered by a transport lookup
    with pytest.raises(ContentDisallowed, match="application/x-rev"):
        loads("cba", "application/x-rev", "utf-8")
    assert "application/x-rev" in registry._disabled_content_types


def test_plugin_cannot_replace_a_builtin_serializer():
    class Impostor:
        @plugins.hookimpl
        def kombu_serializers(self):
            return [plugins.CodecSpec("json", lambda o: "evil", lambda s: "evil",
                                      "application/json", "utf-8")]

    registry._sync()
    impostor = Impostor()
    plugins.get_registry().add_plugin(impostor, "impostor")
    try:
        registry._sync()
        assert dumps([1], serializer="json")[2] == "[1]"
    finally:
        plugins.get_registry().remove_plugin(impostor)


def _legacy_dist(root):
    info = root / "kombu_test_ser-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kombu-test-ser\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[kombu.serializers]\nshout = kombu_test_ser_mod:register_args\n"
        "broken = kombu_test_ser_mod:not_there\n"
    )
    (root / "kombu_test_ser_mod.py").write_text(
        textwrap.dedent("""
        def enc(o):
            return str(o).upper()

        def dec(s):
            return s.lower()

        register_args = (enc, dec, "application/x-shout", "utf-8")
    """)
    )


def test_legacy_entry_point_serializers_are_read_by_the_kernel(tmp_path, monkeypatch):
    _legacy_dist(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins.reset()
    try:
        with pytest.warns(plugins.KombuPluginWarning, match="broken.*kombu-test-ser"):
            assert dumps("hi", serializer="shout") == ("application/x-shout", "utf-8", "HI")
        dists = {spec.name: dist for spec, dist in plugins.get_registry().serializers()}
        assert dists["shout"] == "kombu-test-ser"
        assert loads("HI", "application/x-shout", "utf-8", accept=["shout"]) == "hi"
        with pytest.raises(ContentDisallowed):
            loads("HI", "application/x-shout", "utf-8")
    finally:
        sys.modules.pop("kombu_test_ser_mod", None)


def test_legacy_entry_points_obey_the_autoload_switch(tmp_path):
    _legacy_dist(tmp_path)
    out = run_python("""
        import sys
        from kombu import serialization
        try:
            serialization.dumps("hi", serializer="shout")
        except serialization.SerializerNotInstalled:
            print("not installed")
        print("kombu_test_ser_mod" in sys.modules)
        print(serialization.dumps([1], serializer="pickle")[0])  # the core's own still there
    """, KOMBU_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONPATH=str(tmp_path))
    assert out.splitlines() == ["not installed", "False", "application/x-python-serialize"]
    out = run_python("""
        from kombu import serialization
        print(serialization.dumps("hi", serializer="shout"))
    """, PYTHONPATH=str(tmp_path))
    assert out.splitlines()[-1] == "('application/x-shout', 'utf-8', 'HI')"


def test_import_scans_no_entry_points():
    out = run_python("""
        import sys, kombu.serialization, kombu.compression
        print(sorted(m for m in ('kombu.plugins', 'pluggy', 'importlib.metadata', 'yaml',
                                 'msgpack', 'brotli', 'zstandard', 'pickle')
                     if m in sys.modules))
    """)
    assert out == "[]"
