"""The README's transport table is generated from the kit's stored results, and
``kombu transports --matrix`` prints the same table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kombu.cli import main as cli_main
from kombu.testing.matrix import COLUMNS, columns, render_matrix
from kombu.testing.results import build_run, fold, load_results, results_dir, write_results

ROOT = Path(__file__).resolve().parent.parent.parent


def _script() -> ModuleType:
    path = ROOT / "scripts" / "update_transport_table.py"
    spec = importlib.util.spec_from_file_location("update_transport_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_transport_table_is_current() -> None:
    script = _script()
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.START in text and script.END in text, (
        f"README.md must hold the generated table between {script.START} and {script.END}")
    assert script.replace_block(text, script.render_block()) == text, (
        "README.md's transport table is stale: run python scripts/update_transport_table.py")


def test_core_transports_have_stored_results() -> None:
    names = {run["transport"] for run in load_results()}
    assert {"memory", "filesystem"} <= names, f"stored in {results_dir()}: {sorted(names)}"


def test_cli_prints_the_matrix(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["transports", "--matrix", "--markdown", "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(render_matrix(markdown=True) + "\n")
    assert "| `memory` |" in out and "| `filesystem` |" in out


def test_matrix_renders_every_column_the_results_carry() -> None:
    basics = dict.fromkeys(COLUMNS[0][1], "pass")
    run = _run("new", {**basics, "fanout_across_connections": "pass", "zz_future": "fail"})
    headers = [name for name, _ in columns([run])]
    assert headers[:len(COLUMNS)] == [name for name, _ in COLUMNS]
    assert headers[len(COLUMNS):] == ["fanout across connections", "zz future"]
    table = render_matrix([run])
    header = next(line for line in table.splitlines() if line.startswith("| transport"))
    assert "| fanout across connections | zz future | measured |" in header
    text = render_matrix([run], markdown=False, width=60)
    rows = {line.split("  ")[0]: line.split()[-1] for line in text.splitlines()
            if line.startswith(("zz future", "basics"))}
    assert rows == {"basics": "yes", "zz future": "FAIL"}
    assert "failing checks: zz_future: test_zz_future" in " ".join(text.split())


def test_text_matrix_wraps_many_transports_into_blocks() -> None:
    basics = dict.fromkeys(COLUMNS[0][1], "pass")
    runs = [_run(f"transport-number-{i}", basics) for i in range(8)]
    text = render_matrix(runs, markdown=False, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    blocks = [line for line in text.splitlines() if line.lstrip().startswith("transport-")
              and line.startswith(" ")]
    assert len(blocks) > 1, "transports side by side in several blocks"
    shown = [name for line in blocks for name in line.split()]
    assert shown == [f"transport-number-{i}" for i in range(8)]


def _run(name: str, features: dict[str, str], dist: str = "kombu-x") -> dict[str, Any]:
    info = {"transport": name, "url": f"{name}://", "transport_class": "m:T",
            "distribution": dist, "distribution_version": "1.0", "implements": {}}
    checks = {f"test_{g}": {"group": g, "outcome": o} for g, o in features.items()}
    return build_run(info, checks)


def test_render_matrix_cells() -> None:
    basics = dict.fromkeys(COLUMNS[0][1], "pass")
    good = _run("good", {**basics, "topic": "pass", "priority": "not supported"})
    bad = _run("bad", {**basics, "connection": "fail", "topic": "fail"})
    table = render_matrix([bad, good])
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[3:-2]]
            for line in table.splitlines() if line.startswith("| `")}
    headers = [name for name, _ in COLUMNS]
    good_row = dict(zip(headers, rows["`good`"], strict=True))
    bad_row = dict(zip(headers, rows["`bad`"], strict=True))
    assert good_row["basics"] == "yes" and good_row["topic"] == "yes"
    assert good_row["priority"] == "no" and good_row["headers"] == "?"
    assert bad_row["basics"] == "**FAIL**" and bad_row["topic"] == "**FAIL**"
    assert list(rows) == ["`bad`", "`good`"]


def test_render_matrix_without_results(tmp_path: Path) -> None:
    assert "No conformance results" in render_matrix(directory=tmp_path)


def test_fold() -> None:
    assert fold(["pass", "fail"]) == "fail"
    assert fold(["pass", "not supported"]) == "pass"
    assert fold(["not supported", "skipped"]) == "not supported"
    assert fold(["skipped"]) == "skipped"


def test_write_results_file_or_directory(tmp_path: Path) -> None:
    runs = {"a": _run("a", {"topic": "pass"}), "b": _run("b", {"topic": "fail"})}
    with pytest.raises(ValueError, match="give a directory"):
        write_results(tmp_path / "one.json", runs)
    written = write_results(f"{tmp_path}/out/", runs)
    assert sorted(p.name for p in written) == ["a.json", "b.json"]
    assert json.loads((tmp_path / "out" / "b.json").read_text())["features"] == {"topic": "fail"}
    assert [r["transport"] for r in load_results(tmp_path / "out")] == ["a", "b"]


def test_script_replace_block() -> None:
    script = _script()
    text = f"intro\n{script.START}\nold\n{script.END}\noutro\n"
    assert script.replace_block(text, "NEW") == "intro\nNEW\noutro\n"
    with pytest.raises(ValueError):
        script.replace_block("no markers", "NEW")


def test_transport_info_names_the_database_of_a_prefixed_url() -> None:
    """sqla+sqlite:// and sqla+postgresql:// are stored as two rows, not one 'sqla'."""
    from kombu import Connection
    from kombu.testing.results import transport_info
    from kombu.transport import register_transport, unregister_transport

    register_transport("sqlfake", "kombu.transport.memory:Transport")
    try:
        info = transport_info(Connection("sqlfake+postgresql+psycopg://u:pw@db/test"))
        assert info["transport"] == "sqlfake+postgresql"
        assert "pw" not in info["url"]
        assert transport_info(Connection("memory://"))["transport"] == "memory"
    finally:
        unregister_transport("sqlfake")
