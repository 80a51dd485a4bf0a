"""A consumer SIGKILLed while holding messages: they come back after the
visibility timeout, and not before while it lives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from azurite_env import URL

from kombu import Connection

CHILD = textwrap.dedent("""
    import json, sys, time
    from kombu import Connection, Queue
    url, options = sys.argv[1], json.loads(sys.argv[2])
    held = []
    with Connection(url, transport_options=options) as conn:
        consumer = conn.Consumer([Queue("victim")], callbacks=[lambda b, m: held.append(m)],
                                 prefetch_count=10)
        with consumer:
            while len(held) < 5:
                conn.drain_events(timeout=10)
            print("holding", flush=True)
            time.sleep(600)
""")


def test_sigkilled_consumer_messages_return_after_the_visibility_timeout(
        service: Any, prefix: str, options: dict[str, Any]) -> None:
    options = {**options, "visibility_timeout": 3}
    with Connection(URL, transport_options=options) as conn:
        queue = conn.SimpleQueue("victim")
        for n in range(5):
            queue.put({"n": n})
        child = subprocess.Popen([sys.executable, "-c", CHILD, URL, json.dumps(options)],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "holding"
            raw = service.get_queue_client(f"{prefix}victim")
            alive_until = time.monotonic() + 7  # over two leases: renewed, never visible
            while time.monotonic() < alive_until:
                assert raw.peek_messages(max_messages=32) == []
                time.sleep(0.5)
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        killed = time.monotonic()
        time.sleep(1.5)  # renewed at most 0.75 s before the kill: still hidden
        assert raw.peek_messages(max_messages=32) == []
        got = []
        while len(got) < 5 and time.monotonic() - killed < 15:
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                continue
            got.append(message)
            message.ack()
        assert sorted(m.payload["n"] for m in got) == list(range(5))
        assert all(m.delivery_info["redelivered"] for m in got)
        assert time.monotonic() - killed < 8
        queue.close()
