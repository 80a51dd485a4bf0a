"""The transport comparison table, rendered from the kit's stored results.

Two forms: Markdown (one row per transport: the README's table,
``kombu transports --matrix --markdown``) and plain text fitted to a width
(one row per feature, transports side by side: ``kombu transports --matrix``).
The columns are whatever groups the results carry: the known ones in a fixed
order (the basic groups folded into one), then any other group.  No pytest here.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .features import GROUPS
from .results import FAIL, NOT_SUPPORTED, PASS, fold, load_results

__all__ = ("COLUMNS", "columns", "render_matrix", "select_runs")

Run = Mapping[str, Any]
Column = tuple[str, tuple[str, ...]]

#: Known columns, in display order: header and the result groups folded into it.
COLUMNS: tuple[Column, ...] = (
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
    ("Hub", ("asynchronous",)),
    ("asyncio", ("asyncio",)),
    ("heartbeats", ("heartbeats",)),
    ("cross-process", ("cross_process",)),
    ("persistent", ("persistent",)),
)

CELLS = {PASS: "yes", FAIL: "FAIL", NOT_SUPPORTED: "no"}

LEGEND = (
    "Measured by the conformance kit (`pytest -p kombu.testing --kombu-url=URL`): "
    "*yes* passes every check, *no* not stated by the transport (its checks report "
    "\"not supported\"), **FAIL** stated but failing, *?* not measured. "
    "*basics*: connections, declarations, the default exchange, every serializer and "
    "compression, acks/reject/requeue, SimpleQueue, threads, bad input. "
    "*Hub*: consuming driven by kombu's event loop. *asyncio*: `kombu.aio` passes, "
    "*native* on the transport's own non-blocking sockets or through the kernel's "
    "*adapter* (a worker thread per connection). "
    "`kombu transports --matrix` prints this table for the installed transports."
)

TEXT_LEGEND = (
    "Measured by the conformance kit (pytest -p kombu.testing --kombu-url=URL): "
    "yes = passes every check, no = not stated by the transport, FAIL = stated but "
    "failing, ? = not measured. basics = connections, declarations, the default "
    "exchange, serializers and compression, acks/reject/requeue, SimpleQueue, threads, "
    "bad input. Hub = kombu's event loop; asyncio = kombu.aio, native or through the "
    "adapter (a worker thread)."
)


def columns(runs: Iterable[Run]) -> list[Column]:
    """:data:`COLUMNS`, then one column per further group the results carry."""
    covered = {group for _, groups in COLUMNS for group in groups}
    carried = {group for run in runs for group in run.get("features", {})} - covered
    extra = [g for g in GROUPS if g in carried] + sorted(carried - set(GROUPS))
    return [*COLUMNS, *((group.replace("_", " "), (group,)) for group in extra)]


def _cell(features: Mapping[str, str], groups: Sequence[str],
          implements: Mapping[str, Any] | None = None) -> str:
    seen = [features[g] for g in groups if g in features]
    if not seen or (len(seen) < len(groups) and FAIL not in seen):
        return "?"
    cell = CELLS.get(fold(seen), "?")
    if tuple(groups) == ("asyncio",) and cell == "yes":
        # Every transport runs kombu.aio: say which path it takes.
        return "native" if (implements or {}).get("asyncio") else "adapter"
    return cell


def _cells(run: Run, cols: Sequence[Column]) -> list[str]:
    features = run.get("features", {})
    return [_cell(features, groups, run.get("implements")) for _, groups in cols]


def _package(run: Run) -> str:
    return f"{run.get('distribution') or '?'} {run.get('distribution_version') or ''}".strip()


def _measured(run: Run) -> str:
    return (f"{run.get('date', '?')}, kombu-core {run.get('kombu_core_version', '?')}, "
            f"Python {run.get('python', '?')}")


def _sort_key(run: Run) -> tuple[bool, str]:
    return run.get("distribution") != "kombu-core", str(run.get("transport"))


def select_runs(results: Iterable[Run] | None = None, directory: str | Path | None = None,
                only: Iterable[str] | None = None) -> list[Run]:
    """The stored runs (core transports first), restricted to the transports in ``only``."""
    runs = list(results if results is not None else load_results(directory))
    if only is not None:
        keep = set(only)
        runs = [run for run in runs if run.get("transport") in keep]
    return sorted(runs, key=_sort_key)


def _failures(run: Run) -> str:
    by_group: dict[str, list[str]] = {}
    for name, check in sorted(run.get("checks", {}).items()):
        if check.get("outcome") == FAIL:
            by_group.setdefault(check.get("group", "?"), []).append(name)
    parts = [f"{group}: {', '.join(names)}" for group, names in by_group.items()]
    return "; ".join(parts)


def _markdown(runs: Sequence[Run]) -> str:
    cols = columns(runs)
    header = ["transport", "package", *(name for name, _ in cols), "measured"]
    lines = [LEGEND, "", "| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    for run in runs:
        cells = _cells(run, cols)
        cells = [f"**{c}**" if c == "FAIL" else c for c in cells]
        row = [f"`{run.get('transport', '?')}`", _package(run), *cells, _measured(run)]
        lines.append("| " + " | ".join(row) + " |")
    failing = [(run, _failures(run)) for run in runs]
    if any(note for _, note in failing):
        lines += ["", "Failing checks:", ""]
        lines += [f"- `{run.get('transport', '?')}` — {note}" for run, note in failing if note]
    return "\n".join(lines)


def _chunks(widths: Sequence[int], room: int) -> list[list[int]]:
    """Indexes of the transport columns, grouped so each group fits in ``room``."""
    chunks: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        if chunks[-1] and used + width > room:
            chunks.append([])
            used = 0
        chunks[-1].append(index)
        used += width
    return chunks


def _fill(text: str, width: int, indent: str = "") -> str:
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False,
                         break_long_words=False)


def _text(runs: Sequence[Run], width: int) -> str:
    cols = columns(runs)
    labels = [name for name, _ in cols]
    names = [str(run.get("transport", "?")) for run in runs]
    per_run = [_cells(run, cols) for run in runs]
    cells = [[row[i] for row in per_run] for i in range(len(cols))]
    label_width = max(len(label) for label in labels) + 2
    widths = [max(len(names[i]), *(len(row[i]) for row in cells)) + 2 for i in range(len(runs))]
    lines = [_fill(TEXT_LEGEND, width), ""]
    for chunk in _chunks(widths, max(width - label_width, 1)):
        lines.append(("".ljust(label_width) +
                      "".join(names[i].ljust(widths[i]) for i in chunk)).rstrip())
        for label, row in zip(labels, cells, strict=True):
            lines.append((label.ljust(label_width) +
                          "".join(row[i].ljust(widths[i]) for i in chunk)).rstrip())
        lines.append("")
    for run, name in zip(runs, names, strict=True):
        note = f"{name}: {_package(run)}; measured {_measured(run)}"
        failing = _failures(run)
        if failing:
            note += f"; failing checks: {failing}"
        lines.append(_fill(note, width, "    "))
    return "\n".join(lines)


def render_matrix(results: Iterable[Run] | None = None,
                  directory: str | Path | None = None, *,
                  markdown: bool = True, width: int = 80,
                  only: Iterable[str] | None = None) -> str:
    """The table of the stored kit runs (or ``results``), one column per feature group.

    ``markdown=True`` gives the README's Markdown table; ``False`` plain text
    no wider than ``width`` where it can be (transports side by side, in as
    many blocks as needed).  ``only`` keeps the transports of those names.
    """
    runs = select_runs(results, directory, only)
    if not runs:
        return ("No conformance results are stored for these transports. Measure one with "
                "pytest -p kombu.testing --kombu-url=URL --kombu-results=PATH.")
    return _markdown(runs) if markdown else _text(runs, width)
