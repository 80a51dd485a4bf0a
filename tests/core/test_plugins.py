"""The kernel: discovery, resolution order, helpful failures, kombu's module paths."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from kombu import plugins
from kombu.exceptions import TransportNotInstalled
from kombu.transport import (
    TRANSPORT_ALIASES,
    get_transport_cls,
    register_transport,
    resolve_transport,
    unregister_transport,
)


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env={**os.environ, **env},
                          timeout=60)


def make_dist(root: Path, dist: str, module: str, body: str, ep_name: str = "p") -> None:
    """A real (unpacked) distribution with a kombu.plugins entry point, on ``root``."""
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[kombu.plugins]\n{ep_name} = {module}\n")
    (root / f"{module}.py").write_text(textwrap.dedent(body))


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("fakeplug")]:
        del sys.modules[name]


PLUGIN_OK = """
from kombu.plugins import hookimpl

@hookimpl
def kombu_transports():
    return {SCHEMES}
"""


def test_import_kombu_loads_no_plugin_and_no_client():
    proc = run_python("""
        import sys
        import kombu
        bad = [m for m in ('kombu.plugins', 'pluggy', 'importlib.metadata', 'redis', 'amqp',
                           'kombu_redis', 'kombu_amqp', 'kombu.connection') if m in sys.modules]
        print(bad)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_public_names_load_only_what_their_import_needs():
    """The first line of every kombu program imports no kernel, codec, logging or socket."""
    proc = run_python("""
        import sys
        from kombu import Connection, Exchange, Queue, Producer, Consumer
        heavy = ('kombu.plugins', 'kombu.transport', 'pluggy', 'importlib.metadata',
                 'logging', 'socket', 'uuid', 'random', 'threading', 'pickle', 'json',
                 'zlib', 'bz2', 'lzma', 'inspect', 'dataclasses', 'kombu.utils.json')
        print([m for m in heavy if m in sys.modules])
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_discovery_happens_on_first_lookup_and_is_cached():
    registry = plugins.get_registry()
    assert not registry.loaded
    get_transport_cls("memory")
    assert registry.loaded
    state = registry.state
    get_transport_cls("filesystem")
    assert registry.state is state


def test_builtins_come_through_the_core_hookimpl():
    entries = plugins.get_registry().transports()
    assert entries["memory"].distribution == "kombu-core"
    assert entries["memory"].source == "builtin"
    assert get_transport_cls("memory").__module__ == "kombu.transport.memory"
    assert TRANSPORT_ALIASES["filesystem"] == "kombu.transport.filesystem:Transport"


def test_third_party_package_is_discovered_and_works():
    """tests/fixtures/kombu-demo-transport is pip-installed by scripts/test.py."""
    from kombu import Connection

    entry = plugins.get_registry().entry("demo")
    assert entry.distribution == "kombu-demo-transport"
    assert entry.version == "1.2.3"
    with Connection("demo://") as conn:
        assert type(conn.transport).__module__ == "kombu_demo_transport.transport"
        producer = conn.Producer()
        from kombu import Queue

        queue = Queue("demo-plugin-q", routing_key="demo-plugin-q")
        producer.publish({"via": "demo"}, routing_key="demo-plugin-q", declare=[queue],
                         serializer="reversed-json")
        message = queue(conn.default_channel).get(accept=["application/x-reversed-json"])
        assert message is not None
        assert message.content_type == "application/x-reversed-json"
        assert message.payload == {"via": "demo"}
        message.ack()


def test_kombu_module_path_answered_by_plugin():
    import kombu.transport.demo as demo_mod
    import kombu_demo_transport.transport as real

    assert demo_mod is real


def test_unknown_first_party_scheme_names_the_extra():
    proc = run_python("""
        from kombu import Connection
        try:
            Connection('redis://localhost:6379/0')
        except KeyError as exc:
            print(type(exc).__name__, exc)
    """, KOMBU_DISABLE_PLUGIN_AUTOLOAD="1")
    assert proc.returncode == 0, proc.stderr
    assert "TransportNotInstalled" in proc.stdout
    assert "pip install 'kombu-core[redis]'" in proc.stdout


def test_missing_plugin_module_path_import_error_names_extra():
    proc = run_python("""
        try:
            import kombu.transport.redis
        except ImportError as exc:
            print(type(exc).__name__, exc)
    """, KOMBU_DISABLE_PLUGIN_AUTOLOAD="1")
    assert proc.returncode == 0, proc.stderr
    assert "ModuleNotFoundError" in proc.stdout
    assert "pip install 'kombu-core[redis]'" in proc.stdout


def test_unknown_third_party_scheme_lists_installed():
    with pytest.raises(TransportNotInstalled) as excinfo:
        get_transport_cls("nosuchbroker")
    text = str(excinfo.value)
    assert "'nosuchbroker'" in text
    assert "memory" in text and "filesystem" in text
    assert isinstance(excinfo.value, KeyError)
    assert isinstance(excinfo.value, ImportError)


def test_autoload_disabled_then_manual_registration(monkeypatch):
    monkeypatch.setenv("KOMBU_DISABLE_PLUGIN_AUTOLOAD", "1")
    plugins.reset()
    with pytest.raises(TransportNotInstalled):
        get_transport_cls("demo")
    assert get_transport_cls("memory")  # built-ins still there
    import kombu_demo_transport

    registry = plugins.get_registry()
    registry.add_plugin(kombu_demo_transport, "kombu-demo-transport")
    try:
        assert get_transport_cls("demo").__name__ == "Transport"
    finally:
        registry.remove_plugin(kombu_demo_transport)


def test_failing_plugin_warns_with_distribution_and_rest_work(site):
    make_dist(site, "fakeplug-broken", "fakeplug_broken", "raise RuntimeError('boom')\n")
    plugins.reset()
    with pytest.warns(plugins.KombuPluginWarning, match="fakeplug-broken") as record:
        cls = get_transport_cls("memory")
    assert cls.__module__ == "kombu.transport.memory"
    assert "boom" in str(record[0].message)
    assert "fakeplug-broken" in plugins.get_registry().failed()


def test_two_plugins_claiming_one_scheme_warn_naming_both(site):
    body = PLUGIN_OK.replace("{SCHEMES}", "{'clash': 'kombu.transport.memory:Transport'}")
    make_dist(site, "fakeplug-one", "fakeplug_one", body)
    make_dist(site, "fakeplug-two", "fakeplug_two", body)
    plugins.reset()
    with pytest.warns(plugins.KombuPluginWarning) as record:
        get_transport_cls("clash")
    text = " ".join(str(w.message) for w in record)
    assert "fakeplug-one" in text and "fakeplug-two" in text


def test_plugin_overrides_builtin_and_explicit_overrides_plugin(site):
    body = PLUGIN_OK.replace("{SCHEMES}", "{'memory': 'kombu_demo_transport.transport:Transport'}")
    make_dist(site, "fakeplug-mem", "fakeplug_mem", body)
    plugins.reset()
    assert get_transport_cls("memory").__module__ == "kombu_demo_transport.transport"
    register_transport("memory", "kombu.transport.filesystem:Transport")
    try:
        assert get_transport_cls("memory").__module__ == "kombu.transport.filesystem"
    finally:
        unregister_transport("memory")
    assert get_transport_cls("memory").__module__ == "kombu_demo_transport.transport"


def test_incompatible_kernel_api_is_refused(site):
    body = 'KOMBU_PLUGIN_API = "2.0"\n' + PLUGIN_OK.replace(
        "{SCHEMES}", "{'future': 'kombu.transport.memory:Transport'}")
    make_dist(site, "fakeplug-future", "fakeplug_future", body)
    plugins.reset()
    with pytest.warns(plugins.KombuPluginWarning, match="kernel API 2.0"):
        with pytest.raises(TransportNotInstalled):
            get_transport_cls("future")


def test_transport_given_as_class_and_as_path():
    from kombu import Connection
    from kombu.transport.memory import Transport

    assert get_transport_cls(Transport) is Transport
    assert resolve_transport(Transport) is Transport
    assert get_transport_cls("kombu.transport.memory:Transport") is Transport
    assert get_transport_cls("kombu.transport.memory.Transport") is Transport
    with Connection(transport=Transport) as conn:
        assert isinstance(conn.transport, Transport)
    with Connection("memory://", transport="kombu.transport.memory:Transport") as conn:
        assert isinstance(conn.transport, Transport)
    with pytest.raises(TransportNotInstalled, match=r"no\.such\.module"):
        get_transport_cls("no.such.module:Transport")


def test_resolve_transport_returns_the_class_as_kombu_does():
    from kombu.transport.filesystem import Transport as FilesystemTransport
    from kombu.transport.memory import Transport

    for given in ("memory", "kombu.transport.memory:Transport",
                  "kombu.transport.memory.Transport", Transport):
        assert resolve_transport(given) is Transport
        assert get_transport_cls(given) is Transport
    assert resolve_transport("filesystem") is FilesystemTransport
    # what kombu users read off the result
    assert resolve_transport("memory").connection_errors == Transport.connection_errors
    demo = resolve_transport("demo")  # a third-party plugin's alias
    assert isinstance(demo, type) and demo.__module__ == "kombu_demo_transport.transport"


@pytest.mark.parametrize(("alias", "extra"), [("sqs", "sqs"), ("SQS", "sqs"),
                                              ("mongodb", "mongo"), ("zookeeper", "zk")])
def test_resolve_unknown_first_party_alias_is_a_key_error_naming_the_install(alias, extra,
                                                                            monkeypatch):
    monkeypatch.setenv("KOMBU_DISABLE_PLUGIN_AUTOLOAD", "1")  # as if not installed
    plugins.reset()
    try:
        for function in (resolve_transport, get_transport_cls):
            with pytest.raises(KeyError) as excinfo:
                function(alias)
            assert f"pip install 'kombu-core[{extra}]'" in str(excinfo.value)
    finally:
        monkeypatch.delenv("KOMBU_DISABLE_PLUGIN_AUTOLOAD")
        plugins.reset()


def test_resolve_unknown_alias_suggests_a_close_name():
    with pytest.raises(KeyError, match="Did you mean 'memory'"):
        resolve_transport("memroy")


def test_resolve_bad_path_says_what_failed():
    with pytest.raises(ImportError, match="no_such_module_xyz"):
        resolve_transport("no_such_module_xyz:Transport")
    with pytest.raises(ImportError, match="Nope"):
        resolve_transport("kombu.transport.memory:Nope")


def test_register_transport_and_aliases_mapping():
    register_transport("mymem", "kombu.transport.memory:Transport")
    try:
        assert "mymem" in TRANSPORT_ALIASES
        assert TRANSPORT_ALIASES["mymem"] == "kombu.transport.memory:Transport"
        from kombu.transport.memory import Transport

        assert resolve_transport("mymem") is Transport
        from kombu import Connection

        with Connection("mymem://") as conn:
            assert conn.transport.__class__.__module__ == "kombu.transport.memory"
    finally:
        del TRANSPORT_ALIASES["mymem"]
    assert "mymem" not in TRANSPORT_ALIASES


def test_plugin_codec_registered_on_first_lookup():
    from kombu import serialization

    content_type, encoding, data = serialization.dumps([1, 2], serializer="reversed-json")
    assert content_type == "application/x-reversed-json"
    assert serialization.loads(data, content_type, encoding,
                               accept=["application/x-reversed-json"]) == [1, 2]


def test_warns_not_at_import(site):
    make_dist(site, "fakeplug-late", "fakeplug_late", "raise ImportError('nope')\n")
    plugins.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import kombu  # noqa: F401  (already imported: no discovery happens)
    with pytest.warns(plugins.KombuPluginWarning, match="fakeplug-late"):
        plugins.get_registry().transports()


def test_failing_codec_hook_warns_naming_the_distribution_and_the_rest_work(site):
    body = """
        from kombu.plugins import hookimpl

        @hookimpl
        def kombu_transports():
            return {"badcodec": "kombu.transport.memory:Transport"}

        @hookimpl
        def kombu_serializers():
            raise RuntimeError("codec boom")
    """
    make_dist(site, "fakeplug-badcodec", "fakeplug_badcodec", body)
    plugins.reset()
    from kombu import serialization

    assert get_transport_cls("badcodec").__module__ == "kombu.transport.memory"
    with pytest.warns(plugins.KombuPluginWarning, match="fakeplug-badcodec.*codec boom"):
        specs = plugins.get_registry().serializers()
    assert {spec.name for spec, _ in specs} >= {"json", "pickle", "reversed-json"}
    assert serialization.dumps([1], serializer="json")[2] == "[1]"
