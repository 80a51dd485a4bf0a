"""sqla+ benchmark: kombu-sql vs kombu 5.7's SQLAlchemy transport on the same database.

    python benchmarks/bench_sql.py [--count 10000] [--rounds 1] [--consumers 1,4]
                                   [--databases postgresql,sqlite] [--pg-url URL]

Each round runs benchmarks/sql_workload.py under each interpreter in turn:
publish COUNT small JSON messages, then consume them with acks, prefetch 100,
in one and then four consumer processes.  It prints msgs/s, the ratio, and
the messages each side delivered more than once or never (medians of the
rounds for the rates, totals for the counts).  kombu 5.7 gets tables of its
own (its layout differs).  Target (issue 13): consume at least 5x kombu 5.7
on PostgreSQL with four consumers, with nothing lost or duplicated here.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from baseline import ROOT, kombu57_python

WORKLOAD = Path(__file__).resolve().parent / "sql_workload.py"
PG_URL = "sqla+postgresql+psycopg://postgres@127.0.0.1:5432/test"
OURS, THEIRS = "kombu-core", "kombu 5.7"
TABLES = {OURS: {"queue_tablename": "bench_queue", "message_tablename": "bench_message"},
          THEIRS: {"queue_tablename": "bench57_queue", "message_tablename": "bench57_message"}}


def run(python: str, url: str, count: int, consumers: int, options: dict) -> dict:
    proc = subprocess.run([python, str(WORKLOAD), url, str(count), "100", str(consumers),
                           json.dumps(options)], capture_output=True, text=True,
                          cwd=str(ROOT / "benchmarks"))
    if proc.returncode != 0:
        raise SystemExit(f"workload failed under {python}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--consumers", default="1,4")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--pg-url", default=PG_URL)
    ns = parser.parse_args()
    pythons = {OURS: sys.executable, THEIRS: str(kombu57_python(("sqlalchemy",
                                                                  "psycopg[binary]")))}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for database in ns.databases.split(","):
            for consumers in (int(c) for c in ns.consumers.split(",")):
                samples: dict[str, list[dict]] = {OURS: [], THEIRS: []}
                for r in range(ns.rounds):
                    for label, python in pythons.items():
                        url = ns.pg_url if database == "postgresql" else \
                            f"sqla+sqlite:///{tmp}/{label.replace(' ', '')}-{r}-{consumers}.db"
                        samples[label].append(run(python, url, ns.count, consumers,
                                                  TABLES[label]))
                ok = report(database, consumers, ns, samples) and ok
    return 0 if ok else 1


def report(database: str, consumers: int, ns: argparse.Namespace,
           samples: dict[str, list[dict]]) -> bool:
    print(f"\n{database}, {ns.count} messages, prefetch 100, acks, {consumers} consumer"
          f"{'s' if consumers > 1 else ''} (median of {ns.rounds} alternating rounds)")
    print(f"{'':<12}{OURS:>14}{THEIRS:>14}{'ratio':>9}")
    ok = True
    for key, name in (("publish_per_s", "publish/s"), ("consume_per_s", "consume/s")):
        ours = statistics.median(s[key] for s in samples[OURS])
        theirs = statistics.median(s[key] for s in samples[THEIRS])
        line = f"{name:<12}{ours:>14,.0f}{theirs:>14,.0f}{ours / theirs:>8.2f}x"
        if key == "consume_per_s" and database == "postgresql" and consumers == 4:
            met = ours / theirs >= 5.0
            ok = ok and met
            line += "   target >= 5x" + ("" if met else "  MISSED")
        print(line)
    for key, name in (("twice", "delivered twice"), ("lost", "never delivered")):
        ours = sum(s[key] for s in samples[OURS])
        theirs = sum(s[key] for s in samples[THEIRS])
        ok = ok and ours == 0
        print(f"{name:<12}{ours:>14}{theirs:>14}" + ("" if ours == 0 else "  MISSED"))
    return ok


if __name__ == "__main__":
    sys.exit(main())
