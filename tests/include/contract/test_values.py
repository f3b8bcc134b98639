"""Unit tests for include.firestore_to_mongo.contract.values: Firestore types → BSON-ready values, at any depth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import google.auth.credentials
import pytest
from bson.binary import Binary
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint
from google.cloud.firestore_v1.vector import Vector

from include.firestore_to_mongo.contract.values import UnsupportedValueError, convert_value

# Creating a client does no network I/O; it only builds DocumentReferences here.
CLIENT = firestore.Client(project="p", credentials=google.auth.credentials.AnonymousCredentials())
TWIN_REF = CLIENT.document("digital_twins/abc")
MESSAGE_REF = CLIENT.document("digital_twins/t1/conversations/c1/messages/m1")
TS = DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=123_456_789, tzinfo=UTC)
TS_MS = datetime(2024, 3, 5, 10, 20, 30, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("text", id="str"),
        pytest.param("", id="empty-str"),
        pytest.param("2024-03-05T10:20:30Z", id="iso-string-not-parsed"),
        pytest.param(0, id="int-zero"),
        pytest.param(1709634030, id="epoch-int-not-parsed"),
        pytest.param(-7, id="negative-int"),
        pytest.param(1.5, id="float"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(None, id="none"),
    ],
)
def test_scalars_pass_through(value: object) -> None:
    result = convert_value(value)
    assert result == value
    assert type(result) is type(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(TS, TS_MS, id="timestamp-truncated-to-ms"),
        pytest.param(
            DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=999_999, tzinfo=UTC),
            datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC),
            id="timestamp-sub-ms-dropped",
        ),
        pytest.param(
            datetime(2024, 3, 5, 12, 20, 30, 5999, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 3, 5, 10, 20, 30, 5000, tzinfo=UTC),
            id="aware-datetime-to-utc",
        ),
        pytest.param(
            datetime(2024, 3, 5, 10, 20, 30), datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC), id="naive-is-utc"
        ),
        pytest.param(TWIN_REF, "digital_twins/abc", id="document-reference-path"),
        pytest.param(MESSAGE_REF, "digital_twins/t1/conversations/c1/messages/m1", id="nested-doc-ref-path"),
        pytest.param(GeoPoint(52.52, 13.405), {"latitude": 52.52, "longitude": 13.405}, id="geopoint"),
        pytest.param(GeoPoint(-33.9, -70.0), {"latitude": -33.9, "longitude": -70.0}, id="geopoint-negative"),
        pytest.param(Vector([1, 2.5, -3]), [1.0, 2.5, -3.0], id="vector-to-floats"),
        pytest.param((1, "a", None), [1, "a", None], id="tuple-to-list"),
        pytest.param([], [], id="empty-list"),
        pytest.param({}, {}, id="empty-map"),
    ],
)
def test_firestore_types_converted(value: object, expected: object) -> None:
    result = convert_value(value)
    assert result == expected
    assert type(result) is type(expected)
    if isinstance(expected, datetime):
        assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(b"\x00\x01\xff", b"\x00\x01\xff", id="bytes"),
        pytest.param(b"", b"", id="empty-bytes"),
        pytest.param(bytearray(b"abc"), b"abc", id="bytearray"),
    ],
)
def test_bytes_become_binary(value: bytes | bytearray, expected: bytes) -> None:
    result = convert_value(value)
    assert type(result) is Binary
    assert result.subtype == 0
    assert bytes(result) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"when": TS, "who": TWIN_REF, "where": GeoPoint(1.0, 2.0), "blob": b"x", "n": 3},
            {
                "when": TS_MS,
                "who": "digital_twins/abc",
                "where": {"latitude": 1.0, "longitude": 2.0},
                "blob": Binary(b"x"),
                "n": 3,
            },
            id="map-of-firestore-types",
        ),
        pytest.param(
            [TS, [TWIN_REF, [GeoPoint(0.0, 0.0)]], {"deep": {"deeper": [b"y"]}}],
            [
                TS_MS,
                ["digital_twins/abc", [{"latitude": 0.0, "longitude": 0.0}]],
                {"deep": {"deeper": [Binary(b"y")]}},
            ],
            id="nested-arrays-and-maps",
        ),
        pytest.param(
            {"files": [{"name": "a.pdf", "uploaded": TS, "owner": MESSAGE_REF}]},
            {
                "files": [
                    {
                        "name": "a.pdf",
                        "uploaded": TS_MS,
                        "owner": "digital_twins/t1/conversations/c1/messages/m1",
                    }
                ]
            },
            id="list-of-maps",
        ),
        pytest.param(
            {"iso": "2024-03-05T10:20:30Z", "epoch": 1709634030, "map": {"_seconds": 1, "_nanoseconds": 0}},
            {"iso": "2024-03-05T10:20:30Z", "epoch": 1709634030, "map": {"_seconds": 1, "_nanoseconds": 0}},
            id="timestamp-lookalikes-untouched",
        ),
    ],
)
def test_nested_values_converted_recursively(value: object, expected: object) -> None:
    assert convert_value(value) == expected


def test_nested_binary_is_binary_not_bytes() -> None:
    result = convert_value({"a": [b"raw"]})
    assert type(result["a"][0]) is Binary


def test_input_is_not_mutated() -> None:
    source = {"when": TS, "items": [TWIN_REF]}
    convert_value(source)
    assert source == {"when": TS, "items": [TWIN_REF]}
    assert source["items"][0] is TWIN_REF


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        pytest.param({1, 2}, "set", id="set"),
        pytest.param(object(), "object", id="object"),
        pytest.param(Decimal("1.5"), "Decimal", id="decimal"),
        pytest.param(1 + 2j, "complex", id="complex"),
        pytest.param({"nested": [{"bad": frozenset()}]}, "frozenset", id="nested-unsupported"),
    ],
)
def test_unsupported_values_raise(value: object, type_name: str) -> None:
    with pytest.raises(UnsupportedValueError, match=f"unsupported value type {type_name}$"):
        convert_value(value)
