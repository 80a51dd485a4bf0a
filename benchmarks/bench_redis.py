"""redis:// benchmark: kombu-redis vs kombu 5.7 (and an earlier revision), publish then consume.

    python benchmarks/bench_redis.py [--count 20000] [--rounds 5] [--before REV] [--url URL]

Each round runs benchmarks/workload.py (small JSON messages, prefetch 100,
every message acked) against the same Redis under each interpreter in turn;
medians are printed.  Targets (issues 4 and 10): at least 4x kombu 5.7 for
publish and 5x for consume, and, with ``--before``, no slower than that
revision.
"""

from __future__ import annotations

import argparse
import sys

from baseline import kombu57_python, report_alternating, revision_python, run_alternating

DEFAULT_URL = "redis://127.0.0.1:6379/13"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", help="a git revision to compare with (e.g. HEAD~5)")
    parser.add_argument("--url", default=DEFAULT_URL)
    ns = parser.parse_args()
    pythons = {"kombu-core": sys.executable}
    if ns.before:
        pythons[f"before ({ns.before})"] = str(revision_python(
            ns.before, ["kombu-core", "plugins/kombu-redis"]))
    pythons["kombu 5.7"] = str(kombu57_python(("redis", "packaging")))
    medians = run_alternating(pythons, ns.url, ns.count, 100, ns.rounds)
    ok = report_alternating(f"{ns.url}, prefetch 100, acks", medians,
                            {"publish_per_s": 4.0, "consume_per_s": 5.0}, ns.rounds,
                            before=f"before ({ns.before})" if ns.before else None)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
