"""The reliability table: what each transport survived, from the fault suite's stored
counts (one JSON file per transport, package data beside this module).

Two parts: one row per transport and scenario (published, consumed, lost,
delivered twice after an ack, redelivered, what was done or why it does not
apply), and one row per transport with leases (the default lease measured
with a consumer busy in CPU-bound Python, and with one SIGKILLed and one
SIGSTOPped).  Markdown for the README, plain text for ``kombu transports
--reliability``.  No pytest here.
"""

from __future__ import annotations

import datetime
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ("LEASES_FILE", "build_results", "fault_results_dir", "load_fault_results",
           "render_reliability", "write_fault_results")

SCHEMA = 1
#: Stored results of the default-lease measurement (``tests/leases``), by transport.
LEASES_FILE = "leases.json"
ORDER = ("consumer_sigkill", "producer_sigkill", "broker_restart", "network_cut",
         "slow_consumer", "bad_input", "leases")
TITLES = {
    "consumer_sigkill": "consumer SIGKILLed",
    "producer_sigkill": "producer SIGKILLed",
    "broker_restart": "broker restarted",
    "network_cut": "network cut",
    "slow_consumer": "work outlasts the lease",
    "bad_input": "bad input",
    "leases": "leases (short)",
}
LEGEND = (
    "Measured by the fault suite (`pytest -p kombu.testing.faults --kombu-url=URL`): each "
    "scenario publishes a numbered stream, injects one fault and counts from the broker's "
    "side. *published*: `publish` returned; *lost*: published and never consumed nor left "
    "on the broker; *twice*: delivered again after an `ack()` of it had returned; "
    "*redelivered*: deliveries flagged redelivered (at-least-once at work). "
    "`kombu transports --reliability` prints this table.")


def fault_results_dir() -> Path:
    return Path(__file__).resolve().parent / "results"


def build_results(entries: Iterable[Mapping[str, Any]],
                  when: datetime.date | None = None) -> dict[str, Any]:
    """The stored form of one transport's run of the suite."""
    from ... import __version__

    entries = list(entries)
    info = dict(entries[0]["transport"])
    scenarios = {}
    for entry in sorted(entries, key=lambda e: ORDER.index(e["scenario"])
                        if e["scenario"] in ORDER else len(ORDER)):
        scenarios[entry["scenario"]] = {k: v for k, v in entry.items()
                                        if k not in ("transport", "scenario")}
    return {"schema": SCHEMA, "transport": info["transport"], "url": info.get("url"),
            "distribution": info.get("distribution"),
            "distribution_version": info.get("distribution_version"),
            "kombu_core_version": __version__, "python": platform.python_version(),
            "date": (when or datetime.datetime.now(datetime.timezone.utc).date()).isoformat(),
            "scenarios": scenarios}


def write_fault_results(path: str | Path, results: Mapping[str, dict[str, Any]]) -> list[Path]:
    target = Path(path)
    as_dir = target.is_dir() or str(path).endswith(("/", "\\"))
    if not as_dir and len(results) > 1:
        raise ValueError(f"{path}: several transports ran; give a directory")
    written = []
    for name, data in results.items():
        out = target / f"{name}.json" if as_dir else target
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(out)
    return written


