"""kombu.aio benchmark: publish then consume small JSON messages with acks, side by side.

    python benchmarks/bench_aio.py [--count 20000] [--rounds 3] [--prefetch 100]
                                   [--redis URL] [--amqp URL]

Runs benchmarks/aio_workload.py in alternating rounds (medians are printed):
kombu.aio and this project's blocking API over Redis and RabbitMQ, and
aio-pika over RabbitMQ, installed in the benchmark's own virtualenv
(``.bench/aiopika``, created on first use).  Targets (issue 17): kombu.aio
over RabbitMQ at least 0.8x aio-pika's publish and consume figures, and over
Redis at least 0.8x the blocking API's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = Path(__file__).resolve().parent / "aio_workload.py"
AIOPIKA_VENV = ROOT / ".bench" / "aiopika"
METRICS = (("publish_per_s", "publish/s"), ("consume_per_s", "consume/s"))


def aiopika_python() -> Path:
    """The interpreter of the aio-pika virtualenv (no kombu in it), created if needed."""
    python = AIOPIKA_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AIOPIKA_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import aio_pika"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", "aio-pika"], check=True)
    return python


def run(python: Path | str, client: str, url: str, count: int, prefetch: int) -> dict[str, float]:
    proc = subprocess.run([str(python), str(WORKLOAD), client, url, str(count), str(prefetch)],
                          capture_output=True, text=True, cwd=str(WORKLOAD.parent))
    if proc.returncode != 0:
        raise SystemExit(f"{client} on {url} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672//")
    ns = parser.parse_args()
    ours = sys.executable
    jobs = {
        ("redis", "kombu.aio"): (ours, "kombu-aio", ns.redis),
        ("redis", "kombu (blocking)"): (ours, "kombu", ns.redis),
        ("amqp", "kombu.aio"): (ours, "kombu-aio", ns.amqp),
        ("amqp", "kombu (blocking)"): (ours, "kombu", ns.amqp),
        ("amqp", "aio-pika"): (aiopika_python(), "aio-pika", ns.amqp),
    }
    samples: dict[tuple[str, str], dict[str, list[float]]] = {
        key: {m: [] for m, _ in METRICS} for key in jobs}
    paths: dict[tuple[str, str], str] = {}
    for _ in range(ns.rounds):
        for key, (python, client, url) in jobs.items():
            result = run(python, client, url, ns.count, ns.prefetch)
            paths[key] = str(result.get("path", ""))
            for metric, _ in METRICS:
                samples[key][metric].append(float(result[metric]))
    medians = {key: {m: statistics.median(v) for m, v in per.items()}
               for key, per in samples.items()}
    print(f"\n{ns.count} messages, prefetch {ns.prefetch}, acks; median of {ns.rounds} "
          f"alternating rounds")
    print(f"{'broker':<7}{'client':<28}{'publish/s':>12}{'consume/s':>12}")
    for (broker, label), figures in medians.items():
        shown = label + (f" ({paths[(broker, label)]})" if label == "kombu.aio" else "")
        print(f"{broker:<7}{shown:<28}{figures['publish_per_s']:>12,.0f}"
              f"{figures['consume_per_s']:>12,.0f}")
    targets = (("redis", "kombu (blocking)"), ("amqp", "aio-pika"))
    ok = True
    print(f"\n{'ratio':<36}{'publish':>10}{'consume':>10}{'target':>9}")
    for broker, against in targets:
        mine, theirs = medians[(broker, "kombu.aio")], medians[(broker, against)]
        ratios = [mine[m] / theirs[m] for m, _ in METRICS]
        met = all(r >= 0.8 for r in ratios)
        ok = ok and met
        print(f"{'kombu.aio / ' + against + ' (' + broker + ')':<36}"
              + "".join(f"{r:>9.2f}x" for r in ratios) + f"{'>=0.8x':>9}"
              + ("" if met else "   MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
