"""memory:// benchmark: kombu-core vs kombu 5.7 (and an earlier revision), publish then consume.

    python benchmarks/bench_memory.py [--count 20000] [--rounds 5] [--before REV]

Each round runs benchmarks/workload.py (small JSON messages, prefetch 100,
every message acked) under each interpreter in turn; medians are printed.
Targets (issue 10): at least 3x kombu 5.7 for publish and consume, and, with
``--before``, no slower than that revision.
"""

from __future__ import annotations

import argparse
import sys

from baseline import kombu57_python, report_alternating, revision_python, run_alternating


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="a git revision to compare with (e.g. HEAD~5)")
    ns = parser.parse_args()
    pythons = {"kombu-core": sys.executable}
    if ns.before:
        pythons[f"before ({ns.before})"] = str(revision_python(ns.before, ["kombu-core"]))
    pythons["kombu 5.7"] = str(kombu57_python())
    medians = run_alternating(pythons, "memory://", ns.count, 100, ns.rounds)
    ok = report_alternating("memory://, prefetch 100, acks", medians,
                            {"publish_per_s": 3.0, "consume_per_s": 3.0}, ns.rounds,
                            before=f"before ({ns.before})" if ns.before else None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
