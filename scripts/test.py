#!/usr/bin/env python3
"""Set up a virtualenv, start the services the tests need, and run every test group.

    python3 scripts/test.py                 # everything (what CI runs)
    python3 scripts/test.py core redis      # only these groups
    python3 scripts/test.py --list          # the groups and the services each needs
    python3 scripts/test.py --no-install core -- -x -k publish

A group is a folder of tests/ (tests/core is kombu-core's); its SERVICES file
names the services it needs (redis, rabbitmq, postgres, ...), which
scripts/services.sh starts in the background while the other groups already
run.  A group whose service cannot be started or reached is skipped with one
line, or fails the run under CI=true; the other groups run either way.

Groups run in parallel (KOMBU_TEST_JOBS, default 3), each in its own pytest
process logging to .ci-logs/<group>.log, longest first by the durations of
the last run (.ci-logs/durations.json; a group never timed goes first).  On a
terminal each running group has a live line (tests done, failures so far);
each group's result is printed when it ends, and a table of every group with
its duration closes the run, then one line ``N passed, N failed``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("KOMBU_TEST_VENV", ROOT / ".venv"))
PY = VENV / "bin" / "python"
LOGS = Path(os.environ.get("KOMBU_TEST_LOGS", ROOT / ".ci-logs"))
DURATIONS = LOGS / "durations.json"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: The longest a service may take to come up (scripts/services.sh waits less).
SERVICE_DEADLINE = 300
#: How long the first groups wait for services that are already up to be confirmed.
SETTLE = 3.0


@dataclass
class Group:
    name: str
    paths: list[str]
    services: list[str]
    status: str = "pending"  # pending, running, passed, failed, skipped
    reason: str = ""
    code: int | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0


def discover() -> dict[str, Group]:
    """Each tests/ folder holding test modules, ``core`` first."""
    groups: dict[str, Group] = {}
    folders = sorted((ROOT / "tests").iterdir(), key=lambda p: (p.name != "core", p.name))
    for path in folders:
        if not path.is_dir() or path.name in ("__pycache__", "fixtures"):
            continue
        if not any(path.glob("test_*.py")):
            continue
        services_file = path / "SERVICES"
        services = services_file.read_text().split() if services_file.exists() else []
        groups[path.name] = Group(path.name, [str(path.relative_to(ROOT))], services)
    return groups


def load_durations() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}


def save_durations(groups: list[Group]) -> None:
    durations = load_durations()
    durations.update({g.name: round(g.seconds, 1) for g in groups if g.code is not None})
    LOGS.mkdir(parents=True, exist_ok=True)
    DURATIONS.write_text(json.dumps(durations, indent=2, sort_keys=True) + "\n")


def schedule(groups: list[Group], durations: dict[str, float]) -> list[Group]:
    """Longest first by the last run's durations; a group never timed goes first."""
    return sorted(groups, key=lambda g: (-durations.get(g.name, math.inf), g.name))


class InstallError(Exception):
    pass


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    code = subprocess.run(cmd, cwd=ROOT).returncode
    if code:
        raise InstallError(f"{' '.join(cmd)} exited with status {code}")


def install() -> None:
    if not PY.exists():
        run([sys.executable, "-m", "venv", str(VENV)])
        run([str(PY), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "-r", "requirements/test.txt"])
    # The core first: plugins and fixtures then find their kombu-core requirement
    # satisfied by it instead of looking for it on the package index.
    run([*pip, "-e", "./kombu-core[msgpack,yaml,brotli,zstd]"])
    targets: list[str] = []
    for plugin in sorted((ROOT / "plugins").glob("kombu-*")):
        if (plugin / "pyproject.toml").exists():
            targets += ["-e", str(plugin.relative_to(ROOT))]
    for fixture in sorted((ROOT / "tests" / "fixtures").glob("*/pyproject.toml")):
        targets += [str(fixture.parent.relative_to(ROOT))]
    if targets:
        run([*pip, *targets])
    celery = ROOT / "requirements" / "celery.txt"
    if celery.exists():  # Celery itself without its kombu dependency
        run([*pip, "--no-deps", "-r", str(celery.relative_to(ROOT))])


