"""scripts/test.py as a developer and CI run it: groups whose services are missing are
skipped (or fail under CI=true) while the others run; longest groups first; a live
progress line on a terminal; a summary table with durations.

"Redis and RabbitMQ stopped" is reproduced without touching the shared brokers: the
runner's services.sh is pointed at ports nothing listens on, with a start command
that fails (KOMBU_SERVICE_<NAME>_PORT / _START).  Most tests run the real script on
a small copy of the repository layout (its own tests/ groups) so they are quick;
one runs it on this repository's lint and broker groups.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stopped(*services: str) -> dict[str, str]:
    """Environment making ``services`` unreachable and impossible to start."""
    env = {}
    for name in services:
        key = name.upper().replace("-", "_")
        env[f"KOMBU_SERVICE_{key}_PORT"] = str(dead_port())
        env[f"KOMBU_SERVICE_{key}_START"] = "false"
    return env


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k != "CI" and not k.startswith(("KOMBU_SERVICE_", "KOMBU_TEST_"))}
    env.update(KOMBU_TEST_VENV=sys.prefix, KOMBU_TEST_LOGS=str(tmp_path / "logs"), **extra)
    return env


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the runner and services.sh with test groups of its own."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("test.py", "services.sh"):
        shutil.copy(ROOT / "scripts" / name, root / "scripts" / name)
    return root


def add_group(repo: Path, name: str, body: str, services: str = "") -> None:
    folder = repo / "tests" / name
    folder.mkdir(parents=True)
    (folder / f"test_{name}.py").write_text(textwrap.dedent(body))
    if services:
        (folder / "SERVICES").write_text(services + "\n")


QUICK = """
    def test_one():
        pass

    def test_two():
        pass
