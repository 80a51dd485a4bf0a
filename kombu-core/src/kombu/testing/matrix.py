"""The transport comparison table, rendered from the kit's stored results.

``kombu transports --matrix`` prints it and the README's transport table is
its output (``scripts/update_transport_table.py``).  No pytest here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .results import FAIL, NOT_SUPPORTED, PASS, fold, load_results

__all__ = ("COLUMNS", "render_matrix")

#: Table columns: header and the result groups folded into it.
COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("basics", ("connection", "declare", "default_exchange", "serialization", "acks",
                "simple", "concurrency", "bad_input")),
    ("at-least-once", ("at_least_once",)),
    ("prefetch", ("prefetch",)),
    ("direct", ("direct",)),
    ("topic", ("topic",)),
    ("fanout", ("fanout",)),
    ("headers", ("headers",)),
    ("priority", ("priority",)),
    ("TTL", ("message_ttl",)),
    ("queue expiry", ("queue_ttl",)),
    ("dead letters", ("dead_letter",)),
    ("async", ("asynchronous",)),
    ("heartbeats", ("heartbeats",)),
    ("cross-process", ("cross_process",)),
    ("persistent", ("persistent",)),
)

CELLS = {PASS: "yes", FAIL: "**FAIL**", NOT_SUPPORTED: "no"}

LEGEND = (
    "Measured by the conformance kit (`pytest -p kombu.testing --kombu-url=URL`): "
    "*yes* passes every check, *no* not stated by the transport (its checks report "
    "\"not supported\"), **FAIL** stated but failing, *?* not measured. "
    "*basics*: connections, declarations, the default exchange, every serializer and "
    "compression, acks/reject/requeue, SimpleQueue, threads, bad input. "
    "`kombu transports --matrix` prints this table; "
    "`python scripts/update_transport_table.py --measure` measures it again."
)


def _cell(features: Mapping[str, str], groups: Sequence[str]) -> str:
    seen = [features[g] for g in groups if g in features]
    if not seen or (len(seen) < len(groups) and FAIL not in seen):
        return "?"
    return CELLS.get(fold(seen), "?")


def _row(run: Mapping[str, Any]) -> list[str]:
    features = run.get("features", {})
    package = f"{run.get('distribution') or '?'} {run.get('distribution_version') or ''}"
    measured = (f"{run.get('date', '?')}, kombu-core {run.get('kombu_core_version', '?')}, "
                f"Python {run.get('python', '?')}")
    return [f"`{run.get('transport', '?')}`", package.strip(),
            *(_cell(features, groups) for _, groups in COLUMNS), measured]


def _sort_key(run: Mapping[str, Any]) -> tuple[bool, str]:
    return run.get("distribution") != "kombu-core", str(run.get("transport"))


def render_matrix(results: Iterable[Mapping[str, Any]] | None = None,
                  directory: str | Path | None = None) -> str:
    """A Markdown table: one row per measured transport, one column per feature.

    ``results`` are kit runs (as stored by ``--kombu-results``); by default the
    ones stored in :func:`kombu.testing.results.results_dir` (or ``directory``).
    """
    runs = sorted(results if results is not None else load_results(directory), key=_sort_key)
    if not runs:
        return ("No conformance results are stored. Measure a transport with "
                "`pytest -p kombu.testing --kombu-url=URL --kombu-results PATH`.")
    header = ["transport", "package", *(name for name, _ in COLUMNS), "measured"]
    lines = [LEGEND, "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_row(run)) + " |" for run in runs]
    failing = [_failures(run) for run in runs]
    if any(failing):
        lines += ["", "Failing checks:", ""]
        lines += [f"- {note}" for note in failing if note]
    return "\n".join(lines)


def _failures(run: Mapping[str, Any]) -> str:
    by_group: dict[str, list[str]] = {}
    for name, check in sorted(run.get("checks", {}).items()):
        if check.get("outcome") == FAIL:
            by_group.setdefault(check.get("group", "?"), []).append(f"`{name}`")
    if not by_group:
        return ""
    parts = [f"{group}: {', '.join(names)}" for group, names in by_group.items()]
    return f"`{run.get('transport', '?')}` — {'; '.join(parts)}"
