"""Turn the many shapes a timestamp takes in Firestore data into one UTC datetime.

Real app data holds Firestore Timestamps next to ISO strings, free-form date
strings, Unix epochs in seconds or milliseconds, and maps left behind by JSON
exports. Every accepted form ends as a timezone-aware UTC datetime truncated to
the millisecond, because that is all a BSON datetime can hold: truncating here
makes the stored value predictable instead of leaving the rounding to a driver.

A string is read only when it states the whole date itself. dateutil fills in
what a string leaves out ("10:00", "March", "1/3/26", "10:00 PST") from today's
date, this machine's zone or nothing at all; such a value would change with the
day and place of the run, so it is refused and the caller keeps it unchanged.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil import parser as dateutil_parser

from include.firestore_to_mongo.util.quoting import quote, shorten

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below this magnitude a number is an epoch in seconds (1e11 s is the year 5138);
# at or above it, milliseconds.
MILLISECONDS_THRESHOLD = 1e11
SECONDS_MAP_KEYS = (("_seconds", "_nanoseconds"), ("seconds", "nanos"))
# No date needs more; dateutil's time grows with the length, and a 900 KB string would take seconds.
MAX_DATE_STRING_LENGTH = 100

# isoparse only for a string that starts with a full calendar date (YYYY-MM-DD, YYYYMMDD, or a
# week date with its weekday: YYYY-Www-D, YYYYWwwD) not followed by a digit. isoparse would also
# take "2024", "2024-05" or "2024-W18" and make up the day, and it reads "20240501101010" as
# 01:01, taking a digit for the date-time separator.
_FULL_ISO_DATE = re.compile(r"\d{4}(?:-\d{2}-\d{2}|\d{4}|-W\d{2}-\d|W\d{3})(?!\d)")
# Every other string is read twice, over two defaults that differ in year, month and day: a part
# the string leaves out comes from the default, so the readings differ. Both years are leap years
# (a stated "Feb 29" reads over both); the days are two weeks apart, so a bare weekday, which
# dateutil moves forward to ("Mon March 2024"), can't land on the same day from both.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 2, 15))
# A zone name with a signed number after it: dateutil reads "GMT+3" the POSIX way, as UTC-3, and
# "GMT +3" as plain GMT, while people and JavaScript's Date.toString() ("GMT-0500") mean UTC+3, UTC-5.
_NAME_THEN_SIGN = re.compile(r"(?<![A-Za-z])([A-Za-z]+)\s*[+-]\s*\d")


class TimestampError(ValueError):
    """A value that should be a timestamp but can't be read as one."""


def to_bson_datetime(value: datetime) -> datetime:
    """Return `value` in UTC, truncated to the millisecond, as a plain datetime.

    A naive datetime is taken to be UTC. Firestore's DatetimeWithNanoseconds is
    rebuilt as a plain datetime so it survives pickling, XCom and BSON alike.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return datetime(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 1000 * 1000,
        tzinfo=UTC,
    )


def parse_timestamp(value: Any) -> datetime | None:
    """Read any accepted timestamp form; None stays None.

    Raises TimestampError, with the reason, for anything else.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_bson_datetime(value)
    if isinstance(value, bool):
        raise TimestampError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        return _from_epoch(value)
    if isinstance(value, str):
        return _from_string(value)
    if isinstance(value, dict):
        return _from_seconds_map(value)
    raise TimestampError(f"unsupported type {type(value).__name__}")


def _from_string(text: str) -> datetime:
    if len(text) > MAX_DATE_STRING_LENGTH:
        raise TimestampError(f"too long to be a date ({len(text)} characters)")
    if not text.strip():
        raise TimestampError("empty string")
    if _FULL_ISO_DATE.match(text):
        try:
            return to_bson_datetime(dateutil_parser.isoparse(text))
        except (ValueError, OverflowError):
            pass  # not ISO after all ("2024-03-05 10:20:30 GMT"): the free-form reading decides
    return _from_free_form(text)


class _WouldGuessError(Exception):
    """Raised from inside dateutil where it would guess.

    Not a ValueError: dateutil turns some of those into "Unknown string format".
    """


