"""Turn the many shapes a timestamp takes in Firestore data into one UTC datetime.

Real app data holds Firestore Timestamps next to ISO strings, free-form date
strings, Unix epochs in seconds or milliseconds, and maps left behind by JSON
exports. Every accepted form ends as a timezone-aware UTC datetime truncated to
the millisecond, because that is all a BSON datetime can hold: truncating here
makes the stored value predictable instead of leaving the rounding to a driver.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil import parser as dateutil_parser

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Below this magnitude a number is an epoch in seconds (1e11 s is the year 5138);
# at or above it, milliseconds.
MILLISECONDS_THRESHOLD = 1e11
SECONDS_MAP_KEYS = (("_seconds", "_nanoseconds"), ("seconds", "nanos"))


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
    if not text.strip():
        raise TimestampError("empty string")
    try:
        return to_bson_datetime(dateutil_parser.isoparse(text))
    except (ValueError, OverflowError):
        pass
    try:
        return to_bson_datetime(dateutil_parser.parse(text, fuzzy=False))
    except (ValueError, OverflowError) as error:
        raise TimestampError(f"unparseable date string {text!r}: {error}") from None


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