class Services:
    """Each service started once, in the background, by scripts/services.sh.

    A service is missing when the script fails for it: not reachable and it
    could not be started, or it did not come up in time.
    """

    def __init__(self, names: set[str]) -> None:
        self.result: dict[str, tuple[bool, str] | None] = dict.fromkeys(sorted(names))
        self.lock = threading.Lock()

    def start(self) -> None:
        for name in self.result:
            threading.Thread(target=self._start, args=(name,), daemon=True).start()

    def _start(self, name: str) -> None:
        try:
            proc = subprocess.run(["bash", "scripts/services.sh", name], cwd=ROOT,
                                  capture_output=True, text=True, timeout=SERVICE_DEADLINE)
            said = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
            reason = said[-1].removeprefix("services: ") if said else \
                f"{name}: services.sh exited with {proc.returncode}"
            outcome = (proc.returncode == 0, reason)
        except subprocess.TimeoutExpired:
            outcome = (False, f"{name} did not come up in {SERVICE_DEADLINE}s")
        with self.lock:
            self.result[name] = outcome

    def state(self, names: list[str]) -> tuple[bool, list[str]]:
        """(all settled, reasons of the missing ones)."""
        with self.lock:
            results = [self.result[n] for n in names]
        missing = [r[1] for r in results if r is not None and not r[0]]
        return all(r is not None for r in results), missing

    def starting(self) -> list[str]:
        with self.lock:
            return [n for n, r in self.result.items() if r is None]

    def missing(self) -> list[str]:
        with self.lock:
            return sorted(n for n, r in self.result.items() if r is not None and not r[0])


# -- pytest output ---------------------------------------------------------------------

PROGRESS_LINE = re.compile(r"^[.FEsxX]+(\s+\[\s*\d+%\])?\s*$")
PROGRESS_CHARS = re.compile(r"[.FEsxX]")
SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def progress(output: str) -> tuple[int, int]:
    """(tests done, failures so far) from pytest -q's progress characters."""
    done = failed = 0
    for line in output.splitlines()[1:]:  # the first line is the command
        if line.startswith("="):
            break
        if PROGRESS_LINE.match(line):
            marks = PROGRESS_CHARS.findall(line.split("[", 1)[0])
            done += len(marks)
            failed += sum(m in "FE" for m in marks)
    return done, failed


def tally(output: str) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    lines = [ln for ln in output.splitlines() if ln.startswith("=") or " in " in ln]
    for line in lines[-3:]:
        for num, word in SUMMARY.findall(line):
            key = "error" if word.startswith("error") else word
            if key in counts:
                counts[key] = int(num)
    return counts


def report_tail(output: str) -> str:
    """What to show of a finished group: everything but the command and progress lines."""
    lines = output.splitlines()[1:]
    return "\n".join(line for line in lines if not PROGRESS_LINE.match(line)).strip()


def clock(seconds: float) -> str:
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts.get(k, 0)} {k}" for k in ("passed", "failed", "error", "skipped")
             if counts.get(k)]
    return ", ".join(parts) or "no tests"


# -- the run ---------------------------------------------------------------------------


class Display:
    """Permanent lines, plus (on a terminal) live lines redrawn below them."""

    def __init__(self, stream: IO[str], live: bool) -> None:
        self.stream = stream
        self.live = live
        self.drawn = 0
        self.shown: list[str] = []

    def _clear(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0

    def say(self, text: str) -> None:
        self._clear()
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def draw(self, lines: list[str]) -> None:
        if not self.live or (lines == self.shown and self.drawn == len(lines)):
            return
        self.shown = lines
        width = shutil.get_terminal_size().columns
        self._clear()
        for line in lines:
            self.stream.write(line[: max(width - 1, 10)] + "\n")
        self.drawn = len(lines)
        self.stream.flush()


class Runner:
    def __init__(self, groups: list[Group], extra: list[str], jobs: int,
                 durations: dict[str, float], display: Display) -> None:
        self.pending = list(groups)
        self.extra = extra
        self.jobs = max(1, jobs)
        self.durations = durations
        self.display = display
        self.running: list[Group] = []
        self.services = Services({s for g in groups for s in g.services})

    def launch(self, group: Group) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        cmd = [str(PY), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-ra",
               "--timeout=300", *group.paths, *self.extra]
        log = (LOGS / f"{group.name}.log").open("w")
        log.write("+ " + " ".join(cmd) + "\n")
        log.flush()
        group.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                      env=dict(os.environ, PYTHONUNBUFFERED="1"))
        log.close()
        group.status, group.started = "running", time.monotonic()
        self.running.append(group)
        last = self.durations.get(group.name)
        was = f" (last run {clock(last)})" if last is not None else ""
        if not self.display.live:
            self.display.say(f"started group {group.name}{was}")

    def finish(self, group: Group, code: int) -> None:
        group.code = code
        group.seconds = time.monotonic() - group.started
        output = (LOGS / f"{group.name}.log").read_text(errors="replace")
        group.counts = tally(output)
        group.status = "passed" if code == 0 else "failed"
        self.running.remove(group)
        result = "passed" if code == 0 else f"FAILED (exit {code})"
        log = LOGS / f"{group.name}.log"
        shown = log.relative_to(ROOT) if log.is_relative_to(ROOT) else log
        self.display.say(f"\n======== group {group.name}: {result} in {clock(group.seconds)} "
                         f"({counts_text(group.counts)}); log {shown} ========\n"
                         f"{report_tail(output)}")

    def skip(self, group: Group, missing: list[str]) -> None:
        group.reason = "; ".join(missing)
        self.pending.remove(group)
        if IN_CI:
            group.status = "failed"
            self.display.say(f"group {group.name}: FAILED, missing service (CI=true): "
                             f"{group.reason}")
        else:
            group.status = "skipped"
            self.display.say(f"group {group.name}: skipped, missing service: {group.reason} "
                             f"(with CI=true this fails the run)")

    def step(self) -> None:
        for group in list(self.running):
            assert group.proc is not None
            code = group.proc.poll()
            if code is not None:
                self.finish(group, code)
        for group in list(self.pending):
            settled, missing = self.services.state(group.services)
            if missing:
                self.skip(group, missing)
            elif settled and len(self.running) < self.jobs:
                self.pending.remove(group)
                self.launch(group)
        self.display.draw(self.live_lines())

    def live_lines(self) -> list[str]:
        lines = []
        for group in self.running:
            done, failed = progress((LOGS / f"{group.name}.log").read_text(errors="replace"))
            last = self.durations.get(group.name)
            was = f" of ~{clock(last)}" if last is not None else ""
            lines.append(f"  {group.name:<14} {done:>5} tests done, {failed} failed  "
                         f"{clock(time.monotonic() - group.started)}{was}")
        waiting = [g for g in self.pending if not self.services.state(g.services)[0]]
        if waiting:
            starting = sorted(self.services.starting())
            lines.append(f"  {', '.join(g.name for g in waiting)}: waiting for "
                         f"{', '.join(starting)} to start")
        return lines

    def run(self) -> None:
        self.services.start()
        # Services already running answer within milliseconds: give them a moment so
        # the longest groups that need them are not overtaken by shorter ones.
        deadline = time.monotonic() + SETTLE
        while self.services.starting() and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            while self.pending or self.running:
                self.step()
                time.sleep(0.2)
        finally:
            for group in self.running:  # interrupted: stop our own pytest processes
                assert group.proc is not None
                group.proc.terminate()
                group.proc.wait()
                group.status, group.reason = "failed", "interrupted"
            self.display.draw([])


