"""Unit tests for include.firestore_to_mongo.timestamps: every accepted form, and every rejection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from include.firestore_to_mongo.timestamps import (
    EPOCH,
    MILLISECONDS_THRESHOLD,
    TimestampError,
    parse_timestamp,
    to_bson_datetime,
)

PLUS_2 = timezone(timedelta(hours=2))
MINUS_5 = timezone(timedelta(hours=-5))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- to_bson_datetime --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(utc(2024, 3, 5, 10, 20, 30), utc(2024, 3, 5, 10, 20, 30), id="utc-unchanged"),
        pytest.param(datetime(2024, 3, 5, 10, 20, 30), utc(2024, 3, 5, 10, 20, 30), id="naive-is-utc"),
        pytest.param(
            datetime(2024, 3, 5, 12, 20, 30, tzinfo=PLUS_2), utc(2024, 3, 5, 10, 20, 30), id="plus-2-to-utc"
        ),
        pytest.param(
            datetime(2024, 3, 5, 22, 0, tzinfo=MINUS_5), utc(2024, 3, 6, 3, 0), id="minus-5-crosses-midnight"
        ),
        pytest.param(
            utc(2024, 3, 5, 10, 20, 30, 123999),
            utc(2024, 3, 5, 10, 20, 30, 123000),
            id="truncates-not-rounds",
        ),
        pytest.param(
            utc(2024, 3, 5, 10, 20, 30, 999999),
            utc(2024, 3, 5, 10, 20, 30, 999000),
            id="truncates-just-below-next-second",
        ),
        pytest.param(
            utc(2024, 3, 5, 10, 20, 30, 1000), utc(2024, 3, 5, 10, 20, 30, 1000), id="whole-ms-kept"
        ),
        pytest.param(
            DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=123_456_789, tzinfo=UTC),
            utc(2024, 3, 5, 10, 20, 30, 123000),
            id="firestore-nanos-truncated",
        ),
        pytest.param(
            DatetimeWithNanoseconds(1969, 12, 31, 23, 59, 59, nanosecond=999_999_999, tzinfo=UTC),
            utc(1969, 12, 31, 23, 59, 59, 999000),
            id="firestore-pre-epoch",
        ),
    ],
)
def test_to_bson_datetime(value: datetime, expected: datetime) -> None:
    result = to_bson_datetime(value)
    assert result == expected
    assert result.tzinfo is UTC
    # A plain datetime, never the Firestore subclass (it must pickle and encode anywhere).
    assert type(result) is datetime


# --- parse_timestamp: accepted forms -----------------------------------------

ACCEPTED = [
    # null
    pytest.param(None, None, id="none-stays-none"),
    # Firestore Timestamp and datetimes
    pytest.param(
        DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=123_456_789, tzinfo=UTC),
        utc(2024, 3, 5, 10, 20, 30, 123000),
        id="firestore-timestamp",
    ),
    pytest.param(
        DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=999, tzinfo=UTC),
        utc(2024, 3, 5, 10, 20, 30),
        id="firestore-timestamp-sub-ms-only",
    ),
    pytest.param(
        datetime(2024, 3, 5, 10, 20, 30, 456789), utc(2024, 3, 5, 10, 20, 30, 456000), id="naive-dt"
    ),
    pytest.param(datetime(2024, 3, 5, 12, 0, tzinfo=PLUS_2), utc(2024, 3, 5, 10, 0), id="aware-dt-converted"),
    # ISO 8601 strings (isoparse)
    pytest.param("2024-03-05T10:20:30Z", utc(2024, 3, 5, 10, 20, 30), id="iso-z"),
    pytest.param("2024-03-05T10:20:30", utc(2024, 3, 5, 10, 20, 30), id="iso-no-offset-is-utc"),
    pytest.param("2024-03-05T10:20:30+00:00", utc(2024, 3, 5, 10, 20, 30), id="iso-plus-zero"),
    pytest.param("2024-03-05T12:20:30+02:00", utc(2024, 3, 5, 10, 20, 30), id="iso-plus-2"),
    pytest.param("2024-03-05T15:50:30+05:30", utc(2024, 3, 5, 10, 20, 30), id="iso-plus-5-30"),
    pytest.param("2024-03-05T22:00:00-05:00", utc(2024, 3, 6, 3, 0), id="iso-minus-5-next-day"),
    pytest.param("2024-03-05", utc(2024, 3, 5), id="iso-date-only"),
    pytest.param("20240305T102030Z", utc(2024, 3, 5, 10, 20, 30), id="iso-basic-format"),
    pytest.param("2024-03-05T10:20:30.123Z", utc(2024, 3, 5, 10, 20, 30, 123000), id="iso-ms"),
    pytest.param("2024-03-05T10:20:30.9999Z", utc(2024, 3, 5, 10, 20, 30, 999000), id="iso-frac-truncated"),
    pytest.param(
        "2024-03-05T10:20:30.123456789Z", utc(2024, 3, 5, 10, 20, 30, 123000), id="iso-nanos-truncated"
    ),
    pytest.param(
        "2024-03-05T10:20:30.5+01:00", utc(2024, 3, 5, 9, 20, 30, 500000), id="iso-frac-with-offset"
    ),
    # Other strings (dateutil.parser.parse, not fuzzy)
    pytest.param("March 5, 2024 10:20 PM", utc(2024, 3, 5, 22, 20), id="free-form-no-tz-is-utc"),
    pytest.param("Tue, 05 Mar 2024 10:20:30 GMT", utc(2024, 3, 5, 10, 20, 30), id="rfc-2822-gmt"),
    pytest.param("Tue, 05 Mar 2024 10:20:30 +0100", utc(2024, 3, 5, 9, 20, 30), id="rfc-2822-offset"),
    pytest.param("2024/03/05 10:20:30", utc(2024, 3, 5, 10, 20, 30), id="slashes"),
    pytest.param("5 Mar 2024", utc(2024, 3, 5), id="day-month-year"),
    # Epoch seconds
    pytest.param(0, EPOCH, id="epoch-zero"),
    pytest.param(1709634030, utc(2024, 3, 5, 10, 20, 30), id="epoch-s-int"),
    pytest.param(1709634030.123, utc(2024, 3, 5, 10, 20, 30, 123000), id="epoch-s-float-exact-ms"),
    pytest.param(1709634030.9999, utc(2024, 3, 5, 10, 20, 30, 999000), id="epoch-s-float-truncated"),
    pytest.param(1709634030.0005, utc(2024, 3, 5, 10, 20, 30), id="epoch-s-float-sub-ms-dropped"),
    pytest.param(-86400, utc(1969, 12, 31), id="epoch-s-negative"),
    pytest.param(-0.0015, utc(1969, 12, 31, 23, 59, 59, 998000), id="epoch-s-negative-floors"),
    pytest.param(99_999_999_999, utc(5138, 11, 16, 9, 46, 39), id="epoch-just-below-threshold-is-s"),
    # Epoch milliseconds (|v| >= 1e11)
    pytest.param(100_000_000_000, EPOCH + timedelta(milliseconds=1e11), id="epoch-at-threshold-is-ms"),
    pytest.param(1e11, utc(1973, 3, 3, 9, 46, 40), id="epoch-float-at-threshold-is-ms"),
    pytest.param(-100_000_000_000, utc(1966, 10, 31, 14, 13, 20), id="epoch-negative-ms"),
    pytest.param(1709634030123, utc(2024, 3, 5, 10, 20, 30, 123000), id="epoch-ms-int"),
    pytest.param(1709634030123.9, utc(2024, 3, 5, 10, 20, 30, 123000), id="epoch-ms-float-truncated"),
    # Seconds maps
    pytest.param(
        {"_seconds": 1709634030, "_nanoseconds": 123_999_999},
        utc(2024, 3, 5, 10, 20, 30, 123000),
        id="map-underscore",
    ),
    pytest.param(
        {"seconds": 1709634030, "nanos": 999_999_999}, utc(2024, 3, 5, 10, 20, 30, 999000), id="map-proto"
    ),
    pytest.param({"_seconds": 1709634030}, utc(2024, 3, 5, 10, 20, 30), id="map-underscore-no-nanos"),
    pytest.param({"seconds": 1709634030}, utc(2024, 3, 5, 10, 20, 30), id="map-proto-no-nanos"),
    pytest.param(
        {"_seconds": -1, "_nanoseconds": 500_000_000},
        utc(1969, 12, 31, 23, 59, 59, 500000),
        id="map-negative-seconds-plus-nanos",
    ),
    pytest.param({"_seconds": 0, "_nanoseconds": 0, "extra": "ignored"}, EPOCH, id="map-extra-keys-ignored"),
]


@pytest.mark.parametrize(("value", "expected"), ACCEPTED)
def test_parse_timestamp_accepts(value: object, expected: datetime | None) -> None:
    result = parse_timestamp(value)
    assert result == expected
    if expected is not None:
        assert result.tzinfo is UTC
        assert type(result) is datetime
        assert result.microsecond % 1000 == 0


# --- parse_timestamp: rejected forms -----------------------------------------

REJECTED = [
    pytest.param(True, "a boolean is not a timestamp", id="bool-true"),
    pytest.param(False, "a boolean is not a timestamp", id="bool-false"),
    pytest.param("", "empty string", id="empty-string"),
    pytest.param("   ", "empty string", id="blank-string"),
    pytest.param("not a date", "unparseable date string 'not a date'", id="garbage-string"),
    pytest.param("created on 2024-03-05", "unparseable date string", id="not-fuzzy"),
    pytest.param("2024-13-01", "unparseable date string", id="month-13"),
    pytest.param("2024-02-30T00:00:00Z", "unparseable date string", id="feb-30"),
    pytest.param("0001-01-01T00:00:00+01:00", "unparseable date string", id="iso-before-year-1-in-utc"),
    pytest.param(float("nan"), "not a finite number", id="epoch-nan"),
    pytest.param(float("inf"), "not a finite number", id="epoch-inf"),
    pytest.param(float("-inf"), "not a finite number", id="epoch-minus-inf"),
    pytest.param(10**20, "out of the datetime range", id="epoch-int-overflow"),
    pytest.param(1e300, "out of the datetime range", id="epoch-float-overflow"),
    pytest.param(-(10**20), "out of the datetime range", id="epoch-negative-overflow"),
    # -99,999,999,999 is still seconds (below the ms threshold): about 1200 BC, before year 1.
    pytest.param(-99_999_999_999, "out of the datetime range", id="epoch-negative-seconds-before-year-1"),
    pytest.param({}, "a map without _seconds/_nanoseconds or seconds/nanos", id="map-empty"),
    pytest.param({"foo": 1}, "a map without", id="map-unknown-keys"),
    pytest.param({"_nanoseconds": 5}, "a map without", id="map-nanos-only"),
    pytest.param({"_seconds": "1709634030"}, "_seconds and _nanoseconds must be integers", id="map-str-secs"),
    pytest.param({"_seconds": 1.5}, "must be integers", id="map-float-seconds"),
    pytest.param({"_seconds": True}, "must be integers", id="map-bool-seconds"),
    pytest.param({"seconds": 1, "nanos": 0.5}, "seconds and nanos must be integers", id="map-float-nanos"),
    pytest.param({"seconds": 1, "nanos": -1}, "nanos -1 is outside 0..999999999", id="map-negative-nanos"),
    pytest.param({"seconds": 1, "nanos": 10**9}, "outside 0..999999999", id="map-nanos-too-big"),
    pytest.param({"_seconds": 10**15}, "out of the datetime range", id="map-seconds-overflow"),
    pytest.param([2024, 3, 5], "unsupported type list", id="list"),
    pytest.param(b"2024-03-05", "unsupported type bytes", id="bytes"),
    pytest.param(object(), "unsupported type object", id="object"),
]


@pytest.mark.parametrize(("value", "reason"), REJECTED)
def test_parse_timestamp_rejects(value: object, reason: str) -> None:
    with pytest.raises(TimestampError) as excinfo:
        parse_timestamp(value)
    assert reason in str(excinfo.value)


def test_timestamp_error_is_value_error() -> None:
    assert issubclass(TimestampError, ValueError)


def test_threshold_is_1e11() -> None:
    assert MILLISECONDS_THRESHOLD == 1e11
