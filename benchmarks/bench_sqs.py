"""sqs:// benchmark: kombu-sqs vs kombu 5.7's SQS transport, against the same local SQS.

    python benchmarks/bench_sqs.py [--count 2000] [--rounds 3] [--url URL]

Each round runs benchmarks/sqs_workload.py (2,000 small JSON messages published,
then consumed with prefetch 10, every message acked) under each interpreter in
turn: kombu-core with its defaults, kombu-core with ``ack_batch_window=0.1``
(single acks share DeleteMessageBatch requests; an ack that returned can then be
lost to a SIGKILL within the window, see the plugin's README), and kombu 5.7.
Medians of msgs/s and HTTP requests per message (every request botocore sends)
are printed with the ratios.  The issue's targets: at most half kombu 5.7's HTTP
requests per acked message and at least 2x its consume msgs/s.

Start the local SQS first: ``bash scripts/services.d/moto.sh``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from baseline import ROOT, kombu57_python

WORKLOAD = Path(__file__).resolve().parent / "sqs_workload.py"
DEFAULT_URL = "sqs://test:test@127.0.0.1:9324"
#: The same options for every run: long polling 1 s (kombu's default 10 s would only
#: add an idle wait at the end), one region.
COMMON = {"region": "us-east-1", "wait_time_seconds": 1}
METRICS = (("publish_per_s", "publish msgs/s"), ("consume_per_s", "consume msgs/s"),
           ("publish_requests_per_msg", "publish HTTP req/msg"),
           ("consume_requests_per_msg", "consume HTTP req/acked msg"))


def run(python: str, url: str, count: int, options: dict[str, object]) -> dict[str, float]:
    proc = subprocess.run([python, str(WORKLOAD), url, str(count), "10", json.dumps(options)],
                          capture_output=True, text=True, cwd=str(ROOT / "benchmarks"),
                          env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    if proc.returncode != 0:
        raise SystemExit(f"workload failed under {python}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL)
    ns = parser.parse_args()
    k57 = str(kombu57_python(("boto3", "pycurl")))
    runs = {
        "kombu-core": (sys.executable, COMMON),
        "kombu-core window": (sys.executable, {**COMMON, "ack_batch_window": 0.1}),
        "kombu 5.7": (k57, COMMON),
    }
    samples: dict[str, dict[str, list[float]]] = {
        label: {key: [] for key, _ in METRICS} for label in runs}
    for _ in range(ns.rounds):
        for label, (python, options) in runs.items():
            result = run(python, ns.url, ns.count, options)
            for key, _ in METRICS:
                samples[label][key].append(float(result[key]))
    med = {label: {k: statistics.median(v) for k, v in per.items()}
           for label, per in samples.items()}
    print(f"\n{ns.url}: {ns.count} messages, prefetch 10, acks "
          f"(median of {ns.rounds} alternating rounds)")
    labels = list(runs)
    print(f"{'':<28}" + "".join(f"{label:>19}" for label in labels)
          + f"{'default/5.7':>13}{'window/5.7':>12}")
    for key, name in METRICS:
        ours, window, theirs = (med[label][key] for label in labels)
        fmt = ".3f" if "requests" in key else ",.1f"
        print(f"{name:<28}" + "".join(f"{med[label][key]:>19{fmt}}" for label in labels)
              + f"{ours / theirs:>12.2f}x{window / theirs:>11.2f}x")
    ok = {}
    for label in labels[:2]:
        req = med[label]["consume_requests_per_msg"] / med["kombu 5.7"]["consume_requests_per_msg"]
        speed = med[label]["consume_per_s"] / med["kombu 5.7"]["consume_per_s"]
        ok[label] = req <= 0.5 and speed >= 2.0
        print(f"{label}: HTTP requests per acked message {req:.2f}x kombu 5.7 (target <= 0.5x), "
              f"consume {speed:.2f}x (target >= 2x): {'met' if ok[label] else 'MISSED'}")
    return 0 if ok["kombu-core"] else 1


if __name__ == "__main__":
    sys.exit(main())
