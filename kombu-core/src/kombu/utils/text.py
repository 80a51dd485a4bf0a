"""Text helpers: fuzzy matching, version strings, plurals."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from difflib import SequenceMatcher
from typing import Any

from .. import version_info_t

__all__ = (
    "escape_regex",
    "fmatch_best",
    "fmatch_iter",
    "pluralize",
    "version_info_t",
    "version_string_as_tuple",
)


def escape_regex(p: str, white: str = "") -> str:
    """Escape every character of ``p`` except alphanumerics and those in ``white``."""
    return "".join(c if c.isalnum() or c in white else "\\" + c for c in p)


def fmatch_iter(
    needle: str, haystack: Iterable[str], min_ratio: float = 0.6
) -> Iterator[tuple[float, str]]:
    """Yield ``(ratio, key)`` for each key of ``haystack`` similar enough to ``needle``."""
    for key in haystack:
        ratio = SequenceMatcher(None, needle, key).ratio()
        if ratio >= min_ratio:
            yield ratio, key


def fmatch_best(needle: str, haystack: Iterable[str], min_ratio: float = 0.6) -> str | None:
    """The key of ``haystack`` most similar to ``needle``, or ``None``."""
    best = max(fmatch_iter(needle, haystack, min_ratio), default=None, key=lambda m: m[0])
    return best[1] if best is not None else None


_MICRO = re.compile(r"^(\d*)(.*)$")


def version_string_as_tuple(s: str) -> version_info_t:
    """``'5.3.1rc2-dev'`` -> ``version_info_t(5, 3, 1, 'rc2', 'dev')``."""
    parts = s.split(".", 3)
    major = int(parts[0])
    minor = int(parts[1]) if len(parts) > 1 and parts[1] else 0
    micro_text = parts[2] if len(parts) > 2 else ""
    rest = parts[3] if len(parts) > 3 else ""
    match = _MICRO.match(micro_text)
    assert match is not None
    digits, suffix = match.groups()
    releaselevel = suffix + rest if suffix else rest
    serial = ""
    if "-" in releaselevel:
        releaselevel, serial = releaselevel.split("-", 1)
    return version_info_t(major, minor, int(digits or 0), releaselevel, serial)


def pluralize(n: Any, text: str, suffix: str = "s") -> str:
    """``text`` with ``suffix`` added unless ``n`` is exactly one."""
    return text + suffix if n != 1 else text
