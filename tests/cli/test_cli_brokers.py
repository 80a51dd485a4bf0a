"""The kombu command against the real Redis and RabbitMQ: each broker error class ends in
one line (broker named, password masked, cause, fix) and its own exit status; retries
are announced; undecodable messages are handled per --on-error; Ctrl-C exits 130."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from cli_helpers import EXIT, kombu, kombu_on_terminal

from kombu import Connection, Queue

SECRET = "s3cret-Pa55"
HOST = "127.0.0.1"


def one_line(stderr: str, command: str = "consume") -> str:
    """The whole standard error, which must be exactly one line for the command."""
    assert stderr.count("\n") == 1 and stderr.endswith("\n"), stderr
    assert stderr.startswith(f"kombu {command}: "), stderr
    assert "Traceback" not in stderr
    return stderr.strip()


@pytest.mark.parametrize(("url", "status", "what", "fix"), [
    (f"amqp://guest:{SECRET}@{HOST}:5672//", "authentication", "authentication refused "
     "(ACCESS_REFUSED - Login was refused", "Check the user name and password in the URL"),
    (f"amqp://nosuchuser:{SECRET}@{HOST}:5672//", "authentication",
     "authentication refused", "Check the user name and password"),
    (f"amqp://guest:guest@{HOST}:5672/no-such-vhost", "access",
     "access refused (NOT_ALLOWED - vhost no-such-vhost not found)",
     "Check that the virtual host (or database number) in the URL's path exists"),
    (f"amqps://guest:{SECRET}@{HOST}:5672//", "tls", "TLS handshake failed",
     "use the plain scheme"),
    # A password-less Redis accepts any URL password (as redis-py does for kombu 5.7):
    # a wrong one needs a server that has a password of its own.
    (f"redis://:{SECRET}@{HOST}:{{password_port}}/12", "authentication",
     "authentication refused", "Check the user name and password"),
    (f"redis://nosuchuser:{SECRET}@{HOST}:6379/12", "authentication",
     "authentication refused (invalid username-password pair", "user name and password"),
    (f"redis://{HOST}:6379/99", "access", "access refused (DB index is out of range)",
     "database number"),
    (f"rediss://{HOST}:6379/12", "tls", "TLS handshake failed", "use the plain scheme"),
])
def test_broker_refusals_are_one_line_with_their_own_status(env, queue, url, status, what,
                                                           fix, request):
    from brokers import require_service

    require_service("rabbitmq" if url.startswith("amqp") else "redis", HOST,
                    5672 if url.startswith("amqp") else 6379)
    if "{password_port}" in url:
        url = url.format(password_port=request.getfixturevalue("password_redis"))
    started = time.monotonic()
    out = kombu("consume", url, queue, "--timeout", "1", "--connect-timeout", "2", env=env)
    assert out.returncode == EXIT[status], out.stderr
    line = one_line(out.stderr)
    shown = re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:**@", url)
    assert line.startswith(f"kombu consume: cannot connect to {shown}: {what}")
    assert fix in line
    assert SECRET not in line
    assert time.monotonic() - started < 10, "refusals are not retried"


def test_unreachable_broker_announces_its_retries(env, queue, dead_port):
    url = f"amqp://guest:{SECRET}@{HOST}:{dead_port}//"
    started = time.monotonic()
    out = kombu("publish", url, queue, "x", "--retries", "2", env=env)
    elapsed = time.monotonic() - started
    assert out.returncode == EXIT["unreachable"]
    lines = out.stderr.splitlines()
    shown = f"amqp://guest:**@{HOST}:{dead_port}//"
    assert lines == [
        f"kombu publish: cannot connect to {shown}: connection refused; retrying in 1 s, "
        f"1 of 2",
        f"kombu publish: cannot connect to {shown}: connection refused; retrying in 2 s, "
        f"2 of 2",
        f"kombu publish: cannot connect to {shown}: connection refused. Is the broker "
        f"running? Check the host and port in the URL. Gave up after 3 attempts "
        f"(--retries 2).",
    ]
    assert 3 <= elapsed < 15


def test_unreachable_redis_without_retries_fails_at_once(env, queue, dead_port):
    out = kombu("consume", f"redis://{HOST}:{dead_port}/0", queue, "--retries", "0",
                env=env)
    assert out.returncode == EXIT["unreachable"]
    assert one_line(out.stderr).startswith(
        f"kombu consume: cannot connect to redis://{HOST}:{dead_port}/0: connection refused")


def test_unknown_host(env, queue):
    out = kombu("consume", "amqp://guest:guest@no-such-host.invalid//", queue,
                "--retries", "0", env=env)
    assert out.returncode == EXIT["unreachable"]
    assert "host not found" in one_line(out.stderr)
    assert "Check the host name in the URL." in out.stderr


@pytest.fixture(scope="module")
def password_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a private redis-server that requires a password (not SECRET)."""
    if shutil.which("redis-server") is None:
        from brokers import unavailable
        unavailable("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = int(probe.getsockname()[1])
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", HOST, "--save", "",
         "--dir", str(tmp_path_factory.mktemp("redis-pw")), "--requirepass", "the-right-one"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts connections and never says a word (a hung broker)."""
    server = socket.socket()
    server.bind((HOST, 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield int(server.getsockname()[1])
    server.close()
    for conn in accepted:
        conn.close()


@pytest.mark.parametrize("scheme", ["amqp", "redis"])
def test_silent_broker_times_out(env, queue, silent_port, scheme):
    url = f"{scheme}://{HOST}:{silent_port}/" + ("/" if scheme == "amqp" else "0")
    out = kombu("consume", url, queue, "--connect-timeout", "1", "--retries", "1", env=env)
    assert out.returncode == EXIT["timeout"], out.stderr
    assert out.stderr.splitlines() == [
        f"kombu consume: cannot connect to {url}: no answer within 1 s (timed out); "
        f"retrying in 1 s, 1 of 1",
        f"kombu consume: cannot connect to {url}: no answer within 1 s (timed out). Is the "
        f"broker up, and is this its port? If it is only slow, raise --connect-timeout. "
        f"Gave up after 2 attempts (--retries 1).",
    ]


def test_missing_client_library(env, queue):
    blocked = [sys.executable, "-c",
               "import sys; sys.modules['redis'] = None; sys.argv[0] = 'kombu'; "
               "from kombu.cli import main; sys.exit(main())"]
    out = kombu("consume", f"redis://{HOST}:6379/12", queue, env=env, python=blocked)
    assert out.returncode == EXIT["not_installed"], out.stderr
    line = one_line(out.stderr)
    assert "transport not installed" in line and "redis" in line


# -- the happy path and --on-error, on each broker ---------------------------------------


def test_publish_with_kombu_url_and_consume(env, broker_url, queue):
    env["KOMBU_URL"] = broker_url
    pub = kombu("publish", queue, "hello", "world", env=env)  # not a host: a queue
    assert pub.returncode == 0, pub.stderr
    assert "published 2 messages" in pub.stderr
    with Connection(broker_url) as conn:
        assert conn.SimpleQueue(queue).qsize() == 2
    out = kombu("consume", queue, "--count", "2", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["hello", "world"]


def _bad_then_good(url: str, queue: str) -> None:
    with Connection(url) as conn:
        producer = conn.Producer()
        declare = [Queue(queue, routing_key=queue)]
        producer.publish({"n": 1}, routing_key=queue, serializer="pickle", declare=declare)
        producer.publish(b"{broken", routing_key=queue, content_type="application/json",
                         content_encoding="utf-8")
        producer.publish("good", routing_key=queue)


def _left(url: str, queue: str) -> int:
    with Connection(url) as conn:
        return int(conn.SimpleQueue(queue).qsize())


def test_on_error_stop_is_the_default_and_keeps_the_message(env, broker_url, queue):
    _bad_then_good(broker_url, queue)
    out = kombu("consume", broker_url, queue, "--timeout", "2", env=env)
    assert out.returncode == EXIT["bad_message"]
    assert out.stdout == ""
    line = one_line(out.stderr)
    assert "pass --accept json,pickle to decode it" in line
    assert "choose --on-error reject" in line
    assert _left(broker_url, queue) == 3


def test_on_error_reject_reaches_the_good_messages(env, broker_url, queue):
    _bad_then_good(broker_url, queue)
    out = kombu("consume", broker_url, queue, "--on-error", "reject", "-n", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "good\n"
    assert out.stderr.count("rejected a message") == 2
    assert "that is not accepted (content type 'application/x-python-serialize', pickle)" \
        in out.stderr
    assert "that cannot be decoded (cannot decode application/json body" in out.stderr
    assert _left(broker_url, queue) == 0


def test_on_error_requeue_and_print_leave_the_bad_messages(env, broker_url, queue):
    _bad_then_good(broker_url, queue)
    out = kombu("consume", broker_url, queue, "--on-error", "requeue", "-n", "1", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "good\n"
    assert out.stderr.count("requeued a message") == 2
    assert _left(broker_url, queue) == 2
    shown = kombu("consume", broker_url, queue, "--on-error", "print", "--timeout", "1",
                  env=env)
    assert shown.returncode == EXIT["no_message"]
    assert shown.stdout.count("# message not decoded: ") == 2
    assert "{broken" in shown.stdout
    assert "# content-type: application/x-python-serialize, content-encoding: binary" \
        in shown.stdout
    assert _left(broker_url, queue) == 2, "print leaves them where they were"
    accepted = kombu("consume", broker_url, queue, "--accept", "json,pickle",
                     "--on-error", "reject", "-n", "1", env=env)
    assert accepted.stdout == '{"n": 1}\n'


def test_ctrl_c_exits_130_without_a_traceback(env, broker_url, queue):
    run = kombu_on_terminal("consume", broker_url, queue, env=env, until="Ctrl-C to stop",
                            interrupt=True)
    assert run.returncode == EXIT["interrupted"], run.stderr
    assert "waiting for messages on" in run.stderr
    assert "Traceback" not in run.stderr and "KeyboardInterrupt" not in run.stderr


def _connection_of_consumer(queue: str, ctl: str) -> str:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        consumers = subprocess.run([ctl, "list_consumers", "-q", "queue_name", "channel_pid"],
                                   capture_output=True, text=True, timeout=60).stdout
        channel = next((line.split("\t")[1] for line in consumers.splitlines()
                        if line.startswith(queue + "\t")), None)
        if channel:
            channels = subprocess.run([ctl, "list_channels", "-q", "pid", "connection"],
                                      capture_output=True, text=True, timeout=60).stdout
            for line in channels.splitlines():
                pid, _, connection = line.partition("\t")
                if pid == channel:
                    return connection
        time.sleep(0.5)
    raise AssertionError(f"no consumer on {queue} found with rabbitmqctl")


def test_consume_reconnects_when_the_broker_closes_its_connection(env, amqp_url, queue):
    import shutil

    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        pytest.skip("rabbitmqctl is not installed: it closes the command's connection")
    proc = subprocess.Popen([sys.executable, "-m", "kombu", "consume", amqp_url, queue,
                             "-n", "1", "--timeout", "60"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        connection = _connection_of_consumer(queue, ctl)
        # Close only this command's own connection, as an operator would.
        subprocess.run([ctl, "close_connection", connection, "kombu-cli test"], check=True,
                       capture_output=True, timeout=60)
        _connection_of_consumer(queue, ctl)  # it consumes again
        assert kombu("publish", amqp_url, queue, "after", env=env).returncode == 0
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert stdout == "after\n"
    assert f"lost the connection to {amqp_url.replace(':guest@', ':**@')}" in stderr
    assert "reconnecting" in stderr


class CuttingProxy:
    """A TCP proxy to RabbitMQ that cuts its first connection after ``cut_after`` bytes
    from the client (a connection dropped mid-stream), then forwards faithfully."""

    def __init__(self, target: int, cut_after: int) -> None:
        self.target, self.cut_after = target, cut_after
        self.server = socket.socket()
        self.server.bind((HOST, 0))
        self.server.listen(8)
        self.port = int(self.server.getsockname()[1])
        self.connections = 0
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client = self.server.accept()[0]
            except OSError:
                return
            upstream = socket.create_connection((HOST, self.target))
            self.sockets += [client, upstream]
            self.connections += 1
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pipe, args=(client, upstream, limit),
                             daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, None),
                             daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                sent += len(data)
                if limit is not None and sent >= limit:
                    break
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.server.close()
        for sock in self.sockets:
            sock.close()


def test_publish_reconnects_when_the_connection_drops(env, amqp_url, queue):
    proxy = CuttingProxy(5672, cut_after=20_000)
    try:
        url = f"amqp://guest:guest@{HOST}:{proxy.port}//"
        bodies = [f"message {i:04d} " + "x" * 200 for i in range(300)]
        out = kombu("publish", url, queue, *bodies, env=env)
    finally:
        proxy.close()
    assert out.returncode == 0, out.stderr
    assert proxy.connections == 2
    assert f"lost the connection to amqp://guest:**@{HOST}:{proxy.port}//" in out.stderr
    assert "reconnecting" in out.stderr
    got = kombu("consume", amqp_url, queue, "--timeout", "2", env=env).stdout.splitlines()
    assert set(got) == set(bodies), "every message arrived (at least once)"
    assert len(got) - len(bodies) <= 1, "at most the one in flight twice"


def test_other_broker_errors_have_their_own_status(env, amqp_url, queue):
    with Connection(amqp_url) as conn:
        Queue(queue, routing_key=queue, queue_arguments={"x-max-priority": 5})(
            conn.default_channel).declare()
    out = kombu("publish", amqp_url, queue, "x", env=env)
    assert out.returncode == EXIT["broker"]
    line = one_line(out.stderr, "publish")
    assert line.startswith("kombu publish: error from amqp://guest:**@127.0.0.1:5672//: "
                           "broker error (PRECONDITION_FAILED - inequivalent arg "
                           "'x-max-priority'")
    assert line.endswith("The queue already exists with other settings: use another queue "
                         "name, or delete that queue.")
