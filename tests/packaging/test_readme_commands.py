"""The README's commands, run exactly as written, in fresh virtualenvs.

The Install lines run from this checkout (the packages are not on any
index, so plugins install from their folders).  The "Two commands" section
runs in a copy of the checkout, as a new user would: make ``.venv``, publish
and consume with the ``kombu`` command, list the test groups, run one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
TIMEOUT = 900


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """``(info string, body)`` of each fenced code block in ``text``."""
    blocks, info, body = [], None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if info is None:
                info, body = line[3:].strip(), []
            else:
                blocks.append((info, "\n".join(body)))
                info = None
        elif info is not None:
            body.append(line)
    return blocks


def sh_lines(text: str, alternatives: bool = False) -> list[str]:
    """The commands of the ```sh blocks in ``text`` (comments stripped).

    With ``alternatives``, a comment ``# or: <command>`` counts as a command too.
    """
    lines = []
    for info, block in fenced_blocks(text):
        if info != "sh":
            continue
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                lines.append(command.strip())
            if alternatives and comment.strip().startswith("or:"):
                lines.append(comment.strip()[3:].strip())
    return lines


INSTALL_LINES = sh_lines(section("Install"))
TWO_COMMANDS = sh_lines(section("Two commands"))


def shell(command: str, cwd: Path, env: dict[str, str],
          timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as written, through the shell, as a user would type it."""
    proc = subprocess.run(["sh", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (f"{command!r} exited {proc.returncode}:\n"
                                  f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


PROBE = """
import json
from kombu import Connection
from kombu.serialization import registry
from kombu.transport import get_transport_cls
out = {}
with Connection("memory://") as conn:
    queue = conn.SimpleQueue("readme-install")
    queue.put({"ok": True})
    out["memory"] = queue.get(timeout=1).payload
for scheme in ("redis", "amqp"):
    try:
        out[scheme] = get_transport_cls(scheme).__module__
    except Exception as exc:
        out[scheme] = type(exc).__name__
for codec in ("msgpack", "yaml"):
    try:
        registry.enable(codec)
        ctype, enc, data = registry.dumps({"a": 1}, serializer=codec)
        out[codec] = registry.loads(data, ctype, enc, accept=[ctype]) == {"a": 1}
    except Exception as exc:
        out[codec] = type(exc).__name__
print(json.dumps(out))
"""


def test_install_section_shows_clone_lines_and_their_released_form() -> None:
    assert INSTALL_LINES == [
        "pip install ./kombu-core",
        "pip install ./kombu-core ./plugins/kombu-redis",
        "pip install ./kombu-core ./plugins/kombu-amqp",
        "pip install './kombu-core[msgpack,yaml]'",
    ]
    install = section("Install")
    for released in ("pip install kombu-core", "pip install 'kombu-core[redis]'",
                     "pip install 'kombu-core[amqp]'"):
        assert f"`{released}`" in install


@pytest.mark.parametrize("line", INSTALL_LINES)
def test_install_line_works_from_a_clone(line: str, make_venv: Callable[[str], Any],
                                         helpers: Any) -> None:
    venv = make_venv("readme-" + re.sub(r"\W+", "-", line).strip("-"))
    env = helpers.clean_env(PATH=f"{venv.path / 'bin'}{os.pathsep}{os.environ['PATH']}",
                            VIRTUAL_ENV=str(venv.path))
    shell(line, ROOT, env)
    result = json.loads(venv.python_run(PROBE).stdout)
    assert result["memory"] == {"ok": True}
    for scheme in ("redis", "amqp"):
        if f"./plugins/kombu-{scheme}" in line:
            assert result[scheme].startswith(f"kombu_{scheme}."), result
        else:
            assert result[scheme] == "TransportNotInstalled", result
    extras = re.search(r"\[([\w,]+)\]", line)
    for codec in ("msgpack", "yaml"):
        if extras and codec in extras.group(1).split(","):
            assert result[codec] is True, result
        else:
            assert result[codec] != True, result  # noqa: E712 - not installed: an error name


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this checkout as git would hand it out (tracked and new files)."""
    dest = tmp_path_factory.mktemp("readme") / "kombu-core-clone"
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                             "--exclude-standard"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return dest


@pytest.mark.timeout(1200)  # a fresh clone's install, the lint group and a benchmark
def test_two_commands_run_as_written_in_a_fresh_clone(clone: Path, helpers: Any,
                                                      tmp_path: Path) -> None:
    setup_and_run, run_tests = TWO_COMMANDS
    assert setup_and_run.startswith("python3 -m venv .venv && ")
    assert run_tests == "python3 scripts/test.py"
    env = helpers.clean_env(XDG_DATA_HOME=str(tmp_path / "data"))
    env.pop("CI", None)
    done = shell(setup_and_run, clone, env)
    assert "Hello, world" in done.stdout
    # What the prose beside the block names: list the groups, run one.
    prose = section("Two commands")
    for command in ("python3 scripts/test.py --list", "python3 scripts/test.py lint"):
        assert f"`{command}`" in prose
    listed = shell("python3 scripts/test.py --list", clone, env)
    assert {line.split()[0] for line in listed.stdout.splitlines()} >= {"core", "lint",
                                                                         "packaging"}
    ran = shell("python3 scripts/test.py lint", clone, env)
    assert re.search(r"\d+ passed, 0 failed", ran.stdout), ran.stdout[-2000:]
    # ``python3 scripts/test.py`` itself is what CI runs on every change.
    assert "python3 scripts/test.py\n" in (ROOT / ".ci" / "run").read_text()

    # The developer commands of the other sections, with that .venv active.
    active = dict(env, VIRTUAL_ENV=str(clone / ".venv"),
                  PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{env['PATH']}")
    assert "memory" in shell("kombu transports", clone, active).stdout
    matrix = shell("kombu transports --matrix", clone, active).stdout
    assert "transport" in matrix and "memory" in matrix, matrix
    assert "| transport |" in shell("kombu transports --matrix --markdown --all", clone,
                                    active).stdout
    assert "usage" in shell("kombu --help", clone, active).stdout.lower()
    assert "lost" in shell("kombu transports --reliability", clone, active).stdout
    assert "| transport |" in shell("kombu transports --reliability --markdown", clone,
                                    active).stdout
    reliability = (clone / "README.md").read_text()
    shell("python3 scripts/update_reliability_table.py", clone, active)
    assert (clone / "README.md").read_text() == reliability  # the stored table is current
    assert "kombu-core" in shell("kombu --version", clone, active).stdout
    readme = (clone / "README.md").read_text()
    shell("python3 scripts/update_transport_table.py", clone, active)
    assert (clone / "README.md").read_text() == readme  # the stored table is current
    # The benchmark runs and prints both figures; whether this loaded machine
    # meets its speed targets (exit 1, "MISSED") is the benchmark's business.
    bench = subprocess.run(["sh", "-c", "python benchmarks/bench_memory.py"], cwd=clone,
                           env=active, capture_output=True, text=True, timeout=TIMEOUT)
    assert "publish/s" in bench.stdout and "consume/s" in bench.stdout, bench.stderr
    assert bench.returncode == 0 or (bench.returncode == 1 and "MISSED" in bench.stdout)


NEW_TRANSPORT = "python3 scripts/new_transport.py acme-kombu-foo"


def test_new_transport_example_runs_as_written_in_a_clone(clone: Path, helpers: Any) -> None:
    """The transport authors' paragraph: the generator, with the README's example name.

    It writes into the clone's root, as it would for a new user; the folder is
    removed afterwards so the clone stays a copy of the checkout.
    """
    prose = " ".join(section("How plugins are found").split())
    assert f"`{NEW_TRANSPORT}` writes `acme-kombu-foo/`" in prose
    assert "`foo://` transport" in prose
    target = clone / "acme-kombu-foo"
    assert not target.exists()
    try:
        done = shell(NEW_TRANSPORT, clone, helpers.clean_env())
        assert f"created {target} (scheme foo://, package acme_kombu_foo)" in done.stdout
        files = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
        assert {"pyproject.toml", "src/acme_kombu_foo/transport.py",
                "src/acme_kombu_foo/storage.py"} <= files, files
        assert 'name = "acme-kombu-foo"' in (target / "pyproject.toml").read_text()
    finally:
        shutil.rmtree(target, ignore_errors=True)


