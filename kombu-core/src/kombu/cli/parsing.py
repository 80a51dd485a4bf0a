"""The ``kombu`` command line: parser, option checks and the positionals ``[URL] QUEUE ...``.

Options may appear anywhere among the positionals.  The first positional is
a broker URL only when it contains ``://``, so a queue name or a body is never
taken for a host; without one the URL is ``$KOMBU_URL``, else ``filesystem://``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .errors import EXIT_STATUS_HELP

__all__ = ("DEFAULT_URL", "ON_ERROR", "URL_ENV", "build_parser", "default_url", "parse")

URL_ENV = "KOMBU_URL"
DEFAULT_URL = "filesystem://"
ON_ERROR = ("stop", "reject", "requeue", "print")

DESCRIPTION = """\
kombu-core's command line: list the installed transports, publish and consume.

URL is a broker URL (redis://localhost:6379/0, amqp://guest:guest@localhost//);
it is recognised by its "://". Without it, $KOMBU_URL is used, else
filesystem:// (no server: a directory in your per-user data folder), so
publishing in one shell and consuming in another just works."""

EPILOG = f"""\
{EXIT_STATUS_HELP}

environment:
  KOMBU_URL   the broker URL used when none is given
"""


def default_url() -> str:
    """``$KOMBU_URL``, else ``filesystem://`` (a per-user data directory)."""
    return os.environ.get(URL_ENV) or DEFAULT_URL


def _number(kind: type, minimum: float, what: str) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    convert.__name__ = what  # argparse names the converter in some messages
    return convert


count_type = _number(int, 1, "a whole number of 1 or more")
retries_type = _number(int, 0, "a whole number of 0 or more")
seconds_type = _number(float, 1e-3, "a number of seconds greater than 0")


class CommandParser(argparse.ArgumentParser):
    """A sub-command's parser: options anywhere among positionals, its own usage on errors."""

    _inner = False

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        if self._inner:
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            ns, extra = self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return ns, []


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retries", type=retries_type, default=3, metavar="N",
                        help="connection attempts to retry when the broker is unreachable "
                             "or does not answer, each announced on standard error "
                             "(default: 3; 0 gives up at once)")
    parser.add_argument("--connect-timeout", type=seconds_type, default=5.0, metavar="S",
                        help="seconds to wait for the broker to answer (default: 5)")


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``kombu`` parser and its sub-command parsers by name."""
    parser = argparse.ArgumentParser(
        prog="kombu", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(
            prog, max_help_position=28))
    parser.add_argument("--version", action="store_true",
                        help="print the version of kombu-core and of each installed plugin")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    subs: dict[str, argparse.ArgumentParser] = {}

    p = subs["transports"] = sub.add_parser(
        "transports", help="list the installed transports and what they support",
        description="List the installed transports: their names, distribution, version and "
                    "the features they state. --matrix shows what the conformance kit "
                    "measured instead.")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.add_argument("--matrix", action="store_true",
                   help="print the feature matrix measured by the conformance kit, fitted to "
                        "the terminal's width")
    p.add_argument("--markdown", action="store_true",
                   help="with --matrix: print it as a Markdown table (the README's form)")
    p.add_argument("--all", action="store_true",
                   help="with --matrix or --reliability: every measured transport, not only "
                        "the installed ones")
    p.add_argument("--reliability", action="store_true",
                   help="print what the fault suite measured: per transport and scenario, "
                        "messages published, consumed, lost and delivered twice after an ack")

    p = subs["publish"] = sub.add_parser(
        "publish", help="publish messages to a queue",
        usage="%(prog)s [-h] [options] [URL] QUEUE BODY [BODY ...]",
        description="Publish one message per BODY to QUEUE (declared if missing) through the "
                    "default exchange. A BODY of - is read from standard input (without its last "
                    "newline).")
    p.add_argument("args", nargs="+", metavar="[URL] QUEUE BODY", help=argparse.SUPPRESS)
    p.add_argument("--serializer", default="json", metavar="NAME",
                   help="how to encode each BODY: json (default), raw (bytes as given), "
                        "msgpack, yaml, pickle, ... when installed")
    p.add_argument("--json", action="store_true",
                   help="parse each BODY as JSON and send the value (not the text)")
    _common(p)

    p = subs["consume"] = sub.add_parser(
        "consume", help="print the messages of a queue and acknowledge them",
        usage="%(prog)s [-h] [options] [URL] QUEUE",
        description="Print each message of QUEUE on standard output, then acknowledge it. "
                    "Runs until interrupted (Ctrl-C), --count messages, or --timeout seconds "
                    "without one.")
    p.add_argument("args", nargs="+", metavar="[URL] QUEUE", help=argparse.SUPPRESS)
    p.add_argument("-n", "--count", type=count_type, default=None, metavar="N",
                   help="stop after N messages printed and acknowledged")
    p.add_argument("--timeout", type=seconds_type, default=None, metavar="S",
                   help="give up (exit status 1) after S seconds without a message")
    p.add_argument("--accept", default=None, metavar="LIST",
                   help="comma-separated serializers or content types to decode "
                        "(default: json; add pickle, yaml or msgpack only for senders you "
                        "trust)")
    p.add_argument("--on-error", choices=ON_ERROR, default="stop",
                   help="what to do with a message that cannot be decoded or is not "
                        "accepted: stop (default; exit status 3, the message stays on the "
                        "queue), reject (drop it, or dead-letter it where the queue "
                        "has one), requeue (put it back and go on), print (show its raw "
                        "body and headers, leave it where it was and go on)")
    _common(p)
    return parser, subs


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)


def _split_url(args: list[str]) -> tuple[str, list[str], bool]:
    if args and "://" in args[0]:
        return args[0], args[1:], True
    return default_url(), args, False


def _check_publish(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    ns.url, rest, _ = _split_url(ns.args)
    if len(rest) < 2:
        missing = "QUEUE and BODY" if not rest else "BODY"
        _fail(parser, f"missing {missing}: kombu publish [URL] QUEUE BODY [BODY ...] "
                      f"(a URL is recognised by its '://')")
    ns.queue, ns.bodies = rest[0], rest[1:]
    from .codecs import serializer_available, unknown_serializer

    if not serializer_available(ns.serializer):
        _fail(parser, unknown_serializer(ns.serializer))


def _check_consume(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    ns.url, rest, _ = _split_url(ns.args)
    if not rest:
        _fail(parser, "missing QUEUE: kombu consume [URL] QUEUE")
    if len(rest) > 1:
        names = ", ".join(repr(a) for a in rest)
        _fail(parser, f"expected one QUEUE, got {len(rest)} ({names}); a URL must contain "
                      f"'://' (e.g. redis://localhost:6379/0)")
    ns.queue = rest[0]
    ns.accept_list = None
    if ns.accept is not None:
        ns.accept_list = _accept_list(ns.accept, parser)


def _accept_list(text: str, parser: argparse.ArgumentParser) -> list[str]:
    from ..serialization import registry

    registry._sync()
    names = [item.strip() for item in text.split(",") if item.strip()]
    if not names:
        _fail(parser, "--accept needs at least one serializer or content type, e.g. "
                      "--accept json,pickle")
    known = {*registry.name_to_type, "raw"}
    unknown = [n for n in names if "/" not in n and n not in known]
    if unknown:
        _fail(parser, f"--accept: unknown serializer {', '.join(map(repr, unknown))}: use "
                      f"{', '.join(sorted(known))} or a content type such as "
                      f"application/json")
    return names


def _check_transports(ns: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if ns.reliability and ns.matrix:
        _fail(parser, "--reliability and --matrix are two tables: ask for one")
    if (ns.markdown or ns.all) and not ns.matrix and not ns.reliability:
        ns.matrix = True  # both only make sense for a table: imply the matrix
    if ns.json and (ns.matrix or ns.reliability):
        _fail(parser, "--json lists the installed transports; it does not combine with "
                      "--matrix, --markdown or --all")


CHECKS = {"publish": _check_publish, "consume": _check_consume,
          "transports": _check_transports}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse and check ``argv``: usage errors exit with status 2, as argparse does."""
    parser, subs = build_parser()
    ns = parser.parse_args(argv)
    if ns.version:
        return ns
    if ns.command is None:
        parser.print_usage(sys.stderr)
        parser.exit(2, "kombu: error: a COMMAND is required: transports, publish or "
                       "consume (kombu --help describes them)\n")
    CHECKS[ns.command](ns, subs[ns.command])
    return ns
