"""Plan the Firestore range queries that read the documents whose change cursor is in [since, until).

A cursor is a Timestamp, an epoch number (seconds, or milliseconds from 1e11 up;
see timestamps.py) or an ISO 8601 string, and Firestore orders those types
separately: a range filter matches one type only. So an incremental read is one
range query per cursor form, each a `CursorRange` over that form's own values.

Timestamps and numbers are exact: a value is in a range when, and only when,
`parse_timestamp` maps it to an instant in [since, until). Both bounds are first
rounded up to the whole millisecond, because `parse_timestamp` truncates every
instant to the millisecond; any other rounding would read, in a window, values
whose instant belongs to the window before.

ISO strings compare by their bytes, i.e. by local date-time, and the offset
(under 24 hours either way: no Python tzinfo holds more) moves the instant away
from it by almost a day. No cut in byte order can then give each window
exactly the strings of its instants without two windows sharing some. So
strings are split by local time shifted back a day instead: window [S, U)
reads the strings from B(S) to B(U), B(t) being the hour of t - 24h written
"YYYY-MM-DDTHH". Over a run's consecutive windows (the last one open) every
string is read at most once, and every ISO calendar-date string whose instant
is at or after the first `since` is read, but possibly in another window than
its instant's: a caller must not drop a string cursor outside [since, until).
An open window rereads at most about three days of strings.

Read for sure: strings that start with the local date as "YYYY-MM-DD" (then
nothing, or any separator and time, with a 24-hour two-digit hour after "T"),
or as "YYYYMMDD". Not read: strings that start otherwise ("March 1, 2026",
"11/29/2026"), and ISO week dates ("2020-W53-7") dated in the week-year before
their calendar year. Strings that start with a year sort by it: some, like
"2026/11/29", are reread all their year.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from include.firestore_to_mongo.contract.timestamps import EPOCH, MILLISECONDS_THRESHOLD, to_bson_datetime

# One byte past every real date ("9999-12-31..."), and below any string that
# starts with a letter ("March 1, 2026"): the top of the strings read as ISO.
CAP = "9999-12-32"
# The strings counted as ISO cursors, e.g. by a count of documents no range reads.
ISO_DOMAIN = ("0000", CAP)
# No offset reaches it (a tzinfo's is under 24h), so a string whose instant is at
# or after t has a local date-time after t - WIDEN.
WIDEN = timedelta(hours=24)

_MILLISECOND = timedelta(milliseconds=1)


@dataclass(frozen=True)
class CursorRange:
    """One range query: `lower` <= cursor < `upper` (<= when `upper_inclusive`).

    `kind` is "timestamp", "seconds", "milliseconds" or "iso"; `lower` and
    `upper` are datetimes, floats or strings to match; `upper` None is open.
    """

    kind: str
    lower: Any
    upper: Any | None
    # Only the negative milliseconds range, which ends at -1e11 itself.
    upper_inclusive: bool = False


def plan_cursor_ranges(since: datetime, until: datetime | None, first: bool = True) -> list[CursorRange]:
    """The non-empty ranges reading the cursors of instants in [since, until), in a fixed order.

    Naive datetimes are UTC. `first` marks a run's first (or only) window: only
    it reads the strings with a date/time separator sorting before "T" (a space
    as in str(datetime)) on the date where its string range starts, as those
    sort before that range, below every later window's.
    """
    since = _ceil_to_millisecond(since)
    until = None if until is None else _ceil_to_millisecond(until)
    if since is None or (until is not None and until <= since):
        return []  # No millisecond instant is in [since, until).
    return [
        CursorRange("timestamp", since, until),
        *_number_ranges(since, until),
        *_iso_ranges(since, until, first),
    ]


def _ceil_to_millisecond(moment: datetime) -> datetime | None:
    """`moment` in UTC, rounded up to the millisecond; None past the last one (9999-12-31T23:59:59.999)."""
    floor = to_bson_datetime(moment)
    if floor == moment.replace(tzinfo=moment.tzinfo or UTC):
        return floor
    try:
        return floor + _MILLISECOND
    except OverflowError:
        return None


def _milliseconds(moment: datetime) -> int:
    # Exact integer arithmetic: moment.timestamp() * 1000 can land a hair off the
    # whole number, and then miss (or catch) a cursor equal to the bound.
    return (moment - EPOCH) // _MILLISECOND


def _number_ranges(since: datetime, until: datetime | None) -> list[CursorRange]:
    # Seconds and milliseconds are both derived from one integer, so adjacent
    # windows get the very same float at their shared bound.
    low_ms = _milliseconds(since)
    high_ms = None if until is None else _milliseconds(until)
    threshold = MILLISECONDS_THRESHOLD
    ranges = []
    if low_ms <= -threshold:
        # Milliseconds before 1966-10-31T14:13:20Z, up to -1e11 itself (a |v| >= 1e11 is milliseconds).
        if high_ms is None or high_ms > -threshold:
            ranges.append(CursorRange("milliseconds", float(low_ms), -threshold, upper_inclusive=True))
        else:
            ranges.append(CursorRange("milliseconds", float(low_ms), float(high_ms)))
    # Seconds live strictly between -1e11 and 1e11. (The datetime range starts at
    # -6.2e10 s, so the clamp at -1e11 can't bind today; it states the rule.)
    lower = max(low_ms / 1000, math.nextafter(-threshold, 0))
    upper = threshold if high_ms is None else min(high_ms / 1000, threshold)
    if lower < upper:
        ranges.append(CursorRange("seconds", lower, upper))
    lower = max(float(low_ms), threshold)
    if high_ms is None or lower < high_ms:
        ranges.append(CursorRange("milliseconds", lower, None if high_ms is None else float(high_ms)))
    return ranges


def _theta(moment: datetime) -> datetime:
    """The hour (naive UTC) that no string for an instant at or after `moment` (UTC) is local-before."""
    try:
        shifted = moment.replace(tzinfo=None) - WIDEN
    except OverflowError:
        # Before 0001-01-02: a string dated before 0001-01-01 doesn't parse at all.
        return datetime.min
    return shifted.replace(minute=0, second=0, microsecond=0)


def _hour_bound(moment: datetime) -> str:
    # isoformat, not strftime: strftime("%Y") doesn't pad years before 1000.
    return _theta(moment).isoformat(timespec="hours")


def _iso_ranges(since: datetime, until: datetime | None, first: bool) -> list[CursorRange]:
    low = _hour_bound(since)
    high = CAP if until is None else _hour_bound(until)
    ranges = []
    if first:
        # "D?..." with any separator "?" below "T" sorts before "DTHH", D being
        # low's date. Their whole day is read, not just from the hour: after a
        # space, the time need not sort by the clock ("2026-11-28 10:00 PM",
        # "2026-11-28 9:30", both read by parse_timestamp). It rereads up to a
        # day more of such strings, once per run. From D itself rather than
        # D + "\x00": no NUL in a query value, for one more (early) string, "D".
        day = low[:10]
        ranges.append(CursorRange("iso", day, day + "T"))
    if low < high:
        ranges.append(CursorRange("iso", low, high))
    return ranges
