"""A redelivered message file whose envelope is malformed reaches on_decode_error; the
filesystem transport's fetch does not raise on it (that stopped the consumer)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kombu import Connection, Consumer, Queue
from kombu.transport.filesystem.layout import atomic_write, message_name, redelivered_name


def test_redelivered_file_with_malformed_properties(tmp_path: Path) -> None:
    options = {"data_folder": str(tmp_path), "fsync": False, "polling_interval": 0.05}
    with Connection("filesystem://", transport_options=options) as conn:
        queue = Queue("malformed-redelivered")
        queue(conn.default_channel).declare()
        folder = conn.default_channel.storage._dir_out(queue.name)
        bad = {"body": "e30=", "content-type": "application/json", "properties": "oops"}
        atomic_write(os.path.join(folder, redelivered_name(message_name(0, "test000000"))),
                     json.dumps(bad).encode(), fsync=False)
        errors: list[BaseException] = []

        def on_decode_error(message: Any, exc: BaseException) -> None:
            errors.append(exc)
            message.reject(requeue=False)

        with Consumer(conn.default_channel, [queue], callbacks=[lambda b, m: m.ack()],
                      on_decode_error=on_decode_error):
            conn.drain_events(timeout=2)
        assert len(errors) == 1
