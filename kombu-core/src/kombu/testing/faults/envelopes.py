"""Bad input for the fault scenarios, and where each transport keeps its envelopes.

Two kinds of bad input:

- **on the wire** (:func:`bad_publishes`): messages any producer can send that
  a consumer cannot decode: garbage for every installed serializer, a
  disallowed content type, a truncated body, a body claiming a compression it
  does not have; and an oversized (but valid) body that must arrive intact;
- **in the storage** (:data:`RAW_ENVELOPES`): malformed envelopes written
  straight to where the transport keeps them (a Redis list, a file of the
  filesystem transport, the memory broker's deque, an AMQP message with
  broken properties), bypassing the producer.

A transport tells the suite how to write a raw entry with an *envelope
writer*, ``write(conn, queue, payload: bytes) -> None``, and optionally how to
count entries it set aside itself (``set_aside(conn, queue) -> int``: a
transport that moves unreadable entries out of the way, loudly, instead of
delivering them).  :data:`WRITERS` has those of the transports in this
repository, by transport name; a new one names its own in its target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from importlib import import_module
from typing import Any

from ...connection import Connection

__all__ = ("RAW_ENVELOPES", "WRITERS", "EnvelopeWriter", "accepted", "bad_publishes",
           "good_envelope", "load_writer")

#: ``write(conn, queue, payload)`` and ``set_aside(conn, queue)`` (may be None).
Writer = Callable[[Connection, str, bytes], None]
EnvelopeWriter = tuple[Writer, Callable[[Connection, str], int] | None]

#: Bodies that fail to decode, per serializer content type.
GARBAGE = {
    "application/json": b"\xff\xfe{not json",
    "application/x-yaml": b"key: [unclosed\n  - {",
    "application/x-msgpack": b"\xc1\xc1\xc1",
    "application/x-python-serialize": b"\x80\x05garbage that is not a pickle",
}


def accepted() -> list[str]:
    """What the scenario's consumers accept: every installed serializer but pickle."""
    from ..checks.messages import serializers

    return [name for name in serializers() if name != "pickle"]


