"""Incompatible plugins are stopped: by pip at install time (kombu-core range) and by
the kernel at load time (``KOMBU_PLUGIN_API``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PLUGIN_SOURCE = '''
from kombu.plugins import hookimpl

KOMBU_PLUGIN_API = "{api}"


@hookimpl
def kombu_transports():
    return {{"{scheme}": "kombu.transport.memory:Transport"}}
'''


def test_plugin_requiring_a_newer_core_fails_at_install(tmp_path: Path, wheelhouse: Any,
                                                        installed: Any, helpers: Any) -> None:
    venv, _ = installed("")
    before = venv.distributions()
    wheel = helpers.make_wheel(
        tmp_path, "acme-kombu-future", "1.0.0", module="acme_kombu_future",
        source=PLUGIN_SOURCE.format(api="1.0", scheme="future"),
        requires=["kombu-core>=99"], entry_points={"future": "acme_kombu_future"})
    proc, _ = venv.install(wheelhouse, str(wheel), check=False)
    assert proc.returncode != 0
    assert "kombu-core>=99" in proc.stdout + proc.stderr
    assert venv.distributions() == before  # nothing was installed or replaced
    assert venv.pip("check", check=False).returncode == 0


def test_plugin_built_for_another_kernel_api_is_refused_at_load(
        tmp_path: Path, wheelhouse: Any, make_venv: Any, helpers: Any) -> None:
    wheel = helpers.make_wheel(
        tmp_path, "acme-kombu-nextgen", "3.0.0", module="acme_kombu_nextgen",
        source=PLUGIN_SOURCE.format(api="2.0", scheme="nextgen"),
        requires=["kombu-core"], entry_points={"nextgen": "acme_kombu_nextgen"})
    venv = make_venv("api-mismatch")
    venv.install(wheelhouse, "kombu-core", str(wheel))
    assert "acme-kombu-nextgen" in venv.distributions()

    probe = venv.python_run("""
import json, warnings
from kombu.plugins import KombuPluginWarning
from kombu.transport import get_transport_cls
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    memory = get_transport_cls("memory").__module__
try:
    get_transport_cls("nextgen")
    nextgen = "resolved"
except Exception as exc:
    nextgen = f"{type(exc).__name__}: {exc}"
print(json.dumps({"memory": memory, "nextgen": nextgen, "warnings": [
    [w.category.__name__, issubclass(w.category, KombuPluginWarning), str(w.message)]
    for w in caught]}))
""")
    result = json.loads(probe.stdout)
    # The rest of kombu keeps working ...
    assert result["memory"] == "kombu.transport.memory"
    # ... the plugin is not loaded ...
    assert result["nextgen"].startswith("TransportNotInstalled"), result["nextgen"]
    # ... and one warning says which distribution, which API it wants, which we offer.
    [(category, is_plugin_warning, message)] = result["warnings"]
    assert is_plugin_warning, category
    assert "acme-kombu-nextgen" in message
    kernel = re.search(r"^KERNEL_API_VERSION\s*=\s*\((\d+),\s*(\d+)\)",
                       (helpers.ROOT / "kombu-core/src/kombu/plugins.py").read_text(), re.M)
    assert kernel is not None
    assert "2.0" in message and f"{kernel.group(1)}.{kernel.group(2)}" in message
    assert "kombu-core" in message
