"""The kombu command as a user runs it (a subprocess), on filesystem:// - no server needed.

The same command against Redis and RabbitMQ, and every broker error class, is
tested in tests/cli/ (a group that needs those services).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path

import pytest
from cli_helpers import EXIT, kombu, kombu_on_terminal

from kombu import Connection, Queue
from kombu.testing.results import load_results


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KOMBU_URL", "COLUMNS")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    return env


@pytest.fixture
def queue() -> str:
    return f"cli-{uuid.uuid4().hex[:10]}"


def publish_raw(url: str, queue: str, body: bytes, content_type: str,
                content_encoding: str = "utf-8") -> None:
    """A message the command cannot decode, sent with the Python API."""
    with Connection(url) as conn:
        conn.Producer().publish(body, routing_key=queue, content_type=content_type,
                                content_encoding=content_encoding,
                                declare=[Queue(queue, routing_key=queue)])


def test_publish_then_consume_across_processes_on_default_url(env, tmp_path, queue):
    pub = kombu("publish", queue, "Hello, world", env=env)
    assert pub.returncode == 0, pub.stderr
    assert pub.stderr.strip() == f"kombu publish: published 1 message to {queue!r} on " \
                                 f"filesystem://"
    assert (tmp_path / "data" / "kombu").exists(), "data lives in the per-user data dir"
    con = kombu("consume", queue, "--count", "1", env=env)
    assert con.returncode == 0, con.stderr
    assert con.stdout == "Hello, world\n"
    # Acked: nothing is left.
    again = kombu("consume", queue, "--count", "1", "--timeout", "0.5", env=env)
    assert again.returncode == EXIT["no_message"]
    assert again.stderr.strip() == f"kombu consume: no message on {queue!r} within 0.5 s"


def test_kombu_url_is_used_and_only_a_url_with_scheme_is_taken_for_one(env, tmp_path, queue):
    env["KOMBU_URL"] = f"filesystem://?data_folder={tmp_path / 'q'}"
    # Three positionals and $KOMBU_URL: QUEUE and two bodies, not a host.
    pub = kombu("publish", queue, "hello", "world", env=env)
    assert pub.returncode == 0, pub.stderr
    assert f"published 2 messages to {queue!r} on filesystem://" in pub.stderr
    assert any((tmp_path / "q").iterdir()), "the messages went to $KOMBU_URL's folder"
    out = kombu("consume", queue, "-n", "2", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["hello", "world"]


def test_explicit_url_wins_over_kombu_url(env, tmp_path, queue):
    env["KOMBU_URL"] = f"filesystem://?data_folder={tmp_path / 'env'}"
    url = f"filesystem://?data_folder={tmp_path / 'explicit'}"
    assert kombu("publish", url, queue, "x", env=env).returncode == 0
    assert not (tmp_path / "env").exists() or not any((tmp_path / "env").iterdir())
    out = kombu("consume", url, queue, "-n", "1", env=env)
    assert out.stdout == "x\n"


def test_options_anywhere_among_positionals(env, queue):
    pub = kombu("publish", queue, "--json", '{"a": 1}', "--serializer", "json", "[2]",
                env=env)
    assert pub.returncode == 0, pub.stderr
    out = kombu("consume", "--count", "2", queue, "--timeout", "5", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ['{"a": 1}', "[2]"]


def test_body_from_standard_input(env, queue):
    pub = kombu("publish", queue, "-", env=env, input="line one\nline two\n\n")
    assert pub.returncode == 0, pub.stderr
    out = kombu("consume", queue, "-n", "1", env=env)
    assert out.stdout == "line one\nline two\n\n", "the body, less one newline, plus one"


@pytest.mark.parametrize(("args", "message"), [
    (["consume", "q", "--count", "0"],
     "argument -n/--count: expected a whole number of 1 or more, got '0'"),
    (["consume", "q", "--count", "-1"],
     "argument -n/--count: expected a whole number of 1 or more, got '-1'"),
    (["consume", "q", "--timeout", "-1"],
     "argument --timeout: expected a number of seconds greater than 0, got '-1'"),
    (["consume", "q", "--timeout", "soon"],
     "argument --timeout: expected a number of seconds greater than 0, got 'soon'"),
    (["publish", "q", "x", "--retries", "-2"],
     "argument --retries: expected a whole number of 0 or more, got '-2'"),
    (["consume", "q", "--on-error", "skip"], "argument --on-error: invalid choice: 'skip'"),
    (["consume"], "the following arguments are required: [URL] QUEUE"),
    (["consume", "localhost", "q"], "expected one QUEUE, got 2 ('localhost', 'q'); a URL "
                                     "must contain '://'"),
    (["publish", "q"], "missing BODY: kombu publish [URL] QUEUE BODY [BODY ...]"),
    (["publish", "redis://h", "q"], "missing BODY"),
    (["consume", "q", "--accept", "pickel"], "--accept: unknown serializer 'pickel'"),
    (["transports", "--json", "--matrix"], "--json lists the installed transports"),
    (["consume", "q", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_argument_errors_name_the_problem_with_the_commands_usage(env, args, message):
    out = kombu(*args, env=env)
    assert out.returncode == EXIT["usage"]
    assert out.stdout == ""
    usage, error = out.stderr.strip().splitlines()[0], out.stderr.strip().splitlines()[-1]
    assert usage.startswith(f"usage: kombu {args[0]} ")
    assert error.startswith(f"kombu {args[0]}: error: ")
    assert message in error


def test_usage_lines_say_what_each_command_takes(env):
    assert kombu("publish", "-h", env=env).stdout.startswith(
        "usage: kombu publish [-h] [options] [URL] QUEUE BODY [BODY ...]\n")
    assert kombu("consume", "-h", env=env).stdout.startswith(
        "usage: kombu consume [-h] [options] [URL] QUEUE\n")
    none = kombu(env=env)
    assert none.returncode == EXIT["usage"]
    assert "a COMMAND is required: transports, publish or consume" in none.stderr


def test_help_documents_every_exit_status(env):
    out = kombu("--help", env=env)
    assert out.returncode == 0
    documented = {int(m) for m in re.findall(r"^\s+(\d+)  \S", out.stdout, re.MULTILINE)}
    assert set(EXIT.values()) | {141} == documented
    assert "KOMBU_URL" in out.stdout


def test_version_lists_each_installed_distribution(env):
    from importlib import metadata

    out = kombu("--version", env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"kombu-core {metadata.version('kombu-core')} (Python ")
    assert "kombu-demo-transport 1.2.3" in lines
    for ep in metadata.entry_points(group="kombu.plugins"):
        assert f"{ep.dist.metadata['Name']} {ep.dist.version}" in lines


def test_unknown_transport_names_the_plugin_to_install(env):
    env["KOMBU_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # as if kombu-sqs were not installed
    out = kombu("publish", "sqs://", "q", "body", env=env)
    assert out.returncode == EXIT["not_installed"]
    assert out.stderr.count("\n") == 1
    assert "kombu publish: cannot use sqs://: transport not installed" in out.stderr
    assert "pip install 'kombu-core[sqs]'" in out.stderr


def test_malformed_url_is_a_usage_error(env):
    out = kombu("publish", "://nohost", "q", "body", env=env)
    assert out.returncode == EXIT["usage"]
    assert out.stderr.startswith("kombu publish: bad URL ")
    assert "Traceback" not in out.stderr


def test_serializers_are_offered_only_when_their_library_imports(env):
    # The same interpreter with PyYAML and msgpack made unimportable.
    blocked = [os.environ.get("PYTHON", __import__("sys").executable), "-c",
               "import sys; sys.modules['yaml'] = sys.modules['msgpack'] = None; "
               "sys.argv[0] = 'kombu'; from kombu.cli import main; sys.exit(main())"]
    out = kombu("publish", "q", "x", "--serializer", "nope", env=env, python=blocked)
    assert out.returncode == EXIT["usage"]
    error = out.stderr.strip().splitlines()[-1]
    offered = error.split("use one of ", 1)[1].split(";", 1)[0]
    assert "json" in offered and "pickle" in offered
    assert "yaml" not in offered and "msgpack" not in offered
    assert "not available until their library is installed: msgpack (pip install " \
           "'kombu-core[msgpack]'), yaml (pip install 'kombu-core[yaml]')" in error
    named = kombu("publish", "q", "x", "--serializer", "yaml", env=env, python=blocked)
    assert named.returncode == EXIT["usage"]
    assert "serializer 'yaml' is not available" in named.stderr
    # With the libraries installed, they are offered.
    full = kombu("publish", "q", "x", "--serializer", "nope", env=env)
    assert "msgpack" in full.stderr.split("use one of ", 1)[1].split(";", 1)[0]


def test_consume_stops_at_a_pickle_message_and_says_what_to_do(env, tmp_path, queue):
    url = f"filesystem://?data_folder={tmp_path / 'fs'}"
    assert kombu("publish", url, queue, "first", env=env).returncode == 0
    assert kombu("publish", url, queue, "--serializer", "pickle", "pickled",
                 env=env).returncode == 0
    assert kombu("publish", url, queue, "last", env=env).returncode == 0
    out = kombu("consume", url, queue, "--timeout", "2", env=env)
    assert out.returncode == EXIT["bad_message"]
    assert out.stdout == "first\n"
    line = out.stderr.strip()
    assert "\n" not in line
    assert "that is not accepted (content type 'application/x-python-serialize', pickle)" \
        in line
    assert "pass --accept json,pickle to decode it" in line
    assert "accept=" not in line, "the hint is for the command line, not the Python API"
    assert "--on-error reject" in line and "requeue" in line and "print" in line
    # The stop left it in place: accepting pickle now decodes it, then the rest.
    again = kombu("consume", url, queue, "--accept", "json,pickle", "-n", "2", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == ["pickled", "last"]


def test_on_error_print_shows_the_raw_message_and_leaves_it(env, tmp_path, queue):
    url = f"filesystem://?data_folder={tmp_path / 'fs'}"
    publish_raw(url, queue, b"{not json", "application/json")
    assert kombu("publish", url, queue, "good", env=env).returncode == 0
    out = kombu("consume", url, queue, "--on-error", "print", "-n", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "# message not decoded: cannot be decoded (cannot decode application/json body: "
        "JSONDecodeError: Expecting property name enclosed in double quotes: line 1 "
        "column 2 (char 1))",
        "# content-type: application/json, content-encoding: utf-8, 9 bytes",
        "# headers: {}",
        "{not json",
        "good",
    ]
    assert f"printed a message on {queue!r}" in out.stderr
    assert "it stays on the queue" in out.stderr
    # Still there for the next consumer.
    left = kombu("consume", url, queue, "--on-error", "reject", "--timeout", "1", env=env)
    assert left.returncode == EXIT["no_message"]
    assert f"rejected a message on {queue!r} that cannot be decoded" in left.stderr
    gone = kombu("consume", url, queue, "--timeout", "0.5", env=env)
    assert gone.returncode == EXIT["no_message"], "reject removed it"


def test_on_error_requeue_goes_on_with_the_good_messages(env, tmp_path, queue):
    url = f"filesystem://?data_folder={tmp_path / 'fs'}"
    publish_raw(url, queue, b"\x80\x04junk", "application/x-python-serialize", "binary")
    assert kombu("publish", url, queue, "good", env=env).returncode == 0
    out = kombu("consume", url, queue, "--on-error", "requeue", "-n", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "good\n"
    assert f"requeued a message on {queue!r} that is not accepted" in out.stderr
    # The requeued message is still there.
    left = kombu("consume", url, queue, "--on-error", "print", "--timeout", "1", env=env)
    assert "# content-type: application/x-python-serialize" in left.stdout
    assert "b'\\x80\\x04junk'" in left.stdout


def test_waiting_line_and_ctrl_c_on_a_terminal(env, queue):
    run = kombu_on_terminal("consume", queue, env=env, until="Ctrl-C to stop",
                            interrupt=True)
    assert run.returncode == EXIT["interrupted"]
    assert f"kombu consume: waiting for messages on {queue!r} at filesystem:// " \
           f"(Ctrl-C to stop)" in run.stderr
    assert "Traceback" not in run.stderr and "KeyboardInterrupt" not in run.stderr


def test_no_waiting_line_when_stderr_is_not_a_terminal(env, queue):
    out = kombu("consume", queue, "--timeout", "0.3", env=env)
    assert "waiting for messages" not in out.stderr


def test_stdout_closed_by_its_reader_is_no_traceback(env, tmp_path, queue):
    url = f"filesystem://?data_folder={tmp_path / 'fs'}"
    assert kombu("publish", url, queue, *[f"m{i}" for i in range(50)], env=env).returncode == 0
    import subprocess
    import sys

    shell = f"{sys.executable} -m kombu consume '{url}' {queue} -n 50 | head -1"
    out = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True,
                         text=True, env=env, timeout=60)
    assert out.stdout == "m0\n"
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
    assert out.returncode in (0, 141)


# -- kombu transports ------------------------------------------------------------


def test_transports_lists_builtins_and_plugins(env):
    out = kombu("transports", env=env)
    assert out.returncode == 0, out.stderr
    assert "memory" in out.stdout and "filesystem" in out.stdout
    assert "kombu-core" in out.stdout
    assert "demo" in out.stdout and "kombu-demo-transport 1.2.3" in out.stdout
    rows = json.loads(kombu("transports", "--json", env=env).stdout)
    mem = next(r for r in rows if "memory" in r["aliases"])
    assert "topic" in mem["features"]["exchange_type"]


@pytest.mark.parametrize("width", [60, 100])
def test_matrix_fits_the_terminal_width(env, width):
    env["COLUMNS"] = str(width)
    out = kombu("transports", "--matrix", env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= width
    assert not any(line.startswith("|") for line in lines), "not Markdown"
    assert "update_transport_table" not in out.stdout, "no repository script for users"
    feature_rows = {line.split()[0] for line in lines if line.split()[1:2] in (["yes"],
                                                                              ["no"])}
    assert {"basics", "topic", "persistent"} <= feature_rows


def test_matrix_shows_installed_transports_unless_all(env):
    env["KOMBU_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only memory and filesystem installed
    env["COLUMNS"] = "200"
    shown = kombu("transports", "--matrix", env=env).stdout
    header = next(line for line in shown.splitlines() if "filesystem" in line and
                  "memory" in line)
    assert header.split() == ["filesystem", "memory"]
    others = sorted({r["transport"] for r in load_results()} - {"filesystem", "memory"})
    assert {"amqp", "redis"} <= set(others)
    assert f"Also measured, not installed here: {', '.join(others)} (kombu transports " \
        "--matrix --all shows them)." in " ".join(shown.split())
    every = kombu("transports", "--matrix", "--all", env=env).stdout
    header = next(line for line in every.splitlines() if "filesystem" in line and
                  "memory" in line)
    assert header.split()[:2] == ["filesystem", "memory"]
    assert sorted(header.split()[2:]) == others


def test_matrix_markdown_is_the_readme_table(env):
    from kombu.testing.matrix import render_matrix

    out = kombu("transports", "--matrix", "--markdown", "--all", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(render_matrix(markdown=True) + "\n")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert render_matrix(markdown=True) in readme
    # --markdown alone implies --matrix and keeps to the installed transports.
    env["KOMBU_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    installed = kombu("transports", "--markdown", env=env).stdout
    assert "| `memory` |" in installed and "| `redis` |" not in installed
