"""zookeeper:// benchmark: kombu-zk vs kombu 5.7's ZooKeeper transport, publish then consume.

    python benchmarks/bench_zk.py [--count 2000] [--rounds 5] [--url URL]

Each round runs benchmarks/workload.py (small JSON messages, prefetch 100,
every message acked) against the same ZooKeeper server under each
interpreter in turn (kazoo is installed in kombu 5.7's virtualenv);
medians are printed with the ratio.  Target (issue 16): not behind kombu 5.7
on either figure.  Start the server with scripts/services.d/zookeeper.sh.
"""

from __future__ import annotations

import argparse
import sys

from baseline import kombu57_python, report_alternating, run_alternating

DEFAULT_URL = "zookeeper://127.0.0.1:2181/kombu-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default=DEFAULT_URL)
    ns = parser.parse_args()
    pythons = {"kombu-core": sys.executable,
               "kombu 5.7": str(kombu57_python(("kazoo",)))}
    medians = run_alternating(pythons, ns.url, ns.count, 100, ns.rounds)
    ok = report_alternating(f"{ns.url}, {ns.count} messages, prefetch 100, acks", medians,
                            {"publish_per_s": 1.0, "consume_per_s": 1.0}, ns.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
