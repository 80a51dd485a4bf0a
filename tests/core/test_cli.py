"""The kombu command: publish in one process, consume in another, on the default URL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def kombu(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kombu", *args], capture_output=True,
                          text=True, env=env, timeout=timeout)


@pytest.fixture
def env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "KOMBU_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    return env


def test_publish_then_consume_across_processes_on_default_url(env, tmp_path):
    pub = kombu("publish", "hello", "Hello, world", env=env)
    assert pub.returncode == 0, pub.stderr
    assert "filesystem://" in pub.stderr
    assert (tmp_path / "data" / "kombu").exists(), "data lives in the per-user data dir"
    con = kombu("consume", "hello", "--count", "1", env=env)
    assert con.returncode == 0, con.stderr
    assert con.stdout.strip() == "Hello, world"
    # Acked: nothing is left.
    again = kombu("consume", "hello", "--count", "1", "--timeout", "0.5", env=env)
    assert again.returncode == 1
    assert "no message" in again.stderr


def test_explicit_url_and_json(env, tmp_path):
    url = f"filesystem://?data_folder={tmp_path / 'q'}"
    env["KOMBU_URL"] = url
    assert kombu("publish", "jq", '{"a": 1}', "--json", env=env).returncode == 0
    out = kombu("consume", "jq", "-n", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == '{"a": 1}'


def test_transports_lists_builtins_and_plugins(env):
    out = kombu("transports", env=env)
    assert out.returncode == 0, out.stderr
    assert "memory" in out.stdout and "filesystem" in out.stdout
    assert "kombu-core" in out.stdout
    assert "demo" in out.stdout and "kombu-demo-transport 1.2.3" in out.stdout
    js = kombu("transports", "--json", env=env)
    import json

    rows = json.loads(js.stdout)
    mem = next(r for r in rows if "memory" in r["aliases"])
    assert "topic" in mem["features"]["exchange_type"]


def test_unknown_transport_is_a_clear_error(env):
    out = kombu("publish", "nosuch://host", "q", "body", env=env)
    assert out.returncode == 2
    assert "nosuch" in out.stderr


def test_usage_errors(env):
    out = kombu("publish", "only-queue", env=env)
    assert out.returncode != 0
    assert "QUEUE BODY" in out.stderr