def load_fault_results(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Every stored transport run (core transports first), and no lease file."""
    folder = Path(directory) if directory is not None else fault_results_dir()
    runs = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "scenarios" in data:
            runs.append(data)
    return sorted(runs, key=lambda r: (r.get("distribution") != "kombu-core", r["transport"]))


def load_lease_results(directory: str | Path | None = None) -> dict[str, Any]:
    folder = Path(directory) if directory is not None else fault_results_dir()
    path = folder / LEASES_FILE
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _row(transport: str, name: str, entry: Mapping[str, Any]) -> list[str]:
    title = TITLES.get(name, name.replace("_", " "))
    outcome = entry.get("outcome", "?")
    if outcome == "n/a":
        return [transport, title, "-", "-", "-", "-", "-", f"n/a: {entry.get('reason', '')}"]
    if name == "leases":
        lease = entry.get("leases") or {}
        note = (f"lease {lease.get('lease', '?')} s: busy {lease.get('busy_seconds', '?')} s "
                f"{'kept' if lease.get('busy_kept') else 'LOST'} its messages; back after "
                f"SIGKILL {lease.get('killed_back_after', '-')} s, SIGSTOP "
                f"{lease.get('stopped_back_after', '-')} s")
        return [transport, title, "-", "-", "-", "-", "-",
                note if outcome == "pass" else f"**FAIL** {note}"]
    tally = entry.get("tally") or {}
    note = str(entry.get("note", ""))
    if entry.get("cannot_offer"):
        note += f"; cannot offer 0 lost / 0 twice: {entry['cannot_offer']}"
    if outcome == "fail":
        note = f"**FAIL** {entry.get('error', '')} {note}".strip()
    return [transport, title, *(str(tally.get(k, "?")) for k in
                                ("published", "consumed", "lost", "twice", "redelivered")),
            note]


HEADER = ["transport", "scenario", "published", "consumed", "lost", "twice", "redelivered",
          "what was done"]
LEASE_HEADER = ["transport", "default lease", "busy consumer (CPU-bound main thread)",
                "renewals, longest gap (period)", "SIGKILLed: back after",
                "SIGSTOPped: back after"]


def _lease_rows(leases: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for name, r in sorted(leases.items()):
        kept = "kept its messages" if r.get("busy_kept") else "**LOST its messages**"
        rows.append([name, f"{r['lease']:g} s", f"{r['busy_seconds']:g} s: {kept}",
                     f"{r['busy_renewals']}, {r['max_renewal_gap']:.2f} s "
                     f"({r['interval']:g} s)",
                     f"{r['killed_back_after']:.1f} s" if r.get("killed_back_after") else "never",
                     f"{r['stopped_back_after']:.1f} s" if r.get("stopped_back_after")
                     else "never"])
    return rows


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        cells = [str(c).replace("**", "").ljust(w) for c, w in zip(row, widths, strict=False)]
        out.append("  ".join([*cells, str(row[-1]).replace("**", "")]).rstrip())
    return out


def render_reliability(directory: str | Path | None = None, *, markdown: bool = True,
                       only: Iterable[str] | None = None) -> str:
    """The reliability table of the stored runs (restricted to the transports in ``only``)."""
    runs = load_fault_results(directory)
    leases = load_lease_results(directory)
    if only is not None:
        keep = set(only)
        runs = [r for r in runs if r["transport"] in keep]
        leases = {k: v for k, v in leases.items() if k in keep}
    if not runs:
        return ("No fault results are stored for these transports. Measure one with "
                "pytest -p kombu.testing.faults --kombu-url=URL --kombu-fault-results=PATH.")
    rows = []
    for run in runs:
        scenarios = run["scenarios"]
        for name in [*(s for s in ORDER if s in scenarios),
                     *sorted(set(scenarios) - set(ORDER))]:
            rows.append(_row(f"`{run['transport']}`" if markdown else run["transport"],
                             name, scenarios[name]))
    lease_rows = _lease_rows(leases)
    if markdown:
        lines = [LEGEND, "", *_markdown(HEADER, rows)]
        if lease_rows:
            lines += ["", "Leases with each transport's default (`tests/leases`): a consumer "
                      "keeps its messages while it lives, however long its main thread is "
                      "busy; a killed or frozen one has them back within the lease.", "",
                      *_markdown(LEASE_HEADER, lease_rows)]
        measured = sorted({f"{r['transport']}: {r['date']}, kombu-core "
                           f"{r['kombu_core_version']}, Python {r['python']}" for r in runs})
        lines += ["", "Measured " + "; ".join(measured) + "."]
        return "\n".join(lines)
    lines = [*_text(HEADER, rows)]
    if lease_rows:
        lines += ["", "Leases with each transport's default:", *_text(LEASE_HEADER, lease_rows)]
    return "\n".join(lines)
