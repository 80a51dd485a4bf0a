"""kombu.matcher: the pattern matching registry."""

from __future__ import annotations

import pytest

from kombu import matcher
from kombu.matcher import MatcherNotInstalled, MatcherRegistry, match, register, unregister


def test_glob_is_default():
    assert match("logs.error", "logs.*")
    assert not match("logs.error", "audit.*")
    assert match(b"logs.error", b"logs.*")
    assert match("logs.error", "logs.*", matcher="glob")


def test_pcre_matches_at_start():
    assert match("logs.error", r"logs\.(error|warn)", matcher="pcre")
    assert not match("the logs.error", r"logs", matcher="pcre")
    assert match("LOGS", "logs", matcher="pcre", matcher_kwargs={"flags": 2})  # re.IGNORECASE


def test_unknown_matcher():
    with pytest.raises(MatcherNotInstalled):
        match("a", "a", matcher="nope")
    with pytest.raises(MatcherRegistry.MatcherNotInstalled):
        unregister("nope")


def test_register_and_unregister():
    calls = []

    def exact(data, pattern):
        calls.append((data, pattern))
        return data == pattern

    register("exact", exact)
    try:
        assert match("a", "a", matcher="exact")
        assert not match("a", "b", matcher="exact")
        assert calls == [("a", "a"), ("a", "b")]  # data first unless listed pattern-first
    finally:
        unregister("exact")
    with pytest.raises(MatcherNotInstalled):
        match("a", "a", matcher="exact")


def test_module_level_names_are_the_default_registry():
    assert matcher.match == matcher.registry.match
    assert matcher.register == matcher.registry.register
    assert matcher.registry.matcher_pattern_first == ["pcre"]


def test_private_registry():
    r = MatcherRegistry()
    with pytest.raises(MatcherNotInstalled):
        r.match("a", "a")
    r.register("glob", lambda d, p: d == p)
    assert r.match("x", "x")
    with pytest.raises(MatcherNotInstalled):
        r._set_default_matcher("missing")