"""


def run_tests(repo: Path, *args: str, env: dict[str, str],
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "scripts/test.py", "--no-install", *args],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


def test_groups_with_missing_services_are_skipped_locally_and_fail_in_ci(repo, tmp_path):
    add_group(repo, "core", QUICK)
    add_group(repo, "packaging", QUICK)
    add_group(repo, "redis", QUICK, "redis")
    add_group(repo, "amqp", QUICK, "rabbitmq")
    env = base_env(tmp_path, **stopped("redis", "rabbitmq"))
    started = time.monotonic()
    local = run_tests(repo, env=env)
    assert local.returncode == 0, local.stdout + local.stderr
    assert time.monotonic() - started < 60, "no long wait for services that cannot start"
    skipped = [line for line in local.stdout.splitlines() if ": skipped, " in line]
    assert sorted(skipped) == sorted([
        f"group amqp: skipped, missing service: rabbitmq is not answering on "
        f"127.0.0.1:{env['KOMBU_SERVICE_RABBITMQ_PORT']} and starting it failed "
        f"(with CI=true this fails the run)",
        f"group redis: skipped, missing service: redis is not answering on "
        f"127.0.0.1:{env['KOMBU_SERVICE_REDIS_PORT']} and starting it failed "
        f"(with CI=true this fails the run)",
    ])
    assert "group core: passed" in local.stdout and "group packaging: passed" in local.stdout
    assert local.stdout.splitlines()[-1] == \
        "4 passed, 0 failed; groups skipped for missing services: amqp, redis"

    ci = run_tests(repo, env={**env, "CI": "true"})
    assert ci.returncode == 1
    assert "group core: passed" in ci.stdout and "group packaging: passed" in ci.stdout
    assert "CI=true: missing services fail the run: rabbitmq, redis" in ci.stdout
    assert "failing groups: amqp, redis" in ci.stdout


def test_a_service_of_services_d_is_handled_like_the_built_in_ones(repo, tmp_path):
    add_group(repo, "zk", QUICK, "zookeeper")
    add_group(repo, "sql", QUICK, "fakedb")
    services_d = repo / "scripts" / "services.d"
    services_d.mkdir()
    (services_d / "zookeeper.sh").write_text(
        "#!/usr/bin/env bash\necho 'services: zookeeper is not installed (apt install "
        "zookeeperd)' >&2\nexit 1\n")
    (services_d / "fakedb.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    for script in services_d.iterdir():
        script.chmod(0o755)
    out = run_tests(repo, env=base_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "group zk: skipped, missing service: zookeeper is not installed (apt install " \
           "zookeeperd)" in out.stdout
    assert "group sql: passed" in out.stdout


def test_longest_groups_first_from_the_last_run(repo, tmp_path):
    for name in ("alpha", "beta", "gamma", "delta"):
        add_group(repo, name, QUICK)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "durations.json").write_text(json.dumps({"alpha": 5, "beta": 90, "gamma": 30}))
    out = run_tests(repo, "--jobs", "1", env=base_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    order = re.findall(r"^started group (\w+)", out.stdout, re.MULTILINE)
    assert order == ["delta", "beta", "gamma", "alpha"], "never timed first, then longest"
    durations = json.loads((logs / "durations.json").read_text())
    assert set(durations) == {"alpha", "beta", "gamma", "delta"}
    assert all(0 < seconds < 60 for seconds in durations.values()), "measured this run"


def test_longest_first_holds_for_groups_that_need_a_running_service(repo, tmp_path):
    add_group(repo, "big", QUICK, "upsvc")
    add_group(repo, "small", QUICK)
    (repo / "scripts" / "services.d").mkdir()
    script = repo / "scripts" / "services.d" / "upsvc.sh"
    script.write_text("#!/usr/bin/env bash\nexit 0\n")  # already up: answers at once
    script.chmod(0o755)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "durations.json").write_text(json.dumps({"big": 90, "small": 5}))
    out = run_tests(repo, "--jobs", "1", env=base_env(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert re.findall(r"^started group (\w+)", out.stdout, re.MULTILINE) == ["big", "small"]


def test_summary_table_and_a_failing_group_does_not_stop_the_others(repo, tmp_path):
    add_group(repo, "good", QUICK)
    add_group(repo, "bad", """
        def test_fine():
            pass

        def test_broken():
            assert 1 == 2
    """)
    out = run_tests(repo, env=base_env(tmp_path))
    assert out.returncode == 1
    table = out.stdout.split("======== summary ========\n", 1)[1].splitlines()
    assert table[0].split() == ["group", "result", "time", "tests"]
    rows = {line.split()[0]: line.split() for line in table[1:3]}
    assert rows["good"][1:2] == ["passed"] and re.fullmatch(r"\d+:\d\d", rows["good"][2])
    assert rows["bad"][1:2] == ["failed"] and rows["bad"][3:] == ["1", "passed,", "1",
                                                                  "failed"]
    assert "failing groups: bad" in out.stdout
    assert out.stdout.splitlines()[-1] == "3 passed, 1 failed"
    assert "test_broken" in out.stdout, "the failing group's report is shown"
    assert "\x1b[" not in out.stdout, "no live line when not on a terminal"


def test_live_progress_line_on_a_terminal(repo, tmp_path):
    add_group(repo, "slow", """
        import time

        import pytest

        @pytest.mark.parametrize("n", range(8))
        def test_step(n):
            time.sleep(0.6)
            assert n != 2
    """)
    # A group whose service takes a while to start waits for it; the other runs meanwhile.
    add_group(repo, "late", QUICK, "slowsvc")
    (repo / "scripts" / "services.d").mkdir()
    script = repo / "scripts" / "services.d" / "slowsvc.sh"
    script.write_text("#!/usr/bin/env bash\nsleep 6\n")  # longer than the runner waits
    script.chmod(0o755)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "scripts/test.py", "--no-install"], cwd=repo,
                            env=base_env(tmp_path, COLUMNS="100"), stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(10)
    os.close(master)
    text = seen.decode(errors="replace")
    assert proc.returncode == 1, text
    live = re.findall(r"slow\s+(\d+) tests done, (\d+) failed", text)
    done = [int(d) for d, _ in live]
    assert len(set(done)) >= 3 and done == sorted(done), f"the count grows as tests run: {live}"
    assert any(int(f) == 1 for d, f in live if int(d) >= 3), "failures so far are shown"
    assert "\x1b[" in text, "the live lines are redrawn in place"
    assert "======== group slow: FAILED (exit 1)" in text
    assert re.search(r"slow\s+\d+ tests done, \d+ failed[^\n]*\n\s+late: waiting for "
                     r"slowsvc to start", text), "slow runs while late waits for its service"
    assert "======== group late: passed" in text


def test_this_repository_with_redis_and_rabbitmq_stopped(tmp_path):
    """The issue's case on the real groups: lint runs, the broker groups skip."""
    groups = ["lint", "redis", "amqp", "cli", "conformance"]
    env = base_env(tmp_path, **stopped("redis", "rabbitmq"))
    out = subprocess.run([sys.executable, "scripts/test.py", "--no-install", *groups],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "group lint: passed" in out.stdout
    skipped = re.findall(r"^group (\w+): skipped, missing service: ", out.stdout, re.MULTILINE)
    assert sorted(skipped) == ["amqp", "cli", "conformance", "redis"]
    assert "Traceback" not in out.stdout + out.stderr
    ci = subprocess.run([sys.executable, "scripts/test.py", "--no-install", *groups],
                        cwd=ROOT, env={**env, "CI": "true"}, capture_output=True, text=True,
                        timeout=300)
    assert ci.returncode == 1
    assert "group lint: passed" in ci.stdout
    assert "CI=true: missing services fail the run: rabbitmq, redis" in ci.stdout
