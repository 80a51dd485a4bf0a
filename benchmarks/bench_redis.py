"""redis:// benchmark: kombu-redis vs kombu 5.7, publish then consume with acks.

    python benchmarks/bench_redis.py [COUNT] [URL]     (default 20000, redis://127.0.0.1:6379/13)

Both run benchmarks/workload.py (20,000 small JSON messages, prefetch 100,
every message acked) against the same Redis.  Targets (issue 4): kombu-redis
at least 4x kombu 5.7 for publish and 5x for consume.
"""

from __future__ import annotations

import sys

from baseline import kombu57_python, report, run_workload

ROOT_PY = sys.executable
DEFAULT_URL = "redis://127.0.0.1:6379/13"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    url = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_URL
    ours = run_workload(ROOT_PY, url, count, 100)
    theirs = run_workload(kombu57_python(("redis", "packaging")), url, count, 100)
    ok = report(f"{url}, prefetch 100, acks", ours, theirs,
                {"publish_per_s": 4.0, "consume_per_s": 5.0})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
