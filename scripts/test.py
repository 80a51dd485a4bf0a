#!/usr/bin/env python3
"""Set up a virtualenv, start the services the tests need, and run every test group.

    python3 scripts/test.py                 # everything (what CI runs)
    python3 scripts/test.py core redis      # only these groups
    python3 scripts/test.py --list          # the groups
    python3 scripts/test.py --no-install core -- -x -k publish

Groups run in parallel (``KOMBU_TEST_JOBS``, default 3), each in its own
pytest process; the output of each is printed when it ends, then one closing
line ``N passed, N failed``.  With ``CI=true`` a broker that is not reachable
fails its tests instead of skipping them.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("KOMBU_TEST_VENV", ROOT / ".venv"))
PY = VENV / "bin" / "python"
LOGS = ROOT / ".ci-logs"

#: name -> (pytest arguments, services it needs)
GROUPS: dict[str, tuple[list[str], list[str]]] = {
    "core": (["tests/core"], []),
}


def _discover_groups() -> None:
    """Plugin and extra test folders add their own groups."""
    for path in sorted((ROOT / "tests").iterdir()):
        if not path.is_dir() or path.name in ("core", "__pycache__", "fixtures"):
            continue
        if not any(path.glob("test_*.py")):
            continue
        services_file = path / "SERVICES"
        services = services_file.read_text().split() if services_file.exists() else []
        GROUPS[path.name] = ([str(path.relative_to(ROOT))], services)


def run(cmd: list[str], **kwargs: object) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


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


def start_services(names: set[str]) -> None:
    if names:
        run(["bash", "scripts/services.sh", *sorted(names)])


def run_group(name: str, extra: list[str]) -> tuple[str, int, str, float]:
    args, _ = GROUPS[name]
    LOGS.mkdir(exist_ok=True)
    log = LOGS / f"{name}.log"
    started = time.monotonic()
    cmd = [str(PY), "-m", "pytest", "-p", "no:cacheprovider", "-q", "-ra",
           "--timeout=300", *args, *extra]
    with log.open("w") as fh:
        fh.write("+ " + " ".join(cmd) + "\n")
        fh.flush()
        code = subprocess.run(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                              env=dict(os.environ, PYTHONUNBUFFERED="1")).returncode
    return name, code, log.read_text(), time.monotonic() - started


SUMMARY = re.compile(r"(\d+) (passed|failed|errors?|skipped)")


def tally(output: str) -> dict[str, int]:
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    lines = [ln for ln in output.splitlines() if ln.startswith("=") or " in " in ln]
    for line in lines[-3:]:
        for num, word in SUMMARY.findall(line):
            key = "error" if word.startswith("error") else word
            counts[key] = int(num)
    return counts


def main() -> int:
    _discover_groups()
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
        for name, (args, services) in GROUPS.items():
            print(f"{name:<16} {' '.join(args):<40} {' '.join(services)}")
        return 0
    unknown = [g for g in ns.groups if g not in GROUPS]
    if unknown:
        parser.error(f"unknown group(s) {unknown}; see --list")
    groups = ns.groups or list(GROUPS)
    if not ns.no_install:
        install()
    start_services({s for g in groups for s in GROUPS[g][1]})

    totals = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    bad: list[str] = []
    # Longest groups first so the pool drains evenly.
    with ThreadPoolExecutor(max_workers=max(1, ns.jobs)) as pool:
        futures = [pool.submit(run_group, g, extra) for g in groups]
        for fut in futures:
            name, code, output, secs = fut.result()
            print(f"\n======== group {name}: exit {code} in {secs:.0f}s ========")
            print(output.rstrip())
            counts = tally(output)
            for key in totals:
                totals[key] += counts[key]
            if code != 0:
                bad.append(f"{name} (exit {code})")
    print("\n======== summary ========")
    if bad:
        print("failing groups: " + ", ".join(bad))
    failed = totals["failed"] + totals["error"]
    if bad and not failed:
        failed = len(bad)
    line = f"{totals['passed']} passed, {failed} failed"
    if totals["skipped"]:
        line += f", {totals['skipped']} skipped"
    print(line)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
