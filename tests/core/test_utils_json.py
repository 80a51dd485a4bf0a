"""kombu.utils.json: extended types round-trip, __json__, bytes-like input."""

from __future__ import annotations

import json as stdjson
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from kombu.utils import json


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 5, 6, 7, 8, 9, 123456),
        datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone(timedelta(hours=2))),
        date(2024, 5, 6),
        time(7, 8, 9, 10),
        Decimal("3.14159265358979323846"),
        uuid4(),
        b"plain bytes",
        b"\x00\xff\xfe binary",
    ],
)
def test_round_trip(value):
    text = json.dumps({"v": value, "list": [value]})
    back = json.loads(text)
    assert back == {"v": value, "list": [value]}
    assert type(back["v"]) is type(value)


def test_plain_json_is_unchanged():
    data = {"a": [1, 2.5, None, True, "ü"], "b": {"c": "d"}}
    assert json.loads(json.dumps(data)) == data
    assert stdjson.loads(json.dumps(data)) == data


def test_loads_accepts_bytes_like():
    text = json.dumps({"when": date(2020, 1, 1)})
    for value in (text, text.encode(), bytearray(text.encode()), memoryview(text.encode())):
        assert json.loads(value) == {"when": date(2020, 1, 1)}


def test_dunder_json():
    class Thing:
        def __json__(self):
            return {"thing": 1}

    assert json.loads(json.dumps([Thing()])) == [{"thing": 1}]


def test_register_type():
    json.register_type(Point, "point", lambda p: [p.x, p.y], lambda v: Point(*v))
    try:
        assert json.loads(json.dumps({"p": Point(1, 2)})) == {"p": Point(1, 2)}
    finally:
        json._encoders.pop(Point)
        json._decoders.pop("point")


def test_register_type_without_marker_is_one_way():
    json.register_type(Point, None, lambda p: f"{p.x},{p.y}")
    try:
        assert json.loads(json.dumps(Point(1, 2))) == "1,2"
    finally:
        json._encoders.pop(Point)


def test_unknown_marker_is_an_error():
    with pytest.raises(ValueError, match="nope"):
        json.loads('{"__type__": "nope", "__value__": 1}')


def test_unencodable_is_type_error():
    with pytest.raises(TypeError):
        json.dumps(object())


def test_dumps_forwards_kwargs():
    assert json.dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert (
        json.dumps({"a": date(2020, 1, 2)}, separators=(",", ":"))
        == '{"a":{"__type__":"date","__value__":"2020-01-02"}}'
    )
    assert json.dumps([1], default_kwargs={"indent": 1}) == "[\n 1\n]"


def test_subclass_uses_nearest_registered_type():
    class MyDate(datetime):
        pass

    value = MyDate(2020, 1, 2, 3, 4)
    assert json.loads(json.dumps(value)) == datetime(2020, 1, 2, 3, 4)


def test_register_type_takes_kombus_parameter_names_and_decodes_as_is_by_default():
    class Celsius:
        def __init__(self, degrees):
            self.degrees = degrees

    json.register_type(t=Celsius, marker="celsius", encoder=lambda c: c.degrees)
    try:
        text = json.dumps({"t": Celsius(21.5)})
        assert stdjson.loads(text) == {"t": {"__type__": "celsius", "__value__": 21.5}}
        assert json.loads(text) == {"t": 21.5}  # the default decoder returns the value
    finally:
        json._encoders.pop(Celsius)
        json._decoders.pop("celsius")
    with pytest.raises(TypeError, match="needs a type"):
        json.register_type("celsius", "c", float)


def test_textual_types_are_written_as_their_text(monkeypatch):
    class LazyText:  # what Django's gettext_lazy returns: a str only on demand
        def __init__(self, text):
            self.text = text

        def __str__(self):
            return self.text

    assert isinstance(json.textual_types, tuple)
    with pytest.raises(TypeError):
        json.dumps({"label": LazyText("hello")})
    monkeypatch.setattr(json, "textual_types", (*json.textual_types, LazyText))
    assert json.loads(json.dumps({"label": LazyText("hello")})) == {"label": "hello"}


def test_bytes_and_uuid_use_kombus_wire_format():
    u = uuid4()
    assert stdjson.loads(json.dumps([b"text", b"\xff\x00", u])) == [
        {"__type__": "bytes", "__value__": "text"},
        {"__type__": "base64", "__value__": "/wA="},
        {"__type__": "uuid", "__value__": {"hex": u.hex}},
    ]
    assert json.loads(json.dumps([b"text", b"\xff\x00", u])) == [b"text", b"\xff\x00", u]
    # A plain string UUID (and the early kombu-core bytes form) still decode.
    assert json.loads(stdjson.dumps({"__type__": "uuid", "__value__": str(u)})) == u
    assert json.loads('{"__type__": "bytes", "__value__": {"base64": "/wA="}}') == b"\xff\x00"


def test_dumps_reports_a_circular_value_as_json_does() -> None:
    value: list[object] = []
    value.append(value)
    with pytest.raises(ValueError, match="Circular reference"):
        json.dumps(value)


def test_dumps_from_many_threads_at_once_on_one_shared_value() -> None:
    # The encoder is built once and shared: it must keep no per-call state.
    import threading
    shared = {"headers": {"a": [1, 2, {"b": "c"}]}, "when": datetime(2020, 1, 2)}
    expected = json.dumps(shared)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(2000):
                assert json.dumps(shared) == expected
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("text", [' {"a": 1}', '{"a": 1} ', '\n{"a": 1}\n'])
def test_loads_accepts_whitespace_around_the_value_as_json_does(text: str) -> None:
    assert json.loads(text) == stdjson.loads(text) == {"a": 1}


@pytest.mark.parametrize("text", ['{"a": 1} x', '{"a": 1}{}', "", "{"])
def test_loads_rejects_what_json_rejects_with_its_message(text: str) -> None:
    with pytest.raises(ValueError) as ours:
        json.loads(text)
    with pytest.raises(ValueError) as theirs:
        stdjson.loads(text)
    assert str(ours.value) == str(theirs.value)
