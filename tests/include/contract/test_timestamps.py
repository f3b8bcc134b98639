"""Unit tests for include.firestore_to_mongo.contract.timestamps: every accepted form, and every rejection."""

from __future__ import annotations

import datetime as datetime_module
import time
import types
import warnings
from datetime import UTC, datetime, timedelta, timezone

import dateutil.parser._parser as dateutil_internals
import pytest
from dateutil import parser as dateutil_parser
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from include.firestore_to_mongo.contract.timestamps import (
    EPOCH,
    MAX_DATE_STRING_LENGTH,
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
    pytest.param("2026-03-01", utc(2026, 3, 1), id="iso-date-only-2026"),
    pytest.param("20240305T102030Z", utc(2024, 3, 5, 10, 20, 30), id="iso-basic-format"),
    pytest.param("20240501T101010Z", utc(2024, 5, 1, 10, 10, 10), id="iso-basic-format-2"),
    pytest.param("20240305", utc(2024, 3, 5), id="iso-basic-date-only"),
    pytest.param("2024-03-05 10:20", utc(2024, 3, 5, 10, 20), id="iso-space-separator"),
    pytest.param("2024-03-05t10:20Z", utc(2024, 3, 5, 10, 20), id="iso-lower-case-t"),
    pytest.param("2024-W18-3", utc(2024, 5, 1), id="iso-week-date-with-weekday"),
    pytest.param("2024W183", utc(2024, 5, 1), id="iso-week-date-basic"),
    pytest.param("0026-03-01", utc(26, 3, 1), id="iso-year-26-written-in-full"),
    pytest.param(
        "2024-01-02T03:04:05.678901", utc(2024, 1, 2, 3, 4, 5, 678000), id="iso-micros-no-offset-is-utc"
    ),
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
    pytest.param("1 March 2026", utc(2026, 3, 1), id="day-month-name-year"),
    pytest.param("March 1, 2026 10:00", utc(2026, 3, 1, 10), id="month-day-year-time"),
    pytest.param("March 5, 2024 10:00 PM", utc(2024, 3, 5, 22), id="month-day-year-pm"),
    pytest.param("1st March 2026", utc(2026, 3, 1), id="ordinal-suffix"),
    pytest.param("5-Mar-2024 10:00", utc(2024, 3, 5, 10), id="month-name-before-dash-is-no-zone"),
    pytest.param("05-MAR-2024 10:00", utc(2024, 3, 5, 10), id="upper-case-month-before-dash-is-no-zone"),
    pytest.param("Feb 29 2024", utc(2024, 2, 29), id="leap-day-with-year"),
    # isoparse would take the "1" after the date for the separator and read 02:03.
    pytest.param("20240305102030", utc(2024, 3, 5, 10, 20, 30), id="digits-only-date-and-time"),
    # Zones: UTC names and numeric offsets
    pytest.param("March 1, 2026 10:00 UTC", utc(2026, 3, 1, 10), id="zone-utc"),
    pytest.param("March 1, 2026 10:00 GMT", utc(2026, 3, 1, 10), id="zone-gmt"),
    pytest.param("March 1, 2026 10:00 Z", utc(2026, 3, 1, 10), id="zone-z"),
    pytest.param("1 March 2026 10:00 +01:00", utc(2026, 3, 1, 9), id="zone-offset-colon"),
    pytest.param("March 5, 2024 10:00 PM -05:00", utc(2024, 3, 6, 3), id="zone-offset-after-pm"),
    pytest.param("March 1, 2026 10:00 -0300 (BRT)", utc(2026, 3, 1, 13), id="zone-offset-then-name"),
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

NOT_FULL = "does not state a full date (year, month and day)"

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
    pytest.param("today", "unparseable date string 'today': Unknown string format", id="word-today"),
    # A string that does not state year, month and day is not a timestamp: dateutil would take
    # the missing parts from today's date.
    pytest.param("1", f"date string '1' {NOT_FULL}", id="bare-number"),
    pytest.param("Mon", f"date string 'Mon' {NOT_FULL}", id="bare-weekday"),
    pytest.param("Sunday", NOT_FULL, id="bare-weekday-long"),
    pytest.param("10:00", f"date string '10:00' {NOT_FULL}", id="bare-time"),
    pytest.param("10:00 PM", NOT_FULL, id="bare-time-pm"),
    pytest.param("March", f"date string 'March' {NOT_FULL}", id="bare-month"),
    pytest.param("March 2026", NOT_FULL, id="month-year-no-day"),
    pytest.param("1 March", NOT_FULL, id="day-month-no-year"),
    pytest.param("1 March 10:00", NOT_FULL, id="day-month-time-no-year"),
    pytest.param("Feb 29", NOT_FULL, id="leap-day-no-year"),
    pytest.param("Mon March 2024", NOT_FULL, id="weekday-month-year-no-day"),
    # A reduced-precision ISO date is not a full date either (isoparse would make it the 1st).
    pytest.param("2024", NOT_FULL, id="iso-year-only"),
    pytest.param("2024-05", NOT_FULL, id="iso-year-month"),
    pytest.param("2024-05T10:00", NOT_FULL, id="iso-year-month-time"),
    pytest.param("2024-W18", "unparseable date string '2024-W18'", id="iso-week-no-weekday"),
    pytest.param("2024W18", "unparseable date string", id="iso-week-basic-no-weekday"),
    pytest.param("2024-123", "unparseable date string", id="iso-ordinal-date"),
    # A two-digit year is a guess: dateutil picks the century from today's date.
    pytest.param("1/3/26", "date string '1/3/26' has a two-digit year (26)", id="two-digit-year-slashes"),
    pytest.param("March 1, 26", "has a two-digit year (26)", id="two-digit-year-month-name"),
    pytest.param("01.03.26", "has a two-digit year", id="two-digit-year-dots"),
    pytest.param("202405", "has a two-digit year", id="six-digits"),
    # Zone names dateutil does not know: it would drop them and keep the clock time.
    pytest.param("10:00 PST", "date string '10:00 PST' names the time zone 'PST'", id="zone-pst-no-date"),
    pytest.param(
        "March 1, 2026 10:00 PST", "names the time zone 'PST', which has no known offset", id="zone-pst"
    ),
    pytest.param("March 1, 2026 10:00 EST", "names the time zone 'EST'", id="zone-est"),
    pytest.param("2024-03-05T10:20:30 CET", "names the time zone 'CET'", id="iso-then-zone-cet"),
    # A zone name with an offset after it: dateutil reads GMT+3 as UTC-3 and GMT +3 as GMT.
    pytest.param("March 1, 2026 10:00 GMT+3", "offset after the zone name 'GMT'", id="gmt-plus-3"),
    pytest.param("March 1, 2026 10:00 GMT +3", "offset after the zone name 'GMT'", id="gmt-space-plus-3"),
    pytest.param("March 1, 2026 10:00 UTC-05:00", "offset after the zone name 'UTC'", id="utc-minus-5"),
    pytest.param("March 1, 2026 10:00 EST-5", "offset after the zone name 'EST'", id="est-minus-5"),
    pytest.param(
        "Tue Mar 05 2024 10:20:30 GMT-0500", "offset after the zone name 'GMT'", id="javascript-date-string"
    ),
    # At most MAX_DATE_STRING_LENGTH characters, checked before anything is parsed.
    pytest.param("x" * 101, "too long to be a date (101 characters)", id="101-characters"),
    pytest.param("2024-03-05" + " " * 91, "too long to be a date (101 characters)", id="padded-date"),
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


# --- strings: length, messages, zones ----------------------------------------


def test_string_of_the_maximum_length_is_still_read() -> None:
    text = "2024-03-05T10:20:30." + "1" * 79 + "Z"
    assert len(text) == MAX_DATE_STRING_LENGTH == 100
    assert parse_timestamp(text) == utc(2024, 3, 5, 10, 20, 30, 111000)


def test_900_kb_string_is_refused_with_a_short_message() -> None:
    with pytest.raises(TimestampError) as excinfo:
        parse_timestamp("2024-03-05" * 90_000)
    assert str(excinfo.value) == "too long to be a date (900000 characters)"
    assert len(str(excinfo.value)) < 400


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("not a date", id="unknown-format"),
        pytest.param("2024-02-30T00:00:00Z", id="day-out-of-range"),
        pytest.param("x" * 100, id="longest-accepted-length"),
    ],
)
def test_message_quotes_the_string_once(text: str) -> None:
    # dateutil's own message ends with the whole string; only our quote of it is kept.
    with pytest.raises(TimestampError) as excinfo:
        parse_timestamp(text)
    assert str(excinfo.value).count(text) == 1
    assert len(str(excinfo.value)) < 400


