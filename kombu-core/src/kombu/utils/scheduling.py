"""Scheduling helpers: fair draining of several resources and queue-order cycles."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = (
    "CYCLE_ALIASES",
    "FairCycle",
    "cycle_by_name",
    "priority_cycle",
    "round_robin_cycle",
    "sorted_cycle",
)


class FairCycle:
    """Take turns between ``resources`` so that each gets an equal chance.

    ``get(callback, **kwargs)`` calls ``fun(resource, callback, **kwargs)`` on
    the next resource; a resource that raises ``predicate`` (typically
    ``queue.Empty``) is skipped in favour of the following one.  When every
    resource raised, the last ``predicate`` error propagates.  ``resources``
    is read live: appending to or removing from it is seen by the next call.
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        resources: Sequence[Any],
        predicate: type[BaseException] = Exception,
    ) -> None:
        self.fun = fun
        self.resources = resources
        self.predicate = predicate
        self.pos = 0

    def _next(self) -> Any:
        resources = self.resources
        if not resources:
            raise self.predicate()
        pos = self.pos
        if pos >= len(resources):
            pos = 0
        self.pos = pos + 1
        return resources[pos]

    def get(self, callback: Callable[..., Any], **kwargs: Any) -> Any:
        """Call ``fun`` on resources in turn until one does not raise ``predicate``."""
        fun = self.fun
        predicate = self.predicate
        tried = 0
        while True:
            resource = self._next()
            try:
                return fun(resource, callback, **kwargs)
            except predicate:
                tried += 1
                if tried >= len(self.resources):
                    raise

    def close(self) -> None:
        """Nothing to release; kept for API compatibility."""

    def __repr__(self) -> str:
        return f"<FairCycle: {self.pos}/{len(self.resources)} {list(self.resources)!r}>"


class round_robin_cycle:
    """Items in round-robin order: the most recently used one moves to the end."""

    def __init__(self, it: Iterable[Any] | None = None) -> None:
        self.items: list[Any] = list(it) if it is not None else []

    def update(self, it: Iterable[Any]) -> None:
        """Replace the items (keeping this object)."""
        self.items[:] = list(it)

    def consume(self, n: int) -> list[Any]:
        """The next ``n`` items, in current order."""
        return self.items[:n]

    def rotate(self, last_used: Any) -> Any:
        """Move ``last_used`` to the end so the others get a turn first."""
        items = self.items
        try:
            items.append(items.pop(items.index(last_used)))
        except ValueError:
            pass
        return last_used


class priority_cycle(round_robin_cycle):
    """Items always in the order given: the first has the highest priority."""

    def rotate(self, last_used: Any) -> Any:
        """Order never changes for a priority cycle."""
        return last_used


class sorted_cycle(priority_cycle):
    """Items in sorted order."""

    def consume(self, n: int) -> list[Any]:
        return sorted(self.items)[:n]


CYCLE_ALIASES: dict[str, type[round_robin_cycle]] = {
    "round_robin": round_robin_cycle,
    "priority": priority_cycle,
    "sorted": sorted_cycle,
}


def cycle_by_name(name: str | type[round_robin_cycle]) -> type[round_robin_cycle]:
    """The cycle class for an alias (``round_robin``, ``priority``, ``sorted``).

    A class is returned unchanged; ``"package.module:Class"`` is imported.
    """
    if not isinstance(name, str):
        return name
    try:
        return CYCLE_ALIASES[name]
    except KeyError:
        if ":" in name or "." in name:
            from .imports import load_symbol

            cls: type[round_robin_cycle] = load_symbol(name)
            return cls
        known = ", ".join(sorted(CYCLE_ALIASES))
        raise KeyError(f"Unknown cycle {name!r}: choose one of {known}") from None
