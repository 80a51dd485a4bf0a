"""What is installed: each transport, who provides it and what it states it supports."""

from __future__ import annotations

from typing import Any

from ..plugins import get_registry

__all__ = ("FEATURE_COLUMNS", "describe_transports", "format_matrix", "format_table")

#: Feature keys of :class:`kombu.transport.base.Implements`, in display order.
FEATURE_COLUMNS = (
    "asynchronous", "heartbeats", "priority", "message_ttl", "queue_ttl", "dead_letter",
    "fanout_across_connections", "cross_process", "persistent",
)


def _features(cls: type) -> dict[str, Any]:
    implements = getattr(cls, "implements", {}) or {}
    out: dict[str, Any] = {
        "exchange_type": sorted(implements.get("exchange_type", ())),
    }
    for key in FEATURE_COLUMNS:
        out[key] = bool(implements.get(key, False))
    return out


def describe_transports() -> list[dict[str, Any]]:
    """One row per installed transport target; aliases of one class share a row."""
    registry = get_registry()
    rows: dict[str, dict[str, Any]] = {}
    for name, entry in sorted(registry.transports().items()):
        row = rows.get(entry.target_path)
        if row is not None:
            row["aliases"].append(name)
            continue
        row = rows[entry.target_path] = {
            "name": name,
            "aliases": [name],
            "distribution": entry.distribution,
            "version": entry.version,
            "target": entry.target_path,
            "source": entry.source,
        }
        try:
            row["features"] = _features(registry.transport_class(name))
        except Exception as exc:  # a client library missing must not hide the rest
            row["error"] = f"{type(exc).__name__}: {exc}"
    for dist, reason in registry.failed().items():
        rows[f"!{dist}"] = {"name": "-", "aliases": [], "distribution": dist,
                            "version": None, "target": "-", "source": "plugin",
                            "error": f"plugin failed to load: {reason}"}
    return list(rows.values())


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`describe_transports` rows."""
    lines = []
    for row in rows:
        head = (f"{', '.join(row['aliases']) or row['name']:<34} "
                f"{row['distribution']} {row['version'] or ''}".rstrip())
        lines.append(head)
        if "error" in row:
            lines.append(f"    unavailable: {row['error']}")
            continue
        feats = row["features"]
        stated = [k for k in FEATURE_COLUMNS if feats[k]]
        lines.append(f"    exchanges: {', '.join(feats['exchange_type'])}")
        lines.append(f"    features:  {', '.join(stated) or '-'}")
    return "\n".join(lines)


def format_matrix() -> str:
    """The feature matrix measured by the conformance kit (see kombu.testing)."""
    from ..testing.matrix import render_matrix

    return render_matrix()
