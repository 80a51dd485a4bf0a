"""The storage of kombu-azure: Azure Storage Queues under the emulated broker's engine.

One Azure queue per kombu queue (see :func:`.options.entity_name`); each
message is one envelope as JSON text (:func:`kombu.transport.virtual.envelope.dumps`,
bodies base64).  A fetch *receives* messages with a visibility timeout of
``lease_seconds``: they stay in the queue, invisible; the engine's lease keeper
renews that visibility (``update_message``) while a live consumer holds them,
an ack deletes them, a requeue makes them visible again at once, and a
consumer that dies simply stops renewing, so Azure shows its messages again
when the timeout lapses.  Nothing in a lease names a process.

Exchanges and bindings live in the process, as in kombu (Azure has no place
for them); queue arguments are kept in the Azure queue's metadata as well, so
every client sees them.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from kombu.exceptions import LimitExceeded
from kombu.transport.virtual import Binding, Delivery, RouteTable, Target
from kombu.transport.virtual.envelope import dumps, loads

from .options import AZURE_MESSAGE_LIMIT, entity_name

__all__ = ("AzureStorage", "Lease")

#: Queue metadata key holding the queue's declared arguments (JSON).
ARGS_KEY = "kombuarguments"
#: Most messages one receive call may return (the service's limit).
RECEIVE_MAX = 32
#: Azure messages never expire by themselves (kombu's TTLs are the engine's).
NEVER = -1

_tags = itertools.count(1)


class Lease:
    """A received message: its queue, id and the pop receipt the last call gave."""

    __slots__ = ("lock", "message_id", "pop_receipt", "queue")

    def __init__(self, queue: str, message_id: str, pop_receipt: str) -> None:
        self.queue = queue
        self.message_id = message_id
        self.pop_receipt = pop_receipt
        self.lock = threading.Lock()


class AzureStorage:
    """One channel's view of the storage account (``channel=None``: the lease keeper's)."""

    blocking_fetch = True
    checks_route_version = False

    def __init__(self, transport: Any, channel: Any = None) -> None:
        self.transport = transport
        self.state = transport.state
        self.service = transport.service_client()
        #: tag -> Lease, shared by every storage of the connection.
        self.leases: dict[str, Lease] = transport.leases
        source = channel if channel is not None else transport
        self.prefix: str = str(getattr(source, "queue_name_prefix", "") or "")
        #: Azure takes whole seconds (1 at least).
        self.lease_seconds: float | None = float(max(1, round(float(source.visibility_timeout))))
        self.wait_time_seconds = float(getattr(source, "wait_time_seconds", 0) or 0)
        self.polling_interval = float(transport.polling_interval or 0.0)
        self.max_size = int(transport.max_message_size or AZURE_MESSAGE_LIMIT)
        self._clients: dict[str, Any] = {}
        self._names: dict[str, str] = {}

    # -- helpers ---------------------------------------------------------------

    def name(self, queue: str) -> str:
        """The Azure queue name of kombu queue ``queue`` (cached)."""
        found = self._names.get(queue)
        if found is None:
            found = self._names[queue] = entity_name(queue, self.prefix)
        return found

    def client(self, queue: str) -> Any:
        """The QueueClient of kombu queue ``queue`` (cached; clients share one pipeline)."""
        found = self._clients.get(queue)
        if found is None:
            found = self._clients[queue] = self.service.get_queue_client(self.name(queue))
        return found

    def _visibility(self) -> int:
        return max(1, round(self.lease_seconds or 30))

    # -- queues --------------------------------------------------------------

    def declare_queue(self, queue: str, arguments: Mapping[str, Any] | None) -> None:
        metadata = {ARGS_KEY: json.dumps(dict(arguments), ensure_ascii=True)} if arguments \
            else None
        client = self.client(queue)
        try:
            client.create_queue(metadata=metadata)
        except ResourceExistsError:
            if metadata:  # created earlier (e.g. by a publish): now remember the arguments
                client.set_queue_metadata(metadata)
        with self.state.lock:
            self.state.queue_arguments[queue] = dict(arguments or {})

    def queue_arguments(self, queue: str) -> Mapping[str, Any] | None:
        found: Mapping[str, Any] | None = self.state.queue_arguments.get(queue)
        if found is not None:
            return found
        try:
            props = self.client(queue).get_queue_properties()
        except ResourceNotFoundError:
            return None
        raw = (props.metadata or {}).get(ARGS_KEY)
        try:
            args = dict(json.loads(raw)) if raw else {}
        except ValueError:
            args = {}
        with self.state.lock:
            self.state.queue_arguments[queue] = args
        return args

    def queue_exists(self, queue: str) -> bool:
        try:
            self.client(queue).get_queue_properties()
        except ResourceNotFoundError:
            return False
        return True

    def queue_size(self, queue: str) -> int:
        """Visible messages: exact up to 32 (peeked), Azure's approximate count above."""
        client = self.client(queue)
        try:
            props = client.get_queue_properties()
        except ResourceNotFoundError:
            return 0
        approximate = int(props.approximate_message_count or 0)
        if approximate <= RECEIVE_MAX:
            return len(client.peek_messages(max_messages=RECEIVE_MAX))
        return approximate

    def purge_queue(self, queue: str) -> int:
        count = self.queue_size(queue)
        try:
            self.client(queue).clear_messages()
        except ResourceNotFoundError:
            return 0
        return count

    def delete_queue(self, queue: str) -> int:
        count = self.queue_size(queue)
        try:
            self.client(queue).delete_queue()
        except ResourceNotFoundError:
            pass
        state = self.state
        with state.lock:
            state.queue_bindings_delete(queue)
            state.queue_arguments.pop(queue, None)
        return count

    # -- exchanges and bindings (in the process, as kombu) ---------------------

    def declare_exchange(self, exchange: str, meta: Mapping[str, Any]) -> None:
        self.state.declare_exchange(exchange, meta["type"], meta["durable"],
                                    meta["auto_delete"], dict(meta.get("arguments") or {}))

    def delete_exchange(self, exchange: str) -> None:
        self.state.delete_exchange(exchange)

    def bind(self, binding: Binding) -> None:
        args = dict(binding.arguments) if binding.arguments else None
        self.state.binding_declare(binding.queue, binding.exchange, binding.routing_key, args)

    def unbind(self, binding: Binding) -> None:
        self.state.binding_delete(binding.queue, binding.exchange, binding.routing_key)

    def route_table(self, exchange: str) -> RouteTable:
        return self.state.route_table(exchange)  # type: ignore[no-any-return]

    def route_version(self, exchange: str) -> Hashable | None:
        return self.state.versions.get(exchange)  # type: ignore[no-any-return]

    def exchanges(self) -> list[str]:
        return list(self.state.exchanges)

    # -- messages ------------------------------------------------------------

    def encode(self, envelope: Mapping[str, Any]) -> str:
        """The envelope's stored text; over the service's limit: LimitExceeded, nothing sent."""
        text = dumps(envelope)
        size = len(text) if text.isascii() else len(text.encode("utf-8"))
        if size > self.max_size:
            raise LimitExceeded(
                f"Message too large for Azure Storage Queues: {size} bytes as stored "
                f"(body base64-encoded in a JSON envelope), over the service's limit of "
                f"{self.max_size} bytes (64 KiB). Nothing was published: send large "
                f"payloads by reference (e.g. a blob URL) instead.")
        return text

    def send(self, queue: str, text: str) -> None:
        """One message into ``queue``; a queue that does not exist yet is created."""
        client = self.client(queue)
        try:
            client.send_message(text, time_to_live=NEVER)
        except ResourceNotFoundError:
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            client.send_message(text, time_to_live=NEVER)

    def put(self, envelope: dict[str, Any], targets: Sequence[Target],
            version: Hashable | None = None) -> bool:
        text = self.encode(envelope)
        for target in targets:
            self.send(target.queue, text)
        return True

    def fetch(self, queues: Sequence[str], n: int, noack: Collection[str] = (),
              timeout: float = 0.0) -> list[Delivery]:
        wait = min(timeout or 0.0, self.wait_time_seconds)
        deadline = time.monotonic() + wait
        while True:
            out = self._fetch_once(queues, n, noack)
            if out or time.monotonic() + self.polling_interval > deadline:
                return out
            time.sleep(self.polling_interval)

    def _fetch_once(self, queues: Sequence[str], n: int,
                    noack: Collection[str]) -> list[Delivery]:
        out: list[Delivery] = []
        visibility = self._visibility()
        for queue in queues:
            want = n - len(out)
            if want <= 0:
                break
            client = self.client(queue)
            try:
                pages = client.receive_messages(messages_per_page=min(want, RECEIVE_MAX),
                                                visibility_timeout=visibility).by_page()
                messages = list(next(pages, ()))
            except ResourceNotFoundError:
                continue
            for message in messages:
                payload: Any = message.content
                if message.dequeue_count and message.dequeue_count > 1:
                    payload = _flag_redelivered(payload)
                if queue in noack:
                    client.delete_message(message.id, message.pop_receipt)
                    out.append(Delivery(queue, f"az{next(_tags)}", payload, False))
                    continue
                tag = f"az{next(_tags)}"
                self.leases[tag] = Lease(queue, message.id, message.pop_receipt)
                out.append(Delivery(queue, tag, payload, True))
        return out

    def ack(self, tags: Sequence[Any]) -> None:
        leases = self.leases
        for tag in tags:
            lease = leases.pop(tag, None)
            if lease is None:
                continue
            with lease.lock:
                try:
                    self.client(lease.queue).delete_message(lease.message_id, lease.pop_receipt)
                except ResourceNotFoundError:
                    pass  # its lease lapsed and another consumer took it (or it is gone)
                except HttpResponseError as exc:
                    if exc.status_code not in (400, 404):  # PopReceiptMismatch: same story
                        leases.setdefault(tag, lease)
                        raise

    def requeue(self, deliveries: Sequence[Delivery]) -> None:
        for delivery in deliveries:
            payload = delivery.payload
            text = payload if isinstance(payload, str) else (
                payload.decode("utf-8") if isinstance(payload, (bytes, bytearray))
                else dumps(payload))
            lease = self.leases.pop(delivery.tag, None) if delivery.leased else None
            if lease is None:
                if delivery.leased:
                    continue  # restored already (its lease lapsed)
                self.send(delivery.queue, text)
                continue
            with lease.lock:
                try:
                    self.client(lease.queue).update_message(
                        lease.message_id, lease.pop_receipt, content=text, visibility_timeout=0)
                except (ResourceNotFoundError, HttpResponseError) as exc:
                    if isinstance(exc, ResourceNotFoundError) or exc.status_code in (400, 404):
                        continue  # lapsed: Azure shows it again by itself
                    raise

    def renew(self, tags: Sequence[Any]) -> None:
        visibility = self._visibility()
        for tag in tags:
            lease = self.leases.get(tag)
            if lease is None:
                continue
            with lease.lock:
                if self.leases.get(tag) is not lease:
                    continue  # acked meanwhile
                try:
                    updated = self.client(lease.queue).update_message(
                        lease.message_id, lease.pop_receipt, visibility_timeout=visibility)
                except ResourceNotFoundError:
                    self.leases.pop(tag, None)  # lapsed and taken by another consumer
                    continue
                except HttpResponseError as exc:
                    if exc.status_code in (400, 404):
                        self.leases.pop(tag, None)
                        continue
                    raise
                lease.pop_receipt = updated.pop_receipt

    def restore_lapsed(self) -> int:
        """Azure shows a message again when its visibility timeout lapses: nothing to do."""
        return 0

    def close(self) -> None:
        self._clients.clear()


def _flag_redelivered(text: Any) -> Any:
    """The envelope of a message received before, flagged redelivered (text kept if bad)."""
    try:
        envelope = loads(text)
        envelope["properties"].setdefault("delivery_info", {})["redelivered"] = True
    except Exception:
        return text
    return envelope
