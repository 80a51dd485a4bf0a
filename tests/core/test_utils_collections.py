"""kombu.utils.collections."""

from __future__ import annotations

import pytest

from kombu.utils.collections import EqualityDict, HashedSeq, eqhash


def test_hashed_seq():
    seq = HashedSeq(1, "a", None)
    assert list(seq) == [1, "a", None]
    assert hash(seq) == hash((1, "a", None)) == seq.hashvalue
    assert {seq: 1}[HashedSeq(1, "a", None)] == 1


class Conn:
    def __init__(self, host):
        self.host = host

    def __eqhash__(self):
        return HashedSeq("conn", self.host)


def test_eqhash():
    assert eqhash(Conn("h")) == HashedSeq("conn", "h")
    assert eqhash("x") == hash("x")


def test_equality_dict_keys_by_eqhash():
    d = EqualityDict()
    d[Conn("h1")] = "one"
    assert d[Conn("h1")] == "one"
    assert Conn("h2") not in d.values()
    with pytest.raises(KeyError):
        d[Conn("h2")]
    d[Conn("h1")] = "uno"
    assert len(d) == 1 and d[Conn("h1")] == "uno"
    del d[Conn("h1")]
    assert len(d) == 0
    d["plain"] = 1
    assert d["plain"] == 1