class _NoGuessParserInfo(dateutil_parser.parserinfo):
    def convertyear(self, year: int, century_specified: bool = False) -> int:
        # dateutil puts "26" in whichever century brings it within 50 years of today.
        if year < 100 and not century_specified:
            raise _WouldGuessError(f"has a two-digit year ({year}); its century would be a guess")
        return year


def _zone(name: str | None, offset: int | None) -> int | None:
    """dateutil's tzinfos: numeric offsets and the UTC names ("UTC", "GMT", "Z") only.

    Left to itself, dateutil reads a name that matches this machine's zone as local
    time and drops any other name with a warning, keeping the clock time as it is.
    """
    if offset is not None:
        return offset
    if name is not None:
        raise _WouldGuessError(f"names the time zone {quote(name)}, which has no known offset")
    return None  # no zone at all: UTC, like every naive datetime


_INFO = _NoGuessParserInfo()
_PARSER = dateutil_parser.parser(_INFO)


def _from_free_form(text: str) -> datetime:
    try:
        first, second = (_PARSER.parse(text, default=default, tzinfos=_zone) for default in _DEFAULTS)
        result = to_bson_datetime(first)
    except _WouldGuessError as error:
        raise TimestampError(f"date string {quote(text)} {error}") from None
    except (ValueError, OverflowError) as error:
        # dateutil's message ends with the whole string, quoted (and kept short) here instead.
        reason = shorten(str(error).removesuffix(f": {text}"), 100)
        raise TimestampError(f"unparseable date string {quote(text)}: {reason}") from None
    if first != second:
        raise TimestampError(f"date string {quote(text)} does not state a full date (year, month and day)")
    for match in _NAME_THEN_SIGN.finditer(text):
        word = match.group(1)
        if _INFO.month(word) is None and _INFO.weekday(word) is None and _INFO.ampm(word) is None:
            raise TimestampError(
                f"date string {quote(text)} puts an offset after the zone name {quote(word)}, "
                "which dateutil misreads (GMT+3 as UTC-3, GMT +3 as GMT)"
            )
    return result


def _from_epoch(number: int | float) -> datetime:
    if isinstance(number, float) and not math.isfinite(number):
        raise TimestampError(f"epoch {number} is not a finite number")
    # Decimal keeps 1700000000.123 s from becoming ...122.9999 ms.
    try:
        exact = Decimal(number) if isinstance(number, int) else Decimal(repr(number))
    except InvalidOperation:
        raise TimestampError(f"epoch {number!r} is not a number") from None
    milliseconds = exact if abs(exact) >= Decimal(MILLISECONDS_THRESHOLD) else exact * 1000
    return _epoch_plus(math.floor(milliseconds), unit="milliseconds")


def _from_seconds_map(mapping: dict) -> datetime:
    for seconds_key, nanos_key in SECONDS_MAP_KEYS:
        if seconds_key in mapping:
            seconds = mapping[seconds_key]
            nanos = mapping.get(nanos_key, 0)
            if not _is_integer(seconds) or not _is_integer(nanos):
                raise TimestampError(f"{seconds_key} and {nanos_key} must be integers")
            if not 0 <= nanos < 1_000_000_000:
                raise TimestampError(f"{nanos_key} {nanos} is outside 0..999999999")
            return _epoch_plus(int(seconds) * 1000 + int(nanos) // 1_000_000, unit="milliseconds")
    raise TimestampError("a map without _seconds/_nanoseconds or seconds/nanos")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _epoch_plus(amount: int, unit: str) -> datetime:
    try:
        return EPOCH + timedelta(**{unit: amount})
    except OverflowError:
        raise TimestampError(f"epoch {amount} {unit} is out of the datetime range") from None


def isoformat_or_none(value: datetime | None) -> str | None:
    """A datetime as ISO 8601 text for XCom and logs; None stays None."""
    return value.isoformat() if value else None


def fromisoformat_or_none(value: str | None) -> datetime | None:
    """The inverse of isoformat_or_none."""
    return datetime.fromisoformat(value) if value else None