def test_unknown_zone_is_refused_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(TimestampError, match="names the time zone 'PST'"):
            parse_timestamp("March 1, 2026 10:00 PST")


def test_zone_names_do_not_depend_on_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    # Left alone, dateutil reads a name in time.tzname as this machine's local time.
    monkeypatch.setattr(time, "tzname", ("EST", "EDT"))
    with pytest.raises(TimestampError, match="names the time zone 'EST'"):
        parse_timestamp("March 1, 2026 10:00 EST")
    monkeypatch.setattr(time, "tzname", ("UTC", "UTC"))
    assert parse_timestamp("March 1, 2026 10:00 UTC") == utc(2026, 3, 1, 10)


# --- strings: the day of the run changes nothing -----------------------------


def _freeze_today(monkeypatch: pytest.MonkeyPatch, today: datetime) -> None:
    """Make dateutil's parser see `today` through both clocks it reads.

    `dateutil.parser._parser` calls datetime.datetime.now() for its default date and
    time.localtime() for the century of two-digit years.
    """

    class FrozenDatetime(datetime_module.datetime):
        @classmethod
        def now(cls, tz: datetime_module.tzinfo | None = None) -> FrozenDatetime:
            return cls(today.year, today.month, today.day, 12, tzinfo=tz)

        @classmethod
        def today(cls) -> FrozenDatetime:
            return cls.now()

    frozen_datetime = types.SimpleNamespace(**vars(datetime_module))
    frozen_datetime.datetime = FrozenDatetime
    frozen_time = types.SimpleNamespace(**vars(time))
    frozen_time.time = today.replace(tzinfo=UTC).timestamp
    frozen_time.localtime = lambda: time.gmtime(frozen_time.time())
    monkeypatch.setattr(dateutil_internals, "datetime", frozen_datetime)
    monkeypatch.setattr(dateutil_internals, "time", frozen_time)


