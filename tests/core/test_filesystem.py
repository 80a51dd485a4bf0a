"""filesystem:// transport: routing shared through files, atomic writes,
claims by rename, redelivery, dead consumers, priorities, TTL, dead letters,
and several processes on one queue."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time

import pytest

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process tests")

MP = multiprocessing.get_context("fork")


class Client:
    def __init__(self, **options):
        self.transport_options = options


def options(tmp_path, **extra):
    return {
        "data_folder": str(tmp_path / "data"),
        "polling_interval": 0.01,
        "fsync": False,
        "visibility_timeout": 0.5,
        **extra,
    }


def make(tmp_path, **extra):
    t = filesystem.Transport(Client(**options(tmp_path, **extra)))
    t.establish_connection()
    return t, t.create_channel(t)


def publish(channel, body, exchange="", routing_key="", priority=None, headers=None, **props):
    message = channel.prepare_message(body, priority, "text/plain", "utf-8", headers, props)
    channel.basic_publish(message, exchange, routing_key)


def bodies(channel, queue):
    out = []
    while (m := channel.basic_get(queue, no_ack=True)) is not None:
        out.append(m.body.decode())
    return out


def drain_all(transport, timeout=0.2):
    try:
        while True:
            transport.drain_events(transport, timeout=timeout)
    except TimeoutError:
        pass


def test_features_and_options(tmp_path):
    impl = filesystem.Transport.implements
    assert impl.cross_process and impl.persistent
    assert impl.priority and impl.message_ttl and impl.dead_letter
    assert impl.fanout_across_connections
    assert impl.exchange_type == frozenset({"direct", "topic", "fanout", "headers"})
    assert issubclass(filesystem.Transport, virtual.Transport)
    t = filesystem.Transport(
        Client(
            data_folder_in=str(tmp_path / "in"),
            data_folder_out=str(tmp_path / "out"),
            store_processed=True,
            processed_folder=str(tmp_path / "done"),
        )
    )
    assert t.data_folder_in.endswith("in")
    assert t.data_folder_out.endswith("out")
    assert t.processed_folder.endswith("done")
    assert t.store_processed is True
    assert t.control_folder == os.path.join(t.data_folder_out, ".control")


def test_default_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert filesystem.default_data_folder() == str(tmp_path / "xdg" / "kombu" / "filesystem")
    t = filesystem.Transport(Client())
    assert t.data_folder_in == t.data_folder_out == filesystem.default_data_folder()
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert filesystem.default_data_folder() == str(
        tmp_path / "home" / ".local" / "share" / "kombu" / "filesystem"
    )


def test_two_way_folders(tmp_path):
    producer_opts = {
        "data_folder_in": str(tmp_path / "b"),
        "data_folder_out": str(tmp_path / "a"),
        "control_folder": str(tmp_path / "ctl"),
        "fsync": False,
    }
    consumer_opts = {
        "data_folder_in": str(tmp_path / "a"),
        "data_folder_out": str(tmp_path / "b"),
        "control_folder": str(tmp_path / "ctl"),
        "fsync": False,
    }
    pt = filesystem.Transport(Client(**producer_opts))
    ct = filesystem.Transport(Client(**consumer_opts))
    pch, cch = pt.create_channel(pt), ct.create_channel(ct)
    publish(pch, "to-consumer", "", "q")
    assert bodies(cch, "q") == ["to-consumer"]


def test_declare_publish_consume_ack(tmp_path):
    t, ch = make(tmp_path)
    ch.exchange_declare("ex", "direct")
    assert ch.queue_declare("q") == ("q", 0, 0)
    ch.queue_bind("q", "ex", "rk")
    publish(ch, "hello", "ex", "rk", correlation_id="c1")
    assert ch.queue_declare("q", passive=True).message_count == 1
    got = []
    ch.basic_consume("q", False, got.append, "tag")
    t.drain_events(t, timeout=1)
    m = got[0]
    assert m.body == b"hello"
    assert m.properties["correlation_id"] == "c1"
    assert m.delivery_info["redelivered"] is False
    queue_dir = tmp_path / "data" / "q"
    assert len(os.listdir(queue_dir / ".unacked")) == 1
    m.ack()
    assert os.listdir(queue_dir / ".unacked") == []
    assert ch._size("q") == 0


def test_stored_message_format(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("q")
    publish(ch, "payload", "", "q", priority=3, reply_to="r")
    (name,) = [n for n in os.listdir(tmp_path / "data" / "q") if n.endswith(".msg")]
    data = json.loads((tmp_path / "data" / "q" / name).read_text())
    assert data["body"] == "cGF5bG9hZA=="
    assert data["content-type"] == "text/plain"
    props = data["properties"]
    assert props["body_encoding"] == "base64"
    assert props["delivery_info"] == {"exchange": "", "routing_key": "q"}
    assert props["reply_to"] == "r"
    assert props["priority"] == 3
    assert isinstance(data["x-enqueued-at"], float)


def test_routing_shared_across_connections(tmp_path):
    _t1, c1 = make(tmp_path)
    _t2, c2 = make(tmp_path)
    c1.exchange_declare("topic-x", "topic")
    c1.exchange_declare("fan", "fanout")
    c1.exchange_declare("hdr", "headers")
    for q in ("q1", "q2", "q3"):
        c1.queue_declare(q)
    c1.queue_bind("q1", "topic-x", "a.*.c")
    c1.queue_bind("q2", "topic-x", "a.#")
    c1.queue_bind("q3", "topic-x", "x..y")
    c1.queue_bind("q1", "fan", "")
    c1.queue_bind("q2", "fan", "")
    c1.queue_bind("q3", "hdr", "", {"x-match": "any", "k": "v"})
    # a connection that declared nothing sees the exchanges and bindings
    publish(c2, "t1", "topic-x", "a.b.c")
    publish(c2, "t2", "topic-x", "a")
    publish(c2, "t3", "topic-x", "x..y")
    publish(c2, "f", "fan", "ignored")
    publish(c2, "h", "hdr", "", headers={"k": "v"})
    assert bodies(c2, "q1") == ["t1", "f"]
    assert bodies(c2, "q2") == ["t1", "t2", "f"]
    assert bodies(c2, "q3") == ["t3", "h"]
    c1.queue_unbind("q2", "fan", "")
    time.sleep(0.25)  # let the binding folder's mtime age past the freshness window
    publish(c2, "f2", "fan", "")
    assert bodies(c1, "q1") == ["f2"]
    assert bodies(c1, "q2") == []


def test_undeclared_exchange_and_passive_errors(tmp_path):
    _t, ch = make(tmp_path)
    with pytest.raises(ChannelError, match=r"'nope'.*[Dd]eclare"):
        publish(ch, "x", "nope", "k")
    with pytest.raises(ChannelError, match="'missing-q'"):
        ch.queue_declare("missing-q", passive=True)
    with pytest.raises(ChannelError, match="'missing-x'"):
        ch.exchange_declare("missing-x", "direct", passive=True)


def test_reject_requeue_and_close_restore_with_redelivered(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("q")
    for body in ("a", "b", "c"):
        publish(ch, body, "", "q")
    first = ch.basic_get("q")
    first.reject(requeue=True)
    again = ch.basic_get("q")
    assert (again.body, again.delivery_info["redelivered"]) == (b"a", True)
    second = ch.basic_get("q")
    assert second.body == b"b"
    ch.close()
    _t2, ch2 = make(tmp_path)
    ms = []
    while (m := ch2.basic_get("q")) is not None:
        ms.append(m)
    assert [m.body for m in ms] == [b"a", b"b", b"c"]
    assert [m.delivery_info["redelivered"] for m in ms] == [True, True, False]


def test_connection_close_restores(tmp_path):
    t, ch = make(tmp_path)
    ch.queue_declare("q")
    publish(ch, "x", "", "q")
    ch.basic_consume("q", False, lambda m: None, "t")
    t.drain_events(t, timeout=1)
    t.close_connection(t)
    _, ch2 = make(tmp_path)
    assert bodies(ch2, "q") == ["x"]


def test_prefetch(tmp_path):
    t, ch = make(tmp_path)
    ch.queue_declare("q")
    for i in range(6):
        publish(ch, str(i), "", "q")
    ch.basic_qos(prefetch_count=2)
    got = []
    ch.basic_consume("q", False, got.append, "t")
    drain_all(t, timeout=0.05)
    assert len(got) == 2
    got[0].ack()
    drain_all(t, timeout=0.05)
    assert [m.body for m in got] == [b"0", b"1", b"2"]


def test_priorities_and_fifo(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("pq", arguments={"x-max-priority": 9})
    for body, prio in [("l1", 1), ("h1", 9), ("m", 5), ("h2", 9), ("l2", 1), ("n", None)]:
        publish(ch, body, "", "pq", priority=prio)
    assert bodies(ch, "pq") == ["h1", "h2", "m", "l1", "l2", "n"]
    ch.queue_declare("fifo")
    for i in range(30):
        publish(ch, str(i), "", "fifo", priority=i % 3)
    assert bodies(ch, "fifo") == [str(i) for i in range(30)]


def test_ttl_and_dead_letters(tmp_path):
    _t, ch = make(tmp_path)
    ch.exchange_declare("dlx", "direct")
    ch.queue_declare("dead")
    ch.queue_bind("dead", "dlx", "work")
    ch.queue_declare("work", arguments={"x-dead-letter-exchange": "dlx"})
    ch.queue_declare("ttl", arguments={"x-message-ttl": 30})
    publish(ch, "expires", "", "work", expiration="20")
    publish(ch, "queue-ttl", "", "ttl")
    publish(ch, "rejected", "", "work")
    time.sleep(0.06)
    m = ch.basic_get("work")
    assert m.body == b"rejected"
    m.reject(requeue=False)
    assert bodies(ch, "ttl") == []
    dead = [ch.basic_get("dead") for _ in range(2)]
    assert [d.body for d in dead] == [b"expires", b"rejected"]
    assert [d.headers["x-death"][0]["reason"] for d in dead] == ["expired", "rejected"]
    assert os.listdir(tmp_path / "data" / "work" / ".unacked") == []


def test_purge_size_delete(tmp_path):
    _t, ch = make(tmp_path)
    ch.exchange_declare("e", "direct")
    ch.queue_declare("q")
    ch.queue_bind("q", "e", "k")
    for i in range(4):
        publish(ch, str(i), "e", "k")
    assert ch._size("q") == 4
    assert ch.queue_purge("q") == 4
    publish(ch, "x", "e", "k")
    assert ch.queue_delete("q") == 1
    assert not (tmp_path / "data" / "q").exists()
    with pytest.raises(ChannelError):
        ch.queue_declare("q", passive=True)
    assert ch.get_table("e") == []


def test_store_processed(tmp_path):
    _t, ch = make(tmp_path, store_processed=True, processed_folder=str(tmp_path / "done"))
    ch.queue_declare("q")
    publish(ch, "keep-me", "", "q")
    ch.basic_get("q").ack()
    (kept,) = os.listdir(tmp_path / "done")
    assert json.loads((tmp_path / "done" / kept).read_text())["body"] == "a2VlcC1tZQ=="


def test_half_written_message_is_never_visible(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("q")
    folder = tmp_path / "data" / "q"
    # a producer that crashed before its rename leaves only a dot-file behind
    (folder / ".tmp-255-00000000000000000001-0000001-000000-0000000000000-n.msg.1.x").write_text(
        '{"body": "trunc'
    )
    assert ch._size("q") == 0
    assert ch.basic_get("q") is None
    publish(ch, "whole", "", "q")
    assert bodies(ch, "q") == ["whole"]


def test_unreadable_file_is_set_aside_not_lost(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("q")
    name = "255-00000000000000000001-0000001-000000-0000000000000-n.msg"
    (tmp_path / "data" / "q" / name).write_text("{not json")
    with pytest.warns(virtual.UndeliverableWarning):
        assert ch.basic_get("q") is None
    assert os.listdir(tmp_path / "data" / "q" / ".corrupt") == [name]


# -- several processes --------------------------------------------------------


def _consumer_proc(opts, queue, out, ack=True, hold=False):
    t = filesystem.Transport(Client(**opts))
    t.establish_connection()
    ch = t.create_channel(t)
    ch.basic_qos(prefetch_count=5)

    def on_message(message):
        out.put(message.body.decode())
        if ack:
            message.ack()

    ch.basic_consume(queue, False, on_message, "c")
    idle = 0
    while idle < 20 or hold:
        try:
            t.drain_events(t, timeout=0.02)
            idle = 0
        except TimeoutError:
            idle += 1
    t.close_connection(t)


def test_two_processes_claim_each_message_once(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("shared")
    total = 200
    for i in range(total):
        publish(ch, str(i), "", "shared")
    out = MP.Queue()
    procs = [
        MP.Process(target=_consumer_proc, args=(options(tmp_path), "shared", out)) for _ in range(2)
    ]
    for p in procs:
        p.start()
    got = [out.get(timeout=10) for _ in range(total)]
    for p in procs:
        p.join(10)
    assert sorted(got, key=int) == [str(i) for i in range(total)]
    assert ch._size("shared") == 0
    assert os.listdir(tmp_path / "data" / "shared" / ".unacked") == []


def test_killed_consumer_claims_come_back(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("q")
    for i in range(3):
        publish(ch, str(i), "", "q")
    out = MP.Queue()
    proc = MP.Process(target=_consumer_proc, args=(options(tmp_path), "q", out, False, True))
    proc.start()
    held = sorted(out.get(timeout=10) for _ in range(3))
    assert held == ["0", "1", "2"]
    assert ch.basic_get("q") is None  # all claimed by the other process
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(5)
    ms = []
    deadline = time.monotonic() + 5
    while len(ms) < 3 and time.monotonic() < deadline:
        m = ch.basic_get("q")
        if m is None:
            time.sleep(0.02)
            continue
        ms.append(m)
    assert sorted(m.body for m in ms) == [b"0", b"1", b"2"]
    assert all(m.delivery_info["redelivered"] for m in ms)


def test_claim_of_a_frozen_owner_comes_back_after_the_lease(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("zq")
    publish(ch, "z", "", "zq")
    out = MP.Queue()
    proc = MP.Process(target=_consumer_proc, args=(options(tmp_path), "zq", out, False, True))
    proc.start()
    try:
        assert out.get(timeout=10) == "z"
        os.kill(proc.pid, signal.SIGSTOP)  # alive, but renews nothing any more
        assert ch.recover_orphans("zq") == 0  # its lease still runs
        time.sleep(0.8)
        assert ch.recover_orphans("zq") == 1
        assert bodies(ch, "zq") == ["z"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(5)


def test_live_owner_keeps_its_claim_beyond_the_lease(tmp_path):
    t, ch = make(tmp_path)
    ch.queue_declare("lq")
    publish(ch, "long", "", "lq")
    held = ch.basic_get("lq")  # held by this (live) process: its lease keeper renews it
    assert held is not None
    t2, other = make(tmp_path)
    deadline = time.monotonic() + 1.5  # three leases
    while time.monotonic() < deadline:
        assert other.basic_get("lq") is None, "a live holder's message went to another consumer"
        time.sleep(0.05)
    held.ack()
    t2.close_connection(t2)
    t.close_connection(t)
    assert bodies(make(tmp_path)[1], "lq") == []


def test_claim_left_by_another_host_comes_back(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("hq")
    publish(ch, "h", "", "hq")
    folder = tmp_path / "data" / "hq"
    (name,) = [n for n in os.listdir(folder) if n.endswith(".msg")]
    claim = folder / ".unacked" / f"{name}~otherhost-pid-1"
    os.rename(folder / name, claim)
    assert ch.basic_get("hq") is None
    os.utime(claim, (time.time() - 60, time.time() - 60))  # its holder stopped long ago
    assert ch.recover_orphans("hq") == 1
    (m,) = [ch.basic_get("hq")]
    assert m is not None and m.body == b"h" and m.delivery_info["redelivered"]


def test_temp_files_of_killed_writers_are_removed(tmp_path):
    _t, ch = make(tmp_path, temp_file_timeout=10)
    ch.queue_declare("tq")
    folder = tmp_path / "data" / "tq"
    stale, fresh = folder / ".tmp-stale.msg.1234", folder / ".tmp-fresh.msg.5678"
    stale.write_bytes(b"half a mess")
    fresh.write_bytes(b"being written")
    os.utime(stale, (time.time() - 60, time.time() - 60))
    ch.recover_orphans("tq")
    assert not stale.exists()
    assert fresh.exists()


def test_folders_and_files_are_private_by_default(tmp_path):
    _t, ch = make(tmp_path)
    ch.queue_declare("pq", arguments={"x-max-priority": 3})
    publish(ch, "secret", "", "pq")
    folder = tmp_path / "data" / "pq"
    (name,) = [n for n in os.listdir(folder) if n.endswith(".msg")]
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert ((folder / name).stat().st_mode & 0o777) == 0o600
    queue_args = tmp_path / "data" / ".control" / "queues" / "pq.json"
    assert (queue_args.stat().st_mode & 0o777) == 0o600
    _t2, ch2 = make(tmp_path / "other", folder_mode=0o750, file_mode=0o640)
    ch2.queue_declare("q2")
    publish(ch2, "shared", "", "q2")
    folder2 = tmp_path / "other" / "data" / "q2"
    (name2,) = [n for n in os.listdir(folder2) if n.endswith(".msg")]
    assert (folder2.stat().st_mode & 0o777) == 0o750
    assert ((folder2 / name2).stat().st_mode & 0o777) == 0o640


def test_through_connection_api(tmp_path):
    from kombu import Connection, Exchange, Queue

    exchange = Exchange("jobs", "topic")
    queue = Queue("jobs-q", exchange, routing_key="job.#")
    received = []
    with Connection("filesystem://", transport_options=options(tmp_path)) as conn:
        conn.Producer().publish({"n": 1}, exchange=exchange, routing_key="job.a", declare=[queue])

        def on_message(body, message):
            received.append(body)
            message.ack()

        with conn.Consumer(queue, callbacks=[on_message]):
            conn.drain_events(timeout=2)
    assert received == [{"n": 1}]
    assert os.listdir(tmp_path / "data" / "jobs-q" / ".unacked") == []


def test_a_forked_child_renews_its_own_leases(tmp_path):
    t, ch = make(tmp_path)
    ch.queue_declare("fq")
    publish(ch, "first", "", "fq")
    assert ch.basic_get("fq") is not None  # the parent's keeper thread starts
    publish(ch, "child", "", "fq")
    out = MP.Queue()

    def child():
        held = ch.basic_get("fq")  # the inherited connection, in a process without the thread
        out.put(t._keeper is not None and t._keeper.is_alive())
        time.sleep(1.5)  # three leases
        out.put(held.body.decode() if held is not None else None)

    proc = MP.Process(target=child)
    proc.start()
    try:
        assert out.get(timeout=10) is True
        t2, other = make(tmp_path)
        time.sleep(1.0)
        assert other.basic_get("fq") is None, "the child's message lapsed while it lived"
        assert out.get(timeout=10) == "child"
        t2.close_connection(t2)
    finally:
        proc.join(10)