#: Every command the README shows, and who runs it exactly as written.
RUN_HERE = {*INSTALL_LINES, TWO_COMMANDS[0], "python3 scripts/test.py --list",
            "python3 scripts/test.py lint", "kombu transports", "kombu transports --matrix",
            "kombu transports --matrix --markdown --all", "kombu --help", "kombu --version",
            "kombu transports --reliability", "kombu transports --reliability --markdown",
            "python3 scripts/update_reliability_table.py",
            "python3 scripts/update_transport_table.py", "python benchmarks/bench_memory.py",
            NEW_TRANSPORT,
            # test_release.py runs the Releases example, as written, in a git clone.
            "python3 scripts/release.py kombu-redis 0.2.0 --dry-run"}
RUN_BY_CI = {"python3 scripts/test.py"}  # .ci/run: CI runs the whole suite with it


def readme_commands() -> set[str]:
    """Every command in the README: ```sh lines, the `kombu` synopsis, inline commands.

    Synopses with placeholders (``URL``, ``QUEUE``, ``<extra>``) and the
    released column of the Install table are not commands to run from a clone.
    """
    commands = set(sh_lines(README, alternatives=True))
    for info, block in fenced_blocks(README):
        if not info:
            commands.update(re.split(r"\s{2,}", line.strip())[0]
                            for line in block.splitlines() if line.startswith("kombu "))
    released = set(re.findall(r"^\|[^|]*\| `([^`]+)` \|$", section("Install"), re.M))
    for span in re.findall(r"`([^`\n]+)`", README):
        if re.match(r"(python3?|pip|nox|kombu|pytest) ", span) and span not in released:
            commands.add(span)
    return {c for c in commands if not re.search(r"<|\[[A-Z]|\b[A-Z]{3,}\b", c)}


def test_every_readme_command_is_run_as_written_somewhere() -> None:
    found = readme_commands()
    assert found >= RUN_HERE | RUN_BY_CI, "a command run here left the README"
    unrun = found - RUN_HERE - RUN_BY_CI
    assert not unrun, f"README commands no test runs as written: {sorted(unrun)}"
