"""The ``kombu`` command: list transports, publish and consume from a shell.

    kombu transports [--json | --matrix [--markdown] [--all]]
    kombu publish [URL] QUEUE BODY [BODY ...]
    kombu consume [URL] QUEUE [--count N] [--timeout S] [--on-error ...]

The broker URL defaults to ``$KOMBU_URL``, else the filesystem transport in
a per-user data directory, so publishing in one shell and consuming in
another works with no server.  Every failure ends in one line on standard
error and an exit status of its class (``kombu --help`` lists them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .errors import CommandError, Exit
from .output import Reporter, StdoutClosed
from .parsing import default_url, parse

__all__ = ("Exit", "default_url", "main", "versions")


def versions() -> list[str]:
    """``kombu-core X`` and one line per installed plugin distribution."""
    from importlib import metadata

    from .. import __version__

    lines = [f"kombu-core {__version__} (Python {sys.version.split()[0]})"]
    plugins: dict[str, str] = {}
    for ep in metadata.entry_points(group="kombu.plugins"):
        dist = getattr(ep, "dist", None)
        if dist is not None:
            plugins[dist.metadata["Name"]] = dist.version
    lines += [f"{name} {version}" for name, version in sorted(plugins.items())]
    return lines


def _command(name: str) -> Callable[[Any, Reporter], int]:
    if name == "publish":
        from .publish import publish

        return publish
    if name == "consume":
        from .consume import consume

        return consume
    from .transports import transports

    return transports


def _stdout_gone() -> int:
    # Later flushes (at interpreter exit) must not fail again on the closed pipe.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return Exit.STDOUT_CLOSED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit status (usage errors exit 2 via argparse)."""
    try:
        ns = parse(argv)
        if ns.version:
            print("\n".join(versions()))
            return Exit.OK
        out = Reporter(ns.command)
        try:
            return int(_command(ns.command)(ns, out))
        except CommandError as exc:
            out.say(exc.message)
            return int(exc.status)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED
    except (StdoutClosed, BrokenPipeError):
        return _stdout_gone()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