FROZEN_DAYS = (datetime(2026, 7, 15), datetime(2081, 2, 3))

DAY_INDEPENDENT = [
    "1",
    "Mon",
    "10:00",
    "10:00 PM",
    "March",
    "March 2026",
    "1 March",
    "Feb 29",
    "Mon March 2024",
    "2024",
    "2024-05",
    "2024-W18",
    "1/3/26",
    "10:00 PST",
    "March 1, 2026 10:00 PST",
    "2026-03-01",
    "1 March 2026",
    "March 1, 2026 10:00",
    "March 5, 2024 10:00 PM",
    "20240501T101010Z",
    "2024-01-02T03:04:05.678901",
    "2024-W18-3",
    "Tue, 05 Mar 2024 10:20:30 GMT",
]


def _outcome(text: str) -> object:
    try:
        return parse_timestamp(text)
    except TimestampError as error:
        return f"TimestampError: {error}"


def test_freezing_today_reaches_dateutil(monkeypatch: pytest.MonkeyPatch) -> None:
    # Proves the freeze below bites: stock dateutil fills "10:00" in from the frozen day.
    for day in FROZEN_DAYS:
        _freeze_today(monkeypatch, day)
        assert dateutil_parser.parse("10:00") == day.replace(hour=10)


def test_same_outcome_whatever_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = []
    for day in FROZEN_DAYS:
        _freeze_today(monkeypatch, day)
        outcomes.append({text: _outcome(text) for text in DAY_INDEPENDENT})
    first, second = outcomes
    assert first == second
    assert first["10:00"] == f"TimestampError: date string '10:00' {NOT_FULL}"
    assert first["1/3/26"].startswith("TimestampError: date string '1/3/26' has a two-digit year")
    assert first["March 1, 2026 10:00"] == utc(2026, 3, 1, 10)
