"""``kombu transports``: what is installed, and what the conformance kit measured."""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from typing import Any

from .errors import Exit
from .output import Reporter

__all__ = ("transports",)


def _fill(text: str, width: int) -> str:
    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)


def _matrix(ns: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    from ..testing.matrix import render_matrix, select_runs

    width = max(shutil.get_terminal_size().columns, 40)
    runs = select_runs()
    measured = {str(run.get("transport")) for run in runs}
    measured_dists = {str(run.get("distribution")) for run in runs}
    installed = {alias for row in rows for alias in row["aliases"]}
    only = None if ns.all else installed
    text = render_matrix(runs, markdown=ns.markdown, width=width, only=only)
    notes = []
    hidden = sorted(measured - installed)
    if hidden and not ns.all:
        notes.append(f"Also measured, not installed here: {', '.join(hidden)} "
                     f"(kombu transports --matrix --all shows them).")
    unmeasured = sorted({f"{row['name']} ({row['distribution']} {row['version'] or '?'})"
                         for row in rows
                         if row["aliases"] and row["distribution"] not in measured_dists})
    if unmeasured:
        notes.append(f"Installed, not measured: {', '.join(unmeasured)}. Measure one with "
                     f"pytest -p kombu.testing --kombu-url=URL.")
    if notes:
        text += "\n\n" + "\n".join(note if ns.markdown else _fill(note, width)
                                   for note in notes)
    return text


def transports(ns: argparse.Namespace, out: Reporter) -> int:
    """List the installed transports (or the measured matrix)."""
    from ..transport.info import describe_transports, format_table

    rows = describe_transports()
    if getattr(ns, "reliability", False):
        from ..testing.faults.table import render_reliability

        installed = {alias for row in rows for alias in row["aliases"]}
        out.emit(render_reliability(markdown=ns.markdown, only=None if ns.all else installed))
    elif ns.matrix:
        out.emit(_matrix(ns, rows))
    elif ns.json:
        out.emit(json.dumps(rows, indent=2, sort_keys=True))
    else:
        out.emit(format_table(rows))
    return Exit.OK
