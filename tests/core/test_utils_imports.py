"""kombu.utils.imports."""

from __future__ import annotations

import os.path

import pytest

from kombu.utils.imports import instantiate, symbol_by_name


def test_dotted_and_colon_names():
    assert symbol_by_name("os.path.join") is os.path.join
    assert symbol_by_name("os.path:join") is os.path.join
    assert symbol_by_name("collections:OrderedDict.fromkeys").__name__ == "fromkeys"
    assert symbol_by_name("os.path") is os.path
    assert symbol_by_name("os") is os


def test_aliases_and_non_strings():
    aliases = {"memory": "kombu.transport.memory:Transport"}
    from kombu.transport.memory import Transport

    assert symbol_by_name("memory", aliases) is Transport
    assert symbol_by_name(Transport) is Transport


def test_relative_name_with_package():
    assert symbol_by_name(".path:join", package="os") is os.path.join


def test_missing_and_default():
    with pytest.raises(ImportError):
        symbol_by_name("no_such_module_xyz.Thing")
    with pytest.raises(AttributeError):
        symbol_by_name("os.path.no_such_attr")
    sentinel = object()
    assert symbol_by_name("no_such_module_xyz.Thing", default=sentinel) is sentinel
    assert symbol_by_name("os.no_such_attr", default=sentinel) is sentinel
    with pytest.raises(ImportError):
        symbol_by_name(".path:join")  # relative without a package


def test_custom_importer():
    seen = []

    def imp(name, package=None):
        seen.append(name)
        return os

    assert symbol_by_name("anything:getcwd", imp=imp) is os.getcwd
    assert seen == ["anything"]


def test_instantiate():
    assert instantiate("collections:OrderedDict", [("a", 1)]) == {"a": 1}
    assert instantiate("datetime.timedelta", seconds=60).total_seconds() == 60
