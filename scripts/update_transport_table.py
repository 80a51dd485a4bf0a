#!/usr/bin/env python3
"""Regenerate the README's transport table from the conformance kit's stored results.

    python scripts/update_transport_table.py             # rewrite README.md's table
    python scripts/update_transport_table.py --check     # exit 1 if README.md is stale
    python scripts/update_transport_table.py --print     # print the block only
    python scripts/update_transport_table.py --measure   # rerun the kit first

``--measure`` runs ``pytest -p kombu.testing`` against memory://, filesystem:// and
each installed first-party plugin whose broker answers on localhost, storing the
results in kombu-core/src/kombu/testing/results/<transport>.json.  The table sits
in README.md between ``<!-- transport-table:start -->`` and
``<!-- transport-table:end -->``.  Run it with the development virtualenv's Python
(it imports kombu).
"""

from __future__ import annotations

import argparse
import difflib
import socket
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- transport-table:start -->"
END = "<!-- transport-table:end -->"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kit_targets import TARGETS  # noqa: E402  (the one list of kit runs)

#: Said under the table in the README (not by ``kombu transports``: an installed
#: user has no repository scripts).
REGENERATE = ("This table is `kombu transports --matrix --markdown --all`; "
              "`python3 scripts/update_transport_table.py` rewrites it from the stored "
              "results (with `--measure`, after measuring every transport again).")


def render_block(results: Path | None = None) -> str:
    """The README block (markers included): the Markdown matrix of every stored result."""
    from kombu.testing.matrix import render_matrix

    return f"{START}\n{render_matrix(directory=results, markdown=True)}\n\n{REGENERATE}\n{END}"


def replace_block(text: str, block: str) -> str:
    """``text`` with its marked block replaced by ``block``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no {START} ... {END} block")
    return text[:start] + block + text[end + len(END):]


def _installed(dist: str) -> bool:
    try:
        metadata.distribution(dist)
    except metadata.PackageNotFoundError:
        return False
    return True


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def measure(results: Path) -> int:
    """Run the kit against every available target; returns how many runs failed."""
    failures = 0
    for name, target in TARGETS.items():
        dist, port = target.distribution, target.port
        if dist is not None and not _installed(dist):
            print(f"skip {name}: {dist} is not installed")
            continue
        if port is not None and not _answers(port):
            print(f"skip {name}: nothing answers on 127.0.0.1:{port}")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pytest", "-p", "kombu.testing",
                   "-p", "no:cacheprovider", "-q", *target.pytest_args(tmp),
                   f"--kombu-results={results / (name + '.json')}"]
            print("+", " ".join(cmd), flush=True)
            code = subprocess.run(cmd, cwd=ROOT).returncode
        failures += code != 0
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the block instead of writing README.md")
    parser.add_argument("--measure", action="store_true",
                        help="rerun the kit and store its results first")
    parser.add_argument("--readme", type=Path, default=README)
    ns = parser.parse_args(argv)
    from kombu.testing.results import results_dir

    if ns.measure:
        failures = measure(results_dir())
        if failures:
            print(f"{failures} kit run(s) failed: their FAILs are in the table")
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
            print("README.md's transport table is stale: run "
                  "python scripts/update_transport_table.py")
            return 1
        return 0
    if new != text:
        ns.readme.write_text(new, encoding="utf-8")
        print(f"updated {ns.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