def summary(groups: list[Group], missing_services: list[str]) -> tuple[str, int]:
    lines = ["", "======== summary ========",
             f"{'group':<14} {'result':<8} {'time':>6}  tests"]
    for g in sorted(groups, key=lambda g: -g.seconds):
        if g.status in ("passed", "failed") and g.code is not None:
            lines.append(f"{g.name:<14} {g.status:<8} {clock(g.seconds):>6}  "
                         f"{counts_text(g.counts)}")
        else:
            lines.append(f"{g.name:<14} {g.status:<8} {'-':>6}  {g.reason}")
    totals = {k: sum(g.counts.get(k, 0) for g in groups)
              for k in ("passed", "failed", "error", "skipped")}
    bad = [g for g in groups if g.status == "failed"]
    failed = totals["failed"] + totals["error"]
    if bad and not failed:
        failed = len(bad)
    line = f"{totals['passed']} passed, {failed} failed"
    if totals["skipped"]:
        line += f", {totals['skipped']} skipped"
    skipped = [g.name for g in groups if g.status == "skipped"]
    if skipped:
        line += f"; groups skipped for missing services: {', '.join(skipped)}"
    if missing_services and IN_CI:
        lines.append(f"CI=true: missing services fail the run: {', '.join(missing_services)}")
    if bad:
        lines.append("failing groups: " + ", ".join(g.name for g in bad))
    lines.append(line)
    return "\n".join(lines), 1 if bad else 0


def main() -> int:
    groups = discover()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("groups", nargs="*", help="groups to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument("--no-install", action="store_true", help="skip pip install")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("KOMBU_TEST_JOBS", 3)))
    argv = sys.argv[1:]
    extra: list[str] = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[: argv.index("--")]
    ns = parser.parse_args(argv)
    if ns.list:
        for group in groups.values():
            print(f"{group.name:<16} {' '.join(group.paths):<40} {' '.join(group.services)}")
        return 0
    unknown = [g for g in ns.groups if g not in groups]
    if unknown:
        parser.error(f"unknown group(s) {unknown}; see --list")
    if not ns.no_install:
        try:
            install()
        except InstallError as exc:
            print(f"test.py: installing the test environment failed: {exc}", file=sys.stderr)
            return 2
    durations = load_durations()
    selected = schedule([groups[g] for g in ns.groups or groups], durations)
    display = Display(sys.stdout, live=sys.stdout.isatty())
    runner = Runner(selected, extra, ns.jobs, durations, display)
    interrupted = False
    try:
        runner.run()
    except KeyboardInterrupt:
        interrupted = True
    save_durations(selected)
    text, status = summary(selected, runner.services.missing())
    print(text, flush=True)
    if interrupted:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
