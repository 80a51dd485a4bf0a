"""Acks without waiting for ZooKeeper's reply (the request is on the socket first).

ZooKeeper writes every change to its log (an fsync) before it answers, so an
ack that waited for its reply would cost a disk sync per message.  The
storage contract asks less: when ``ack`` returns, the delete must be *on the
socket*, so a process killed a moment later cannot take it back.  kazoo sends
its requests in order from one queue, by its connection thread; a request has
been written once it left that queue (kazoo's ``_queue``, read here; without
it, the reply is awaited).  The reply is read later, by kazoo's callback
thread: a lease that had lapsed meanwhile still deletes the message, and a
delete lost with the connection is sent again once kazoo reconnects.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kazoo.exceptions import NoNodeError, NotEmptyError

__all__ = ("send_ack", "wait_sent")

logger = logging.getLogger(__name__)

#: Seconds between two looks at kazoo's send queue (after _YIELDS plain yields).
_SPIN = 0.0001
_YIELDS = 50
#: Times a delete lost with the connection is sent again.
RETRIES = 5


def wait_sent(zk: Any, result: Any, timeout: float = 10.0) -> None:
    """Return once ``result``'s request left kazoo's send queue (or was answered)."""
    queue = getattr(zk, "_queue", None)
    if queue is None:  # not the kazoo this was written against: wait for the reply
        result.get(timeout=timeout)
        return
    deadline = time.monotonic() + timeout
    spins = 0
    while not result.ready() and any(item[1] is result for item in list(queue)):
        if time.monotonic() > deadline:
            result.get(timeout=0)  # raises kazoo's timeout
        # Yield the GIL to kazoo's sender first (it is usually writing already);
        # sleep only if that takes a while.
        spins += 1
        time.sleep(0 if spins < _YIELDS else _SPIN)


def _commit(zk: Any, ops: list[tuple[str, str]]) -> Any:
    tx = zk.transaction()
    for op, path in ops:
        if op == "delete":
            tx.delete(path)
    return tx.commit_async()


def send_ack(zk: Any, ops: list[tuple[str, str]], message_path: str, tries: int = 0) -> Any:
    """Send one ack transaction (``ops``: ``("delete", path)``), checked on reply."""
    result = _commit(zk, ops)

    def on_reply(done: Any) -> None:
        exc = done.exception
        if exc is not None:
            if tries < RETRIES and zk.state != "CLOSED":
                logger.debug("kombu-zk: ack of %s failed (%r): sending it again",
                             message_path, exc)
                send_ack(zk, ops, message_path, tries + 1)
            else:
                logger.warning("kombu-zk: could not ack %s (%r): it will be delivered "
                               "again", message_path, exc)
            return
        if any(isinstance(r, Exception) for r in done.value):
            # The lease had lapsed (the session expired): delete the message anyway,
            # unless another consumer holds it now.
            zk.delete_async(message_path).rawlink(_ignore)

    result.rawlink(on_reply)
    return result


def _ignore(done: Any) -> None:
    exc = done.exception
    if exc is not None and not isinstance(exc, (NoNodeError, NotEmptyError)):
        logger.debug("kombu-zk: delete after a lapsed lease failed: %r", exc)
