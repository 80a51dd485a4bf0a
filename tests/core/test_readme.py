"""The README's quickstart runs as written, and its commands match what exists."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_quickstart_runs_as_written():
    quickstart = next(b for b in python_blocks() if "process_media" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(quickstart, "README.md", "exec"), {"__name__": "readme"})
    assert "'name': '/tmp/lolcat1.avi'" in out.getvalue()


def test_readme_commands_exist():
    assert "python3 scripts/test.py" in README
    assert (ROOT / "scripts" / "test.py").exists()
    assert "python3 scripts/test.py" in (ROOT / ".ci" / "run").read_text()


def test_aio_example_runs_as_written():
    example = next(b for b in python_blocks() if "kombu.aio" in b and "class App" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {"__name__": "readme"})
    assert "{'queued': 1}" in out.getvalue()
    assert "done {'n': 1}" in out.getvalue()
