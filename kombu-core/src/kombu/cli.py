"""The ``kombu`` command: list transports, publish and consume from a shell.

The broker URL defaults to ``$KOMBU_URL``, else the filesystem transport in
a per-user data directory, so publishing in one shell and consuming in
another works with no server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ("default_url", "main")

URL_ENV = "KOMBU_URL"
DEFAULT_URL = "filesystem://"


def default_url() -> str:
    """``$KOMBU_URL``, else ``filesystem://`` (a per-user data directory)."""
    return os.environ.get(URL_ENV) or DEFAULT_URL


def _split_url(args: list[str], wanted: int, usage: str) -> tuple[str, list[str]]:
    if len(args) == wanted + 1:
        return args[0], args[1:]
    if len(args) == wanted:
        return default_url(), args
    raise SystemExit(f"kombu: expected {usage}")


def _queue(name: str) -> Any:
    from .entity import Queue

    return Queue(name, routing_key=name)


def cmd_transports(ns: argparse.Namespace) -> int:
    from .transport.info import describe_transports, format_matrix, format_table

    rows = describe_transports()
    if getattr(ns, "matrix", False):
        print(format_matrix())
    elif ns.json:
        print(json.dumps(rows, indent=2, sort_keys=True))
    else:
        print(format_table(rows))
    return 0


def cmd_publish(ns: argparse.Namespace) -> int:
    from .connection import Connection

    url, (queue_name, body) = _split_url(ns.args, 2, "[URL] QUEUE BODY")
    payload: Any = body
    if ns.json:
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise SystemExit(f"kombu publish: --json given but BODY is not JSON: {exc}")
    queue = _queue(queue_name)
    with Connection(url) as conn:
        producer = conn.Producer(serializer=ns.serializer)
        producer.publish(payload, routing_key=queue_name, declare=[queue],
                         retry=True, retry_policy={"max_retries": 3})
    print(f"published to {queue_name!r} on {Connection(url).as_uri()}", file=sys.stderr)
    return 0


def _show(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body).decode("utf-8", "replace")
    return json.dumps(body, default=str)


def cmd_consume(ns: argparse.Namespace) -> int:
    from .connection import Connection

    url, (queue_name,) = _split_url(ns.args, 1, "[URL] QUEUE")
    received = 0
    accept = ns.accept.split(",") if ns.accept else None

    def on_message(body: Any, message: Any) -> None:
        nonlocal received
        print(_show(body), flush=True)
        message.ack()
        received += 1

    with Connection(url) as conn:
        queue = _queue(queue_name)
        with conn.Consumer([queue], callbacks=[on_message], accept=accept,
                           prefetch_count=ns.count or 100):
            while ns.count is None or received < ns.count:
                try:
                    conn.drain_events(timeout=ns.timeout)
                except TimeoutError:
                    if ns.timeout is not None:
                        print(f"kombu consume: no message within {ns.timeout}s",
                              file=sys.stderr)
                        return 1
                except KeyboardInterrupt:
                    break
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kombu",
        description="kombu-core command line. URL defaults to $KOMBU_URL, else "
                    "filesystem:// (no server needed).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("transports", help="list installed transports and their features")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.add_argument("--matrix", action="store_true",
                   help="print the measured feature matrix (from conformance results)")
    p.set_defaults(func=cmd_transports)

    p = sub.add_parser("publish", help="publish one message: [URL] QUEUE BODY")
    p.add_argument("args", nargs="+", metavar="[URL] QUEUE BODY")
    p.add_argument("--serializer", default="json", help="serializer (default: json)")
    p.add_argument("--json", action="store_true", help="parse BODY as JSON before sending")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("consume", help="consume and print messages: [URL] QUEUE")
    p.add_argument("args", nargs="+", metavar="[URL] QUEUE")
    p.add_argument("--count", "-n", type=int, default=None,
                   help="stop after N messages (default: run until interrupted)")
    p.add_argument("--timeout", type=float, default=None,
                   help="give up (exit 1) after this many seconds without a message")
    p.add_argument("--accept", default=None,
                   help="comma-separated content types to accept (default: json)")
    p.set_defaults(func=cmd_consume)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    try:
        return int(ns.func(ns))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from .exceptions import KombuError

        if isinstance(exc, (KombuError, ValueError, OSError, KeyError)):
            print(f"kombu {ns.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
