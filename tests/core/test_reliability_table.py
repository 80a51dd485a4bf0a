"""The README's reliability table is generated from the fault suite's stored counts,
and ``kombu transports --reliability`` prints the same table."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from kombu.cli import main as cli_main
from kombu.testing.faults.table import load_fault_results, render_reliability

ROOT = Path(__file__).resolve().parent.parent.parent


def _script() -> ModuleType:
    path = ROOT / "scripts" / "update_reliability_table.py"
    spec = importlib.util.spec_from_file_location("update_reliability_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_reliability_table_is_current() -> None:
    script = _script()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.START in text and script.END in text
    assert script.replace_block(text, script.render_block()) == text, (
        "README.md's reliability table is stale: run python scripts/update_reliability_table.py")


def test_every_target_has_stored_fault_results() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from kit_targets import TARGETS

    stored = {r["transport"] for r in load_fault_results()}
    assert set(TARGETS) <= stored, f"missing: {sorted(set(TARGETS) - stored)}"


def test_cli_prints_the_reliability_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["transports", "--reliability", "--markdown", "--all"]) == 0
    assert capsys.readouterr().out.startswith(render_reliability(markdown=True))
    assert cli_main(["transports", "--reliability", "--all"]) == 0
    out = capsys.readouterr().out
    assert "consumer SIGKILLed" in out and "lost" in out
