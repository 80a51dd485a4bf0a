"""mongodb:// benchmark: kombu-mongo vs kombu 5.7's MongoDB transport, publish then consume.

    python benchmarks/bench_mongo.py [--count 2000] [--rounds 5] [--url URL]

Each round runs benchmarks/workload.py (small JSON messages, prefetch 100,
every message acked) against the same server under each interpreter in turn;
medians are printed.  The default server is the tests' SecantusDB
(scripts/services.d/secantusdb.sh starts it), whose queries slow down as a
collection grows: keep ``--count`` to a few thousand there.  Each run uses a
database of its own (dropped afterwards).  Target (issue 15): ahead of
kombu 5.7 on consume.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

from baseline import kombu57_python, report_alternating, run_alternating

DEFAULT_URL = "mongodb://127.0.0.1:27027/"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default=DEFAULT_URL,
                        help="server URL (the database in its path is replaced)")
    ns = parser.parse_args()
    database = f"bench_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(ns.url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))
    pythons = {"kombu-core": sys.executable,
               "kombu 5.7": str(kombu57_python(("pymongo",)))}
    try:
        medians = run_alternating(pythons, url, ns.count, 100, ns.rounds)
    finally:
        import pymongo

        client = pymongo.MongoClient(urlunsplit((parts.scheme, parts.netloc, "/", "", "")),
                                     serverSelectionTimeoutMS=3000)
        client.drop_database(database)
        client.close()
    ok = report_alternating(f"{parts.netloc}, {ns.count} messages, prefetch 100, acks",
                            medians, {"consume_per_s": 1.0}, ns.rounds)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
