"""Connecting for a command: retries announced on standard error, errors as exit statuses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import CommandError, Exit, classify

__all__ = ("Broker", "ConnectionLost")


class ConnectionLost(Exception):
    """An established connection broke: the command may reconnect and go on."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def masked(url: str) -> str:
    """``url`` as the user wrote it, with any password replaced by ``**``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:**@{hostport}"
    return f"{scheme}{sep}{netloc}{slash}{tail}"


def retry_delay(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, 4, ... at most 10)."""
    return float(min(2 ** (attempt - 1), 10))


class Broker:
    """One broker URL as a command uses it.

    :meth:`connect` retries an unreachable or silent broker ``retries`` times,
    saying so on standard error; every other failure, and the last one, ends
    the command with a :class:`CommandError` naming the broker (password
    masked), the cause and the fix.
    """

    def __init__(self, url: str, *, retries: int, connect_timeout: float,
                 say: Callable[[str], None]) -> None:
        self.url = url
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.say = say
        self.display = masked(url)

    def fail(self, exc: BaseException, doing: str) -> CommandError:
        """The :class:`CommandError` for ``exc``; re-raises what is not a broker error."""
        failure = classify(exc, self.connect_timeout)
        if failure is None:
            raise exc
        return CommandError(failure.status, failure.line(self.display, doing))

    def connection(self) -> Any:
        """A new (unconnected) :class:`~kombu.Connection` for the URL."""
        from ..connection import Connection

        try:
            # Publisher confirms where the transport has them (AMQP): "published" means
            # the broker has it, not that it sat in a socket buffer.  Others ignore it.
            conn = Connection(self.url, connect_timeout=self.connect_timeout,
                              transport_options={"confirm_publish": True})
        except ValueError as exc:  # a malformed URL
            raise CommandError(Exit.USAGE, f"bad URL {self.display}: {exc}") from exc
        except Exception as exc:  # the transport is not installed
            raise self.fail(exc, "cannot use") from exc
        return conn

    def connect(self) -> Any:
        """An established connection, after at most ``retries`` announced retries."""
        attempt = 0
        while True:
            conn = self.connection()
            try:
                conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)
                return conn
            except Exception as exc:
                close_quietly(conn)
                failure = classify(exc, self.connect_timeout)
                if failure is None:
                    raise
                attempt += 1
                if not failure.transient or attempt > self.retries:
                    line = failure.line(self.display)
                    if attempt > 1:
                        line += f" Gave up after {attempt} attempts (--retries {self.retries})."
                    raise CommandError(failure.status, line) from exc
                delay = retry_delay(attempt)
                self.say(f"{failure.line(self.display, with_fix=False)}; retrying in "
                         f"{delay:g} s, {attempt} of {self.retries}")
                time.sleep(delay)

    @contextmanager
    def errors(self, conn: Any) -> Iterator[None]:
        """Broker errors inside the block: :class:`ConnectionLost` or a :class:`CommandError`."""
        try:
            yield
        except (CommandError, ConnectionLost):
            raise
        except Exception as exc:
            if isinstance(exc, tuple(conn.recoverable_connection_errors)):
                raise ConnectionLost(exc) from exc
            raise self.fail(exc, "error from") from exc


def close_quietly(conn: Any) -> None:
    """Close ``conn``, ignoring errors of a connection already broken."""
    try:
        conn.release()
    except Exception:
        pass
