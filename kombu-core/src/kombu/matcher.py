"""Pattern matching registry."""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatch
from typing import Any

__all__ = (
    "MatcherNotInstalled",
    "MatcherRegistry",
    "match",
    "register",
    "register_glob",
    "register_pcre",
    "registry",
    "unregister",
)

Matcher = Callable[..., Any]


class MatcherNotInstalled(Exception):
    """Matcher not installed/found."""


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else value


class MatcherRegistry:
    """Pattern matching function registry."""

    MatcherNotInstalled = MatcherNotInstalled

    #: Matchers called as ``matcher(pattern, data)`` instead of ``matcher(data, pattern)``.
    matcher_pattern_first = ["pcre"]

    def __init__(self) -> None:
        self._matchers: dict[str, Matcher] = {}
        self._default_matcher: Matcher | None = None

    def register(self, name: str, matcher: Matcher) -> None:
        """Add matcher by name to the registry."""
        self._matchers[name] = matcher

    def unregister(self, name: str) -> None:
        """Remove matcher by name from the registry."""
        try:
            del self._matchers[name]
        except KeyError:
            raise self.MatcherNotInstalled(f"No matcher installed for {name}")

    def _set_default_matcher(self, name: str) -> None:
        try:
            self._default_matcher = self._matchers[name]
        except KeyError:
            raise self.MatcherNotInstalled(f"No matcher installed for {name}")

    def match(
        self,
        data: str | bytes,
        pattern: str | bytes,
        matcher: str | None = None,
        matcher_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Match ``data`` by ``pattern`` using ``matcher`` (default: glob).

        Returns a true value if ``data`` matches. Raises
        :exc:`MatcherNotInstalled` if the matching method is not available.
        """
        if matcher is None:
            func = self._default_matcher or self._matchers.get("glob")
            if func is None:
                raise self.MatcherNotInstalled("No default matcher installed")
        else:
            try:
                func = self._matchers[matcher]
            except KeyError:
                raise self.MatcherNotInstalled(f"No matcher installed for {matcher}")
        first, second = _text(data), _text(pattern)
        if matcher in self.matcher_pattern_first:
            first, second = second, first
        return func(first, second, **(matcher_kwargs or {}))


#: The default registry.
registry = MatcherRegistry()

#: Match data by pattern using matcher (see :meth:`MatcherRegistry.match`).
match = registry.match

#: Register a new matching method: ``register(name, matcher)``; the matcher
#: is passed data and pattern.
register = registry.register

#: Unregister a registered matching method by name.
unregister = registry.unregister


def register_glob() -> None:
    """Register glob (shell-style wildcards) into default registry."""
    registry.register("glob", fnmatch)


def register_pcre() -> None:
    """Register pcre (a regular expression matched at the start) into default registry."""
    registry.register("pcre", re.match)


register_glob()
register_pcre()
registry._set_default_matcher("glob")
