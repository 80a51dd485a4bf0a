"""kombu.utils.text."""

from __future__ import annotations

import re

from kombu.utils.text import (
    escape_regex,
    fmatch_best,
    fmatch_iter,
    pluralize,
    version_string_as_tuple,
)


def test_escape_regex():
    assert escape_regex("a.b*c") == r"a\.b\*c"
    assert escape_regex("a.b c", white=". ") == "a.b c"
    assert re.match(escape_regex("x+y?"), "x+y?")


def test_fuzzy_match():
    haystack = ["redis", "rabbitmq", "sqs", "mongodb"]
    matches = dict((key, ratio) for ratio, key in fmatch_iter("rediss", haystack))
    assert "redis" in matches and "sqs" not in matches
    assert fmatch_best("rabitmq", haystack) == "rabbitmq"
    assert fmatch_best("zzzz", haystack) is None
    assert fmatch_best("mongo", haystack, min_ratio=0.9) is None


def test_version_string_as_tuple():
    assert version_string_as_tuple("5") == (5, 0, 0, "", "")
    assert version_string_as_tuple("5.3") == (5, 3, 0, "", "")
    assert version_string_as_tuple("5.3.1") == (5, 3, 1, "", "")
    assert version_string_as_tuple("5.3.1rc2") == (5, 3, 1, "rc2", "")
    assert version_string_as_tuple("5.3.1rc2-dev") == (5, 3, 1, "rc2", "dev")
    assert version_string_as_tuple("5.3.1.b1-x") == (5, 3, 1, "b1", "x")
    assert version_string_as_tuple("1.2.3").micro == 3


def test_pluralize():
    assert pluralize(1, "message") == "message"
    assert pluralize(0, "message") == "messages"
    assert pluralize(2, "box", "es") == "boxes"
