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
