"""kombu.utils.compat."""

from __future__ import annotations

import gc
import io
import os
import sys
import textwrap

import pytest

from kombu.utils import compat
from kombu.utils.compat import (
    coro,
    detect_environment,
    entrypoints,
    fileno,
    maybe_fileno,
    nested,
    register_after_fork,
)


def test_detect_environment_default():
    assert compat._detect_environment() == "default"
    assert detect_environment() == "default"


def test_fileno_and_maybe_fileno(tmp_path):
    assert fileno(3) == 3
    with open(tmp_path / "f", "w") as fh:
        assert fileno(fh) == fh.fileno()
        assert maybe_fileno(fh) == fh.fileno()
    assert maybe_fileno(object()) is None
    assert maybe_fileno(io.BytesIO()) is None  # io.UnsupportedOperation
    with pytest.raises(AttributeError):
        fileno(object())


class Target:
    pass


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_register_after_fork_runs_in_child_only_for_live_objects():
    alive, dead = Target(), Target()
    r, w = os.pipe()

    def hook(obj):
        os.write(w, b"A" if obj is alive else b"D")

    register_after_fork(alive, hook)
    register_after_fork(dead, hook)
    del dead
    gc.collect()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    os.waitpid(pid, 0)
    os.close(w)
    assert os.read(r, 10) == b"A"
    os.close(r)
    compat._after_fork.clear()


def test_entrypoints_are_loaded_lazily(tmp_path, monkeypatch):
    info = tmp_path / "kombu_ep_test-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kombu-ep-test\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[kombu.test_group]\nfirst = kombu_ep_mod:VALUE\nsecond = kombu_ep_missing:X\n"
    )
    (tmp_path / "kombu_ep_mod.py").write_text(textwrap.dedent("VALUE = 42\n"))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = entrypoints("kombu.test_group")
        names = []
        with pytest.raises(ImportError):
            for ep, value in found:
                names.append((ep.name, value))
        assert names == [("first", 42)]
    finally:
        sys.modules.pop("kombu_ep_mod", None)


def test_coro_primes_the_generator():
    @coro
    def collector(out):
        while True:
            out.append((yield))

    out = []
    gen = collector(out)
    gen.send(1)
    gen.send(2)
    assert out == [1, 2]


def test_nested_enters_and_exits_in_order():
    log = []

    class CM:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append(f"enter {self.name}")
            return self.name

        def __exit__(self, *exc):
            log.append(f"exit {self.name}")

    with nested(CM("a"), CM("b")) as values:
        assert values == ["a", "b"]
    assert log == ["enter a", "enter b", "exit b", "exit a"]


GEVENT_PROBE = """
import json
from kombu.utils.compat import get_gevent_concurrent_error
before = get_gevent_concurrent_error()          # kombu imported first, gevent not yet
import gevent, gevent.socket
from kombu import Connection
from kombu.common import ignore_errors
err = get_gevent_concurrent_error()
# The real thing: two greenlets reading one socket at once.
a, b = gevent.socket.socketpair()
caught = []
def read():
    try:
        a.recv(1)
    except err as exc:
        caught.append(type(exc).__name__)
first, second = gevent.spawn(read), gevent.spawn(read)
gevent.sleep(0.05)
b.send(b"x")
gevent.joinall([first, second], timeout=5)
ignored = []
with ignore_errors(Connection("memory://")):
    raise err("This socket is already used by another greenlet")
ignored.append(True)
print(json.dumps([before, f"{err.__module__}.{err.__name__}", caught, ignored]))
"""


def test_gevent_concurrent_error_is_looked_up_when_asked():
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", GEVENT_PROBE], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    before, name, caught, ignored = json.loads(proc.stdout)
    assert before is None
    assert name == "gevent.exceptions.ConcurrentObjectUseError"
    assert caught == ["ConcurrentObjectUseError"]  # what gevent raises for real
    assert ignored == [True]  # kombu.common.ignore_errors swallows it
