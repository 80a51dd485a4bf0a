#!/usr/bin/env python3
"""AMQP benchmark: kombu-core + kombu-amqp vs bare py-amqp vs kombu 5.7, in one run.

    .venv/bin/python benchmarks/bench_amqp.py [--n 20000] [--prefetch 100] [--rounds 3]

Each implementation publishes then consumes ``n`` small JSON messages (acked,
``prefetch`` unacked at most) on RabbitMQ, in its own process; the rounds are
interleaved and the best rate of each is kept, to damp noise from the broker.
kombu 5.x runs from its own virtualenv, ``.bench/kombu57``, created on first
use (``pip install 'kombu==5.7.*'``, or the newest 5.x if 5.7 is unavailable).
This is a benchmark, not a test: it prints figures and never fails on them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = Path(__file__).resolve().parent / "amqp_workload.py"
KOMBU57 = ROOT / ".bench" / "kombu57"
CORE_PY = ROOT / ".venv" / "bin" / "python"


def kombu57_python() -> Path | None:
    """The kombu 5.x virtualenv's python, creating the venv if missing."""
    py = KOMBU57 / "bin" / "python"
    if py.exists() and _has_kombu(py):
        return py
    try:
        if not py.exists():
            subprocess.run([sys.executable, "-m", "venv", str(KOMBU57)], check=True)
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if subprocess.run([*pip, "kombu==5.7.*"]).returncode != 0:
            print("kombu 5.7 is not available; installing the newest kombu 5.x instead")
            subprocess.run([*pip, "kombu>=5,<6"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"could not set up {KOMBU57} ({exc}); kombu 5.x is left out")
        return None
    return py if _has_kombu(py) else None


def _has_kombu(py: Path) -> bool:
    probe = "import kombu, amqp"
    return subprocess.run([str(py), "-c", probe], capture_output=True).returncode == 0


def run_one(python: Path, impl: str, ns: argparse.Namespace) -> dict[str, object]:
    cmd = [str(python), str(WORKLOAD), impl, "--n", str(ns.n), "--prefetch",
           str(ns.prefetch), "--url", ns.url]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", default="amqp://guest:guest@127.0.0.1:5672//")
    ns = parser.parse_args()

    core_py = CORE_PY if CORE_PY.exists() else Path(sys.executable)
    contenders: list[tuple[str, Path, str]] = [
        ("kombu-amqp", core_py, "kombu"),
        ("py-amqp", core_py, "pyamqp"),
    ]
    py57 = kombu57_python()
    if py57 is not None:
        contenders.append(("kombu 5.x", py57, "kombu"))

    best: dict[str, dict[str, object]] = {}
    for round_no in range(1, ns.rounds + 1):
        for label, python, impl in contenders:
            result = run_one(python, impl, ns)
            print(f"round {round_no} {label:<11} publish {result['publish']:>9.0f}/s  "
                  f"consume {result['consume']:>9.0f}/s  ({result['version']})", flush=True)
            prev = best.setdefault(label, dict(result))
            for key in ("publish", "consume"):
                prev[key] = max(float(prev[key]), float(result[key]))  # type: ignore[arg-type]
            for key in ("publish_cpu", "consume_cpu"):
                prev[key] = min(float(prev[key]), float(result[key]))  # type: ignore[arg-type]

    base = best["py-amqp"]
    print(f"\n{ns.n} messages, prefetch {ns.prefetch}, best of {ns.rounds} rounds")
    print(f"{'':<12}{'publish/s':>11}{'consume/s':>11}{'vs py-amqp':>18}"
          f"{'client CPU us/msg':>22}   version")
    for label, _, _ in contenders:
        r = best[label]
        pub = float(r["publish"]) / float(base["publish"])  # type: ignore[arg-type]
        con = float(r["consume"]) / float(base["consume"])  # type: ignore[arg-type]
        print(f"{label:<12}{float(r['publish']):>11.0f}{float(r['consume']):>11.0f}"  # type: ignore[arg-type]
              f"{pub:>9.0%}{con:>9.0%}"
              f"{float(r['publish_cpu']):>11.1f}{float(r['consume_cpu']):>11.1f}"  # type: ignore[arg-type]
              f"   {r['version']}")
    print("\n(vs py-amqp: msgs/s as a share of bare py-amqp's, publish then consume; "
          "client CPU: this process's CPU time per message, publish then consume)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
