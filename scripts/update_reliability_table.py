#!/usr/bin/env python3
"""Regenerate the README's reliability table from the fault suite's stored results.

    python scripts/update_reliability_table.py                   # rewrite README.md's table
    python scripts/update_reliability_table.py --check           # exit 1 if it is stale
    python scripts/update_reliability_table.py --print           # print the block only
    python scripts/update_reliability_table.py --measure         # rerun the fault suite first
    python scripts/update_reliability_table.py --measure-leases  # and the 10-minute lease run

``--measure`` runs ``pytest -p kombu.testing.faults`` against every target of
scripts/kit_targets.py (in parallel), storing the counts in
kombu-core/src/kombu/testing/faults/results/<transport>.json; ``--measure-leases``
measures each transport's default lease (``tests/leases``) into ``leases.json``
there.  The table sits in README.md between ``<!-- reliability-table:start -->``
and ``<!-- reliability-table:end -->``.  Run it with the development virtualenv's
Python.
"""

from __future__ import annotations

import argparse
import difflib
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- reliability-table:start -->"
END = "<!-- reliability-table:end -->"
REGENERATE = ("This table is `kombu transports --reliability --markdown`; "
              "`python3 scripts/update_reliability_table.py` rewrites it from the stored "
              "results (with `--measure`, after measuring every transport again).")


def render_block() -> str:
    from kombu.testing.faults.table import render_reliability

    return f"{START}\n{render_reliability(markdown=True)}\n\n{REGENERATE}\n{END}"


def replace_block(text: str, block: str) -> str:
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return text[:start] + block + text[end + len(END):]


def measure() -> int:
    from fault_runs import run_fault_suites
    from kit_targets import TARGETS

    from kombu.testing.faults.table import fault_results_dir

    runs = run_fault_suites(list(TARGETS), fault_results_dir())
    for name, run in runs.items():
        print(f"{name}: exit {run['exit']} in {run['seconds']:.0f} s")
    return sum(run["exit"] != 0 for run in runs.values())


def measure_leases() -> int:
    from kombu.testing.faults.table import LEASES_FILE, fault_results_dir

    out = ROOT / ".ci-logs" / "leases.json"
    code = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-s", "tests/leases", "-o", f"cache_dir={ROOT / '.ci-logs'}"],
                          cwd=ROOT, env={**__import__("os").environ,
                                         "KOMBU_LEASE_RESULTS": str(out)}).returncode
    if out.exists():
        (fault_results_dir() / LEASES_FILE).write_text(
            json.dumps(json.loads(out.read_text()), indent=2, sort_keys=True) + "\n")
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--print", action="store_true", dest="print_only")
    parser.add_argument("--measure", action="store_true")
    parser.add_argument("--measure-leases", action="store_true")
    parser.add_argument("--readme", type=Path, default=README)
    ns = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    if ns.measure and measure():
        print("some fault suite runs failed: their FAILs are in the table")
    if ns.measure_leases and measure_leases():
        print("the lease measurement failed")
    block = render_block()
    if ns.print_only:
        print(block)
        return 0
    text = ns.readme.read_text(encoding="utf-8")
    new = replace_block(text, block)
    if ns.check:
        if new != text:
            sys.stdout.writelines(difflib.unified_diff(
                text.splitlines(True), new.splitlines(True), "README.md", "README.md (expected)"))
            print("README.md's reliability table is stale: run "
                  "python scripts/update_reliability_table.py")
            return 1
        return 0
    if new != text:
        ns.readme.write_text(new, encoding="utf-8")
        print(f"updated {ns.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
