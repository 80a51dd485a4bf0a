"""memory:// benchmark: kombu-core vs kombu 5.7, publish then consume with acks.

    python benchmarks/bench_memory.py [COUNT]      (default 20000)

Target (issue 2): kombu-core at least 2x kombu 5.7 for publish and consume.
"""

from __future__ import annotations

import sys

from baseline import kombu57_python, report, run_workload

ROOT_PY = sys.executable


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    ours = run_workload(ROOT_PY, "memory://", count, 100)
    theirs = run_workload(kombu57_python(), "memory://", count, 100)
    ok = report("memory://, prefetch 100, acks", ours, theirs,
                {"publish_per_s": 2.0, "consume_per_s": 2.0})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
