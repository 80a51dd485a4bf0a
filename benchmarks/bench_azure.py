"""azurestoragequeues:// benchmark: kombu-azure vs kombu 5.7 on one Azurite, publish then consume.

    python benchmarks/bench_azure.py [--count 2000] [--rounds 3] [--url URL]

Each round runs benchmarks/workload.py (small JSON messages, prefetch 100,
every message acked) under each interpreter in turn; medians are printed.
Start Azurite first: ``bash scripts/services.d/azurite.sh``.  Target (issue
16): not behind kombu 5.7 on either figure.
"""

from __future__ import annotations

import argparse
import sys

from baseline import kombu57_python, report_alternating, run_alternating

#: Azurite's well-known development account (its published key).
DEFAULT_URL = ("azurestoragequeues://Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErC"
               "z4I6tq/K1SZFPTOtr/KBHBeksoGMGw==@http://127.0.0.1:10001/devstoreaccount1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL)
    ns = parser.parse_args()
    pythons = {
        "kombu-core": sys.executable,
        "kombu 5.7": str(kombu57_python(("azure-storage-queue", "azure-identity"))),
    }
    medians = run_alternating(pythons, ns.url, ns.count, 100, ns.rounds)
    ok = report_alternating("Azurite, prefetch 100, acks", medians,
                            {"publish_per_s": 1.0, "consume_per_s": 1.0}, ns.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
