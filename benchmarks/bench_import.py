"""Import cost: kombu-core vs kombu 5.7, whole processes, in alternation.

    python benchmarks/bench_import.py [PAIRS]      (default 21, at least 15)

Each round starts, in turn, our bare interpreter (``python -c pass``),
kombu 5.7's bare interpreter, our command and kombu 5.7's command, and
times each process from start to exit.  A figure is the median over the
rounds minus the median of the same interpreter's bare start, so what is
compared is what the import costs, not Python's own start.

Commands (targets from issue 11):

(a) ``from kombu import Connection, Exchange, Queue, Producer, Consumer``:
    at most 0.5x kombu 5.7.
(b) ``Connection('redis://').transport`` (loads the Redis transport, does
    not connect): at most 0.8x.  It needs kombu-redis in this interpreter's
    environment; kombu 5.7's virtualenv gets ``redis`` (and ``packaging``,
    which its Redis transport imports).

Both sides run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` is
removed from the children's environment) and from an empty folder, as an
installed application would; the warm-up rounds write any missing ``.pyc``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from baseline import kombu57_python

PYTHON = sys.executable
IMPORT = "from kombu import Connection, Exchange, Queue, Producer, Consumer"
REDIS = "from kombu import Connection; Connection('redis://').transport"
WARMUP = 2


def _env() -> dict[str, str]:
    drop = {"PYTHONDONTWRITEBYTECODE", "KOMBU_DISABLE_PLUGIN_AUTOLOAD", "PYTHONPATH"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(argv: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    return elapsed


def measure(ours: str, theirs: str, code: str, pairs: int) -> dict[str, list[float]]:
    """Wall seconds of each process, in alternation: bare A, bare B, A, B."""
    env = _env()
    runs: dict[str, list[float]] = {"bare_ours": [], "bare_theirs": [], "ours": [],
                                    "theirs": []}
    commands = {"bare_ours": [ours, "-c", "pass"], "bare_theirs": [theirs, "-c", "pass"],
                "ours": [ours, "-c", code], "theirs": [theirs, "-c", code]}
    with tempfile.TemporaryDirectory() as cwd:
        for round_no in range(WARMUP + pairs):
            for key, argv in commands.items():
                elapsed = _run(argv, cwd, env)
                if round_no >= WARMUP:
                    runs[key].append(elapsed)
    return runs


def report(label: str, runs: dict[str, list[float]], target: float) -> bool:
    med = {key: statistics.median(values) for key, values in runs.items()}
    ours = med["ours"] - med["bare_ours"]
    theirs = med["theirs"] - med["bare_theirs"]
    ratio = ours / theirs
    per_pair = statistics.median(
        (a - ba) / (b - bb) for a, b, ba, bb in zip(runs["ours"], runs["theirs"],
                                                    runs["bare_ours"], runs["bare_theirs"],
                                                    strict=True))
    met = ratio <= target
    print(f"{label:<44}{ours * 1000:>12.1f}{theirs * 1000:>12.1f}{ratio:>9.2f}x"
          f"{f'<= {target:.1f}x':>10}{'' if met else '  MISSED'}")
    print(f"{'':<44}{'bare start':>12} {med['bare_ours'] * 1000:.1f} / "
          f"{med['bare_theirs'] * 1000:.1f} ms; median of per-round ratios {per_pair:.2f}x")
    return met


def main() -> int:
    pairs = max(int(sys.argv[1]) if len(sys.argv) > 1 else 21, 15)
    theirs = str(kombu57_python(("redis", "packaging")))
    print(f"import cost, ms (median of {pairs} rounds, bare interpreter start subtracted)")
    print(f"{'':<44}{'kombu-core':>12}{'kombu 5.7':>12}{'ratio':>10}{'target':>10}")
    ok = report("(a) from kombu import Connection, ...", measure(PYTHON, theirs, IMPORT, pairs),
                0.5)
    try:
        import kombu_redis  # noqa: F401  (only to know whether (b) can run here)
    except ImportError:
        print("(b) skipped: kombu-redis is not installed in this environment "
              f"({Path(PYTHON).parent.parent}); install ./plugins/kombu-redis")
        return 0 if ok else 1
    ok = report("(b) Connection('redis://').transport", measure(PYTHON, theirs, REDIS, pairs),
                0.8) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
