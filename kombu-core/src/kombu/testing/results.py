"""Kit results: per-check outcomes, folded into one outcome per feature group, stored
as JSON (one file per transport) for :mod:`kombu.testing.matrix`.  No pytest here."""

from __future__ import annotations

import datetime
import json
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .features import GROUPS

__all__ = (
    "FAIL",
    "NOT_SUPPORTED",
    "PASS",
    "SKIPPED",
    "build_run",
    "fold",
    "load_results",
    "results_dir",
    "transport_info",
    "write_results",
)

PASS = "pass"
FAIL = "fail"
NOT_SUPPORTED = "not supported"
SKIPPED = "skipped"
SCHEMA = 1


def results_dir() -> Path:
    """Where the stored results of the measured transports live (package data)."""
    return Path(__file__).resolve().parent / "results"


def _distribution_of(module: str) -> tuple[str | None, str | None]:
    from importlib import metadata

    top = module.split(".", 1)[0]
    for dist in metadata.packages_distributions().get(top, []):
        try:
            return dist, metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None, None


def transport_info(conn: Any) -> dict[str, Any]:
    """Name, class, distribution and version of ``conn``'s transport, and its URL (masked)."""
    cls = conn.get_transport_cls()
    name = conn.transport_cls if isinstance(conn.transport_cls, str) else cls.__name__
    dist = version = None
    try:
        from ..plugins import get_registry

        entry = get_registry().entry(name)
        dist, version = entry.distribution, entry.version
    except Exception:  # a class or path given directly: ask importlib.metadata
        pass
    if dist is None:
        dist, version = _distribution_of(cls.__module__)
    if version is None and dist == "kombu-core":
        from .. import __version__ as version
    implements = getattr(cls, "implements", {}) or {}
    prefix = getattr(conn, "uri_prefix", None)
    if prefix and isinstance(conn.transport_cls, str):
        # sqla+postgresql://...: one transport, one row per database it runs on.
        backend = str(conn.hostname or "").partition("://")[0].split("+", 1)[0]
        if backend:
            name = f"{prefix}+{backend}"
    return {
        "transport": name,
        "url": conn.as_uri(),
        "transport_class": f"{cls.__module__}:{cls.__qualname__}",
        "distribution": dist,
        "distribution_version": version,
        "implements": {k: (sorted(v) if isinstance(v, (set, frozenset)) else v)
                       for k, v in sorted(implements.items())},
    }


def fold(outcomes: Iterable[str]) -> str:
    """One outcome for a group: any fail fails; else any pass passes; else not supported."""
    seen = set(outcomes)
    if FAIL in seen:
        return FAIL
    if PASS in seen:
        return PASS
    if NOT_SUPPORTED in seen:
        return NOT_SUPPORTED
    return SKIPPED


def build_run(info: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]],
              when: datetime.date | None = None) -> dict[str, Any]:
    """The stored form of one kit run against one transport."""
    from .. import __version__

    by_group: dict[str, list[str]] = {}
    for check in checks.values():
        by_group.setdefault(check["group"], []).append(check["outcome"])
    order = [g for g in GROUPS if g in by_group] + sorted(set(by_group) - set(GROUPS))
    totals: dict[str, int] = {}
    for check in checks.values():
        totals[check["outcome"]] = totals.get(check["outcome"], 0) + 1
    return {
        "schema": SCHEMA,
        **dict(info),
        "kombu_core_version": __version__,
        "python": platform.python_version(),
        "date": (when or datetime.datetime.now(datetime.timezone.utc).date()).isoformat(),
        "features": {g: fold(by_group[g]) for g in order},
        "totals": dict(sorted(totals.items())),
        "checks": {k: dict(v) for k, v in sorted(checks.items())},
    }


def write_results(path: str | Path, runs: Mapping[str, dict[str, Any]]) -> list[Path]:
    """Write ``runs`` (transport -> run): one file, or ``<dir>/<transport>.json`` each.

    ``path`` is taken as a directory when it exists as one or ends with a slash.
    """
    target = Path(path)
    as_dir = target.is_dir() or str(path).endswith(("/", "\\"))
    if not as_dir and len(runs) > 1:
        raise ValueError(f"--kombu-results {path}: {len(runs)} transports ran "
                         f"({', '.join(runs)}); give a directory to get one file each")
    written = []
    for name, run in runs.items():
        out = target / f"{_safe(name)}.json" if as_dir else target
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(run, indent=2, sort_keys=False, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        written.append(out)
    return written


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def load_results(directory: str | Path | None = None) -> list[dict[str, Any]]:
    """Every stored run in ``directory`` (default: :func:`results_dir`), sorted by name."""
    folder = Path(directory) if directory is not None else results_dir()
    runs = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "features" in data:
            runs.append(data)
    return runs
