"""Shared driver: run a workload under kombu-core and under kombu 5.7, side by side.

kombu 5.7 lives in its own virtualenv (``.bench/kombu57``, created on first
use with ``pip install 'kombu==5.7.*'`` plus any extras), so the two
packages, both named ``kombu``, never meet in one interpreter.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KOMBU57_VENV = ROOT / ".bench" / "kombu57"
WORKLOAD = Path(__file__).resolve().parent / "workload.py"


def kombu57_python(extra_packages: tuple[str, ...] = ()) -> Path:
    """The interpreter of the kombu 5.7 virtualenv, creating it if needed."""
    python = KOMBU57_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(KOMBU57_VENV)], check=True)
    missing = [p for p in ("kombu==5.7.*", *extra_packages)
               if subprocess.run([str(python), "-m", "pip", "show", "-q",
                                  p.split("=")[0].split("<")[0].split(">")[0]],
                                 capture_output=True).returncode != 0]
    if missing:
        subprocess.run([str(python), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *missing], check=True)
    return python


def run_workload(python: str | Path, url: str, count: int, prefetch: int,
                 script: Path = WORKLOAD) -> dict[str, float | str]:
    proc = subprocess.run([str(python), str(script), url, str(count), str(prefetch)],
                          capture_output=True, text=True, cwd=str(ROOT / "benchmarks"))
    if proc.returncode != 0:
        raise SystemExit(f"workload failed under {python}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(title: str, ours: dict[str, float | str], theirs: dict[str, float | str],
           targets: dict[str, float]) -> bool:
    """Print the figures side by side; True if every target ratio is met."""
    print(f"\n{title}: {ours['count']} messages")
    print(f"{'':<12}{'kombu-core ' + str(ours['kombu']):>22}"
          f"{'kombu ' + str(theirs['kombu']):>18}{'ratio':>10}{'target':>10}")
    ok = True
    for key, label in (("publish_per_s", "publish/s"), ("consume_per_s", "consume/s")):
        ratio = float(ours[key]) / float(theirs[key])
        target = targets.get(key, 0.0)
        met = ratio >= target
        ok = ok and met
        print(f"{label:<12}{float(ours[key]):>22,.0f}{float(theirs[key]):>18,.0f}"
              f"{ratio:>9.2f}x{(f'>= {target:.1f}x') if target else '':>10}"
              f"{'' if met else '  MISSED'}")
    return ok