def bad_publishes() -> list[tuple[str, dict[str, Any]]]:
    """``(kind, publish kwargs)`` for every wire-level bad message."""
    from ...serialization import registry
    from ..checks.messages import serializers

    out: list[tuple[str, dict[str, Any]]] = []
    for name in serializers():
        content_type = registry.name_to_type[name]
        garbage = GARBAGE.get(content_type, b"\x00\xff\x00 undecodable")
        kind = "disallowed content type (pickle)" if name == "pickle" else \
            f"undecodable {name}"
        out.append((kind, {"body": garbage, "content_type": content_type,
                           "content_encoding": "binary"}))
    out.append(("unknown content type", {
        "body": b"hello", "content_type": "application/x-nobody-knows",
        "content_encoding": "binary"}))
    whole = json.dumps({"n": -1, "pad": "x" * 200}).encode()
    out.append(("truncated body", {"body": whole[: len(whole) // 2],
                                   "content_type": "application/json",
                                   "content_encoding": "utf-8"}))
    out.append(("bad compression", {"body": b"not gzip at all",
                                    "content_type": "application/json",
                                    "content_encoding": "utf-8",
                                    "headers": {"compression": "application/x-gzip"}}))
    return out


def good_envelope(queue: str, n: int) -> dict[str, Any]:
    """A well-formed envelope as the emulated broker stores it (base64 body)."""
    import base64

    body = base64.b64encode(json.dumps({"n": n}).encode()).decode()
    return {"body": body, "content-encoding": "utf-8", "content-type": "application/json",
            "headers": {}, "properties": {
                "delivery_info": {"exchange": "", "routing_key": queue}, "priority": 0,
                "body_encoding": "base64", "delivery_mode": 2}}


def _variant(queue: str, **changes: Any) -> bytes:
    envelope = good_envelope(queue, -1)
    for key, value in changes.items():
        if key.startswith("p_"):
            envelope["properties"][key[2:]] = value
        elif value is _DROP:
            envelope.pop(key.replace("_", "-"), None)
        else:
            envelope[key.replace("_", "-")] = value
    return json.dumps(envelope).encode()


_DROP = object()

#: ``kind -> payload(queue)``: malformed entries written straight into the storage.
RAW_ENVELOPES: dict[str, Callable[[str], bytes]] = {
    "not JSON": lambda q: b"\x00\xff not an envelope \xfe",
    "empty": lambda q: b"",
    "truncated envelope": lambda q: json.dumps(good_envelope(q, -1)).encode()[:40],
    "JSON list": lambda q: b"[1, 2, 3]",
    "JSON string": lambda q: b'"just a string"',
    "JSON null": lambda q: b"null",
    "no properties": lambda q: _variant(q, properties=_DROP),
    "properties not a map": lambda q: _variant(q, properties="oops"),
    "delivery_info not a map": lambda q: _variant(q, p_delivery_info=[1, 2]),
    "headers not a map": lambda q: _variant(q, headers=["a", "b"]),
    "bad base64 body": lambda q: _variant(q, body="!!!not base64!!!"),
    "unknown body encoding": lambda q: _variant(q, p_body_encoding="rot13"),
    "content-type not a string": lambda q: _variant(q, content_type=42),
    "priority not a number": lambda q: _variant(q, p_priority="high"),
    "no body": lambda q: _variant(q, body=_DROP),
}


# -- where each transport keeps its envelopes ----------------------------------------


def _memory_write(conn: Connection, queue: str, payload: bytes) -> None:
    storage = conn.default_channel.storage
    storage.state.queue(queue).put(payload.decode("utf-8", "surrogateescape"))
    storage.state.signal.notify()


def _filesystem_write(conn: Connection, queue: str, payload: bytes) -> None:
    from ...transport.filesystem.layout import atomic_write, message_name

    storage = conn.default_channel.storage
    folder = storage._dir_out(queue)
    os.makedirs(folder, exist_ok=True)
    atomic_write(os.path.join(folder, message_name(0, "injected00")), payload, fsync=False)


def _filesystem_set_aside(conn: Connection, queue: str) -> int:
    from ...transport.filesystem.layout import CORRUPT

    folder = os.path.join(conn.default_channel.storage._dir_in(queue), CORRUPT)
    try:
        return len(os.listdir(folder))
    except FileNotFoundError:
        return 0


def _redis_write(conn: Connection, queue: str, payload: bytes) -> None:
    channel = conn.default_channel
    channel.client.lpush(channel.connection.layout.queue_keys(queue)[0], payload)


def _amqp_write(conn: Connection, queue: str, payload: bytes) -> None:
    import amqp  # type: ignore[import-untyped]

    channel = conn.default_channel
    text = payload.decode("utf-8", "replace")
    # The broker keeps AMQP properties itself: what can be malformed is what they say.
    properties: dict[str, Any] = {"content_type": "application/json",
                                  "content_encoding": "utf-8", "delivery_mode": 2}
    if "properties" in text or "headers" in text:
        properties["application_headers"] = {"compression": "application/x-unknown"}
    if not text.strip().startswith("{"):
        properties["content_encoding"] = "x-no-such-encoding"
    channel.basic_publish(amqp.Message(payload, **properties), exchange="", routing_key=queue)


WRITERS: dict[str, EnvelopeWriter] = {
    "memory": (_memory_write, None),
    "filesystem": (_filesystem_write, _filesystem_set_aside),
    "redis": (_redis_write, None),
    "amqp": (_amqp_write, None),
}


def load_writer(spec: str | None, transport: str) -> EnvelopeWriter | None:
    """The writer named ``module:function[,module:function]``, else the built-in one."""
    if not spec:
        return WRITERS.get(transport)
    parts = [p.strip() for p in spec.split(",")]
    funcs = []
    for part in parts:
        module, _, name = part.partition(":")
        funcs.append(getattr(import_module(module), name))
    return funcs[0], (funcs[1] if len(funcs) > 1 else None)
