"""Shared driver: run a workload under kombu-core and under kombu 5.7, side by side.

kombu 5.7 lives in its own virtualenv (``.bench/kombu57``, created on first
use with ``pip install 'kombu==5.7.*'`` plus any extras), so the two
packages, both named ``kombu``, never meet in one interpreter.  An earlier
revision of this repository can join the comparison (``--before REV``): it
is exported with ``git archive`` into ``.bench/rev-<sha>`` and installed in a
virtualenv of its own.  Runs alternate between the interpreters, round after
round, and the medians are reported: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tarfile
from collections.abc import Mapping, Sequence
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
KOMBU57_VENV = BENCH / "kombu57"
WORKLOAD = Path(__file__).resolve().parent / "workload.py"
METRICS = (("publish_per_s", "publish/s"), ("consume_per_s", "consume/s"))


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


def revision_python(revision: str, packages: Sequence[str] = ("kombu-core",)) -> Path:
    """An interpreter with this repository's ``packages`` as of ``revision`` installed.

    ``packages`` are folders of the repository (``kombu-core``,
    ``plugins/kombu-redis``, ...).
    """
    sha = subprocess.run(["git", "rev-parse", "--short=12", f"{revision}^{{commit}}"],
                         cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    home = BENCH / f"rev-{sha}"
    python = home / "venv" / "bin" / "python"
    marker = home / f"installed-{'+'.join(p.replace('/', '_') for p in packages)}"
    if marker.exists():
        return python
    source = home / "src"
    if not source.exists():
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=ROOT,
                                 check=True, capture_output=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(source, filter="data")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    *(str(source / p) for p in packages)], check=True)
    marker.touch()
    return python


def run_workload(python: str | Path, url: str, count: int, prefetch: int,
                 script: Path = WORKLOAD) -> dict[str, float | str]:
    proc = subprocess.run([str(python), str(script), url, str(count), str(prefetch)],
                          capture_output=True, text=True, cwd=str(ROOT / "benchmarks"))
    if proc.returncode != 0:
        raise SystemExit(f"workload failed under {python}:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_alternating(pythons: Mapping[str, Path | str], url: str, count: int, prefetch: int,
                    rounds: int = 5) -> dict[str, dict[str, float]]:
    """Run the workload under each interpreter in turn, ``rounds`` times; medians per label."""
    samples: dict[str, dict[str, list[float]]] = {
        label: {key: [] for key, _ in METRICS} for label in pythons}
    for _ in range(rounds):
        for label, python in pythons.items():
            result = run_workload(python, url, count, prefetch)
            for key, _ in METRICS:
                samples[label][key].append(float(result[key]))
    return {label: {key: statistics.median(values) for key, values in per.items()}
            for label, per in samples.items()}


def report_alternating(title: str, medians: Mapping[str, Mapping[str, float]],
                       targets: Mapping[str, float], rounds: int,
                       ours: str = "kombu-core", theirs: str = "kombu 5.7",
                       before: str | None = None) -> bool:
    """Print every label's medians and the ratios; True if every target is met.

    ``targets`` are ratios of ours over kombu 5.7; with ``before``, ours must
    also be no slower than the earlier revision (within 3%, the noise seen
    between identical runs here).
    """
    labels = list(medians)
    print(f"\n{title} (median of {rounds} alternating rounds)")
    print(f"{'':<12}" + "".join(f"{label:>20}" for label in labels)
          + f"{'vs 5.7':>9}{'target':>9}" + (f"{'vs before':>11}" if before else ""))
    ok = True
    for key, name in METRICS:
        ratio = medians[ours][key] / medians[theirs][key]
        target = targets.get(key, 0.0)
        met = ratio >= target
        line = f"{name:<12}" + "".join(f"{medians[label][key]:>20,.0f}" for label in labels)
        line += f"{ratio:>8.2f}x{(f'>={target:.0f}x') if target else '':>9}"
        if before:
            vs = medians[ours][key] / medians[before][key]
            met = met and vs >= 0.97
            line += f"{vs:>10.2f}x"
        ok = ok and met
        print(line + ("" if met else "   MISSED"))
    return ok


def report(title: str, ours: dict[str, float | str], theirs: dict[str, float | str],
           targets: dict[str, float]) -> bool:
    """Print one run's figures side by side; True if every target ratio is met."""
    print(f"\n{title}: {ours['count']} messages")
    print(f"{'':<12}{'kombu-core ' + str(ours['kombu']):>22}"
          f"{'kombu ' + str(theirs['kombu']):>18}{'ratio':>10}{'target':>10}")
    ok = True
    for key, label in METRICS:
        ratio = float(ours[key]) / float(theirs[key])
        target = targets.get(key, 0.0)
        met = ratio >= target
        ok = ok and met
        print(f"{label:<12}{float(ours[key]):>22,.0f}{float(theirs[key]):>18,.0f}"
              f"{ratio:>9.2f}x{(f'>= {target:.1f}x') if target else '':>10}"
              f"{'' if met else '  MISSED'}")
    return ok
