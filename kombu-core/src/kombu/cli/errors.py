"""Exit statuses of the ``kombu`` command, and broker errors turned into one line each.

Every error the command can meet talking to a broker is sorted into a class
(refused, timed out, authentication, access, TLS, not installed, other) with
its own exit status, a short cause and the fix, phrased for the command line.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

from ..exceptions import KombuError, TransportNotInstalled
from ..utils.url import maybe_sanitize_url

__all__ = ("EXIT_STATUS_HELP", "BrokerFailure", "CommandError", "Exit", "classify")


class Exit(IntEnum):
    """The exit statuses, one per class of outcome (documented in ``kombu --help``)."""

    OK = 0
    NO_MESSAGE = 1
    USAGE = 2
    BAD_MESSAGE = 3
    UNREACHABLE = 10
    TIMEOUT = 11
    AUTHENTICATION = 12
    ACCESS = 13
    TLS = 14
    NOT_INSTALLED = 15
    BROKER = 16
    INTERRUPTED = 130
    STDOUT_CLOSED = 141


EXIT_STATUS_HELP = """\
exit status:
    0  success
    1  consume --timeout: no message arrived in time
    2  usage: bad arguments, options, URL or BODY
    3  consume stopped at a message it cannot decode or does not accept (--on-error stop)
   10  broker unreachable: connection refused or host not found
   11  broker timed out: no answer within --connect-timeout
   12  authentication refused: wrong user name or password
   13  access refused: virtual host (or database) missing or not permitted
   14  TLS failure: handshake or certificate
   15  transport not installed: missing plugin or client library
   16  any other error reported by the broker or the transport
  130  interrupted (Ctrl-C)
  141  standard output closed (e.g. piped into head)"""


class CommandError(Exception):
    """Ends the command: ``message`` on standard error, exit with ``status``."""

    def __init__(self, status: Exit, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class BrokerFailure:
    """A classified broker error: its exit status, what happened, and the fix."""

    status: Exit
    what: str
    cause: str
    fix: str

    @property
    def transient(self) -> bool:
        """Whether trying again later may help (the broker may be starting)."""
        return self.status in (Exit.UNREACHABLE, Exit.TIMEOUT)

    def line(self, url: str, doing: str = "cannot connect to", with_fix: bool = True) -> str:
        """The one-line report: the broker (masked), what happened, the cause, the fix."""
        text = f"{doing} {url}: {self.what}"
        if self.cause and self.cause.lower() != self.what.lower():
            text += f" ({self.cause})"
        return f"{text}. {self.fix}" if self.fix and with_fix else text


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 16:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


_ERRNO_PREFIX = re.compile(r"^\[Errno -?\d+\]\s*|^Error -?\d+ ")
_SSL_LOCATION = re.compile(r"\s*\(_ssl\.c:\d+\)|_ssl\.c:\d+:\s*")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _text(exc: BaseException) -> str:
    text = getattr(exc, "reply_text", None) or str(exc) or type(exc).__name__
    text = _SSL_LOCATION.sub("", _ERRNO_PREFIX.sub("", str(text))).strip()
    return _URL.sub(lambda m: str(maybe_sanitize_url(m.group(0))), text).rstrip(".")


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def _is_tls(exc: BaseException) -> bool:
    if isinstance(exc, ssl.SSLError):
        return True
    return isinstance(exc, (socket.timeout, TimeoutError)) and "handshake" in str(exc).lower()


def _is_auth(exc: BaseException) -> bool:
    text = str(getattr(exc, "reply_text", "") or exc)
    if "AuthenticationError" in _names(exc) or "WRONGPASS" in text or "NOAUTH" in text:
        return True
    return getattr(exc, "reply_code", None) == 403 and "login" in text.lower()


def _is_access(exc: BaseException) -> bool:
    text = str(getattr(exc, "reply_text", "") or exc)
    if getattr(exc, "reply_code", None) in (403, 530) or "NoPermissionError" in _names(exc):
        return True
    if "NOPERM" in text or "DB index is out of range" in text:
        return True
    return isinstance(exc, PermissionError)


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, (socket.timeout, TimeoutError)) or "TimeoutError" in _names(exc)


_UNREACHABLE_ERRNOS = {errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH,
                       errno.EADDRNOTAVAIL}


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        return True
    return isinstance(exc, OSError) and exc.errno in _UNREACHABLE_ERRNOS


def _first(exc: BaseException, test: object) -> BaseException | None:
    """The deepest exception of the chain passing ``test`` (the root cause)."""
    found = [e for e in _chain(exc) if test(e)]  # type: ignore[operator]
    return found[-1] if found else None


def _is_brokerish(exc: BaseException) -> bool:
    module = type(exc).__module__.split(".", 1)[0]
    return isinstance(exc, (KombuError, OSError)) or module in ("amqp", "redis") \
        or module.startswith("kombu_")


def classify(exc: BaseException, connect_timeout: float | None = None) -> BrokerFailure | None:
    """Sort a broker error into its class; ``None`` for anything that is not one (a bug)."""
    if isinstance(exc, (TransportNotInstalled, ImportError)):
        return BrokerFailure(Exit.NOT_INSTALLED, "transport not installed", "", str(exc))
    found = _first(exc, _is_tls)
    if found is not None:
        return BrokerFailure(
            Exit.TLS, "TLS handshake failed", _text(found),
            "If the broker does not use TLS on this port, use the plain scheme (amqp://, "
            "redis://); otherwise check its certificate and the TLS options of the URL.")
    found = _first(exc, _is_auth)
    if found is not None:
        return BrokerFailure(
            Exit.AUTHENTICATION, "authentication refused", _text(found),
            "Check the user name and password in the URL (user:password@host).")
    found = _first(exc, _is_access)
    if found is not None:
        return BrokerFailure(
            Exit.ACCESS, "access refused", _text(found),
            "Check that the virtual host (or database number) in the URL's path exists and "
            "that the user may use it.")
    found = _first(exc, _is_unreachable)
    if found is not None:
        if isinstance(found, socket.gaierror):
            return BrokerFailure(Exit.UNREACHABLE, "host not found", _text(found),
                                 "Check the host name in the URL.")
        return BrokerFailure(Exit.UNREACHABLE, "connection refused", _text(found),
                             "Is the broker running? Check the host and port in the URL.")
    found = _first(exc, _is_timeout)
    if found is not None:
        after = f" within {connect_timeout:g} s" if connect_timeout else ""
        return BrokerFailure(
            Exit.TIMEOUT, f"no answer{after}", _text(found),
            "Is the broker up, and is this its port? If it is only slow, raise "
            "--connect-timeout.")
    if _is_brokerish(exc):
        fix = ""
        if any(getattr(e, "reply_code", None) == 406 for e in _chain(exc)):
            fix = ("The queue already exists with other settings: use another queue name, "
                   "or delete that queue.")
        return BrokerFailure(Exit.BROKER, "broker error", _text(exc), fix)
    return None
