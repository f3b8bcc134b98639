"""Unit tests for include.firestore_to_mongo.source.cursor_ranges, rule by rule: this file is its spec.

Every membership check goes through the real `parse_timestamp`, so "in the
ranges" is tested against the same instants the migration stores.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from include.firestore_to_mongo.contract.timestamps import (
    EPOCH,
    MILLISECONDS_THRESHOLD,
    TimestampError,
    parse_timestamp,
)
from include.firestore_to_mongo.source.cursor_ranges import CAP, ISO_DOMAIN, CursorRange, plan_cursor_ranges

T = MILLISECONDS_THRESHOLD
# Firestore orders (and a range filter matches) each of these value types apart.
FIRESTORE_TYPE = {"timestamp": "timestamp", "seconds": "number", "milliseconds": "number", "iso": "string"}
# The most a run's open window reads of strings older than its `since` (see the module docstring).
STRING_REREAD = timedelta(hours=73)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


SINCE = utc(2026, 11, 29, 10, 30, 15, 500000)
SECONDS_SINCE = 1795948215.5
MINUS_1E11_INSTANT = utc(1966, 10, 31, 14, 13, 20)  # -1e11 ms
PLUS_1E11_MS_INSTANT = utc(1973, 3, 3, 9, 46, 40)  # 1e11 ms
PLUS_1E11_S_INSTANT = EPOCH + timedelta(seconds=T)  # 5138-11-16T09:46:40Z
# Where t.timestamp() * 1000 is not the whole number of milliseconds:
# 1093102818296.9999, and 34924600200869.004, a bound that would miss the cursor 34924600200869.
ODD_MILLISECOND = utc(2004, 8, 21, 15, 40, 18, 297000)
ODD_MILLISECOND_ABOVE = utc(3076, 9, 18, 21, 50, 0, 869000)


def milliseconds(moment: datetime) -> float:
    return float((moment - EPOCH) // timedelta(milliseconds=1))


def instant_of(kind: str, value: object) -> datetime | None:
    """The instant the migration maps a cursor to, None when it maps to none."""
    assert isinstance(value, {"timestamp": datetime, "number": int | float, "string": str}[kind])
    try:
        return parse_timestamp(value)
    except TimestampError:
        return None


def contains(cursor_range: CursorRange, value: object) -> bool:
    if value < cursor_range.lower:
        return False
    if cursor_range.upper is None:
        return True
    return value < cursor_range.upper or (cursor_range.upper_inclusive and value == cursor_range.upper)


def hits(ranges: list[CursorRange], kind: str, value: object) -> list[CursorRange]:
    """The ranges that the one query per range of `kind`'s Firestore type returns `value` from."""
    return [r for r in ranges if FIRESTORE_TYPE[r.kind] == kind and contains(r, value)]


def windows(boundaries: list[datetime]) -> list[list[CursorRange]]:
    """The plans of a run split at `boundaries`, the last window open."""
    edges = [*boundaries, None]
    return [
        plan_cursor_ranges(since, until, first=index == 0)
        for index, (since, until) in enumerate(itertools.pairwise(edges))
    ]


def of_type(ranges: list[CursorRange], kind: str) -> list[tuple]:
    return [(r.kind, r.lower, r.upper, r.upper_inclusive) for r in ranges if FIRESTORE_TYPE[r.kind] == kind]


# --- the whole plan -------------------------------------------------------------


def test_recent_open_window() -> None:
    assert plan_cursor_ranges(SINCE, None) == [
        CursorRange("timestamp", SINCE, None),
        CursorRange("seconds", SECONDS_SINCE, T),
        CursorRange("milliseconds", SECONDS_SINCE * 1000, None),
        CursorRange("iso", "2026-11-28", "2026-11-28T"),
        CursorRange("iso", "2026-11-28T10", "9999-12-32"),
    ]


def test_ranges_are_never_open_below_and_only_negative_milliseconds_include_their_upper() -> None:
    for since, until in [(SINCE, None), (utc(1960, 1, 1), None), (datetime.min.replace(tzinfo=UTC), SINCE)]:
        for cursor_range in plan_cursor_ranges(since, until):
            assert cursor_range.lower is not None
            assert cursor_range.upper_inclusive == (cursor_range.upper == -T)


@pytest.mark.parametrize(
    ("since", "until"),
    [
        pytest.param(SINCE, SINCE, id="empty-window"),
        pytest.param(SINCE, SINCE - timedelta(days=1), id="until-before-since"),
        pytest.param(
            SINCE + timedelta(microseconds=1),
            SINCE + timedelta(microseconds=999),
            id="no-whole-millisecond-inside",
        ),
        pytest.param(datetime.max.replace(tzinfo=UTC), None, id="after-the-last-millisecond"),
    ],
)
def test_a_window_without_instants_reads_nothing(since: datetime, until: datetime | None) -> None:
    assert plan_cursor_ranges(since, until) == []


def test_until_after_the_last_millisecond_is_open() -> None:
    assert plan_cursor_ranges(SINCE, datetime.max.replace(tzinfo=UTC)) == plan_cursor_ranges(SINCE, None)


@pytest.mark.parametrize(
    "since",
    [
        pytest.param(datetime(2026, 11, 29, 10, 30, 15, 500000), id="naive-is-utc"),
        pytest.param(
            datetime(2026, 11, 29, 16, 0, 15, 500000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            id="plus-5-30",
        ),
    ],
)
def test_any_timezone_plans_as_utc(since: datetime) -> None:
    assert plan_cursor_ranges(since, None) == plan_cursor_ranges(SINCE, None)


# --- rule 1: Timestamps ---------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        pytest.param(SINCE, None, (SINCE, None), id="open"),
        pytest.param(SINCE, utc(2026, 12, 1), (SINCE, utc(2026, 12, 1)), id="window"),
        # parse_timestamp truncates to the millisecond: an instant >= 10:30:15.5000005
        # is one >= 10:30:15.501.
        pytest.param(
            SINCE + timedelta(microseconds=1),
            utc(2026, 12, 1, 0, 0, 0, 999),
            (SINCE + timedelta(milliseconds=1), utc(2026, 12, 1, 0, 0, 0, 1000)),
            id="rounded-up-to-the-millisecond",
        ),
    ],
)
def test_timestamp_range(since: datetime, until: datetime | None, expected: tuple) -> None:
    assert of_type(plan_cursor_ranges(since, until), "timestamp") == [("timestamp", *expected, False)]


# --- rule 2: numbers ------------------------------------------------------------

NUMBER_CASES = [
    pytest.param(
        SINCE,
        None,
        [("seconds", SECONDS_SINCE, T, False), ("milliseconds", SECONDS_SINCE * 1000, None, False)],
        id="recent-open",
    ),
    pytest.param(
        SINCE,
        utc(2026, 11, 30),
        [
            ("seconds", SECONDS_SINCE, 1795996800.0, False),
            ("milliseconds", SECONDS_SINCE * 1000, 1795996800000.0, False),
        ],
        id="recent-window",
    ),
    pytest.param(
        SINCE + timedelta(microseconds=1),
        None,
        [("seconds", 1795948215.501, T, False), ("milliseconds", 1795948215501.0, None, False)],
        id="rounded-up-to-the-millisecond",
    ),
    pytest.param(
        ODD_MILLISECOND,
        None,
        [("seconds", 1093102818.297, T, False), ("milliseconds", 1093102818297.0, None, False)],
        id="whole-milliseconds-where-timestamp-times-1000-is-not",
    ),
    pytest.param(
        utc(1960, 1, 1),
        None,
        [
            ("milliseconds", -315619200000.0, -T, True),
            ("seconds", -315619200.0, T, False),
            ("milliseconds", T, None, False),
        ],
        id="1960-open-negative-milliseconds-up-to-minus-1e11-inclusive",
    ),
    pytest.param(
        utc(1960, 1, 1),
        utc(1965, 1, 1),
        [
            ("milliseconds", -315619200000.0, -157766400000.0, False),
            ("seconds", -315619200.0, -157766400.0, False),
        ],
        id="1960-1965-window-exclusive",
    ),
    pytest.param(
        utc(1960, 1, 1),
        MINUS_1E11_INSTANT,
        [("milliseconds", -315619200000.0, -T, False), ("seconds", -315619200.0, -1e8, False)],
        id="window-ending-at-minus-1e11-excludes-it",
    ),
    pytest.param(
        MINUS_1E11_INSTANT,
        None,
        [("milliseconds", -T, -T, True), ("seconds", -1e8, T, False), ("milliseconds", T, None, False)],
        id="since-minus-1e11-reads-just-it",
    ),
    pytest.param(
        MINUS_1E11_INSTANT + timedelta(milliseconds=1),
        None,
        [("seconds", -99999999.999, T, False), ("milliseconds", T, None, False)],
        id="since-after-minus-1e11-no-negative-milliseconds",
    ),
    pytest.param(
        EPOCH, PLUS_1E11_MS_INSTANT, [("seconds", 0.0, 1e8, False)], id="window-below-1e11-ms-no-milliseconds"
    ),
    pytest.param(
        EPOCH,
        PLUS_1E11_MS_INSTANT + timedelta(milliseconds=1),
        [("seconds", 0.0, 100000000.001, False), ("milliseconds", T, T + 1, False)],
        id="window-just-past-1e11-ms",
    ),
    pytest.param(
        PLUS_1E11_MS_INSTANT,
        None,
        [("seconds", 1e8, T, False), ("milliseconds", T, None, False)],
        id="since-1e11-ms",
    ),
    pytest.param(
        utc(5000, 1, 1),
        PLUS_1E11_S_INSTANT + timedelta(days=1),
        [("seconds", 95617584000.0, T, False), ("milliseconds", 95617584000000.0, 100000086400000.0, False)],
        id="seconds-end-below-1e11-s",
    ),
    pytest.param(
        PLUS_1E11_S_INSTANT, None, [("milliseconds", T * 1000, None, False)], id="after-1e11-s-no-seconds"
    ),
    pytest.param(
        datetime.min.replace(tzinfo=UTC),
        utc(1, 1, 1, 5),
        [
            ("milliseconds", -62135596800000.0, -62135578800000.0, False),
            ("seconds", -62135596800.0, -62135578800.0, False),
        ],
        id="first-hours-of-year-1",
    ),
]


@pytest.mark.parametrize(("since", "until", "expected"), NUMBER_CASES)
def test_number_ranges(since: datetime, until: datetime | None, expected: list[tuple]) -> None:
    assert of_type(plan_cursor_ranges(since, until), "number") == expected


def test_minus_1e11_is_milliseconds_and_classified_right() -> None:
    assert parse_timestamp(-T) == MINUS_1E11_INSTANT
    with pytest.raises(TimestampError):
        parse_timestamp(math.nextafter(-T, 0))  # seconds, year -1200: no instant
    assert len(hits(plan_cursor_ranges(utc(1960, 1, 1), None), "number", -T)) == 1
    assert len(hits(plan_cursor_ranges(MINUS_1E11_INSTANT, None), "number", -T)) == 1
    assert hits(plan_cursor_ranges(MINUS_1E11_INSTANT + timedelta(milliseconds=1), None), "number", -T) == []
    assert hits(plan_cursor_ranges(utc(1960, 1, 1), MINUS_1E11_INSTANT), "number", -T) == []


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.7e12, id="2023-in-milliseconds"),
        pytest.param(1_700_000_000_000, id="2023-in-milliseconds-int"),
        pytest.param(1.7e9, id="2023-in-seconds"),
        pytest.param(SECONDS_SINCE - 0.001, id="a-millisecond-early-in-seconds"),
        pytest.param(SECONDS_SINCE * 1000 - 1, id="a-millisecond-early-in-milliseconds"),
        pytest.param(5e10, id="year-3554-in-seconds-is-read"),
    ],
)
def test_earlier_numbers_are_not_reread(value: float) -> None:
    read = bool(hits(plan_cursor_ranges(SINCE, None), "number", value))
    assert read == (parse_timestamp(value) >= SINCE)
    assert read == (value == 5e10)


@pytest.mark.parametrize(
    "since", [SINCE, ODD_MILLISECOND, ODD_MILLISECOND_ABOVE, MINUS_1E11_INSTANT, utc(1960, 1, 1)]
)
def test_cursors_at_since_are_read_and_a_millisecond_before_are_not(since: datetime) -> None:
    plan = plan_cursor_ranges(since, None)
    ms = int(milliseconds(since))  # each since here is >= 1e11 ms from 1970 either way
    for at, before in [
        (ms, ms - 1),
        (ms / 1000, (ms - 1) / 1000),
        (since, since - timedelta(microseconds=1)),
    ]:
        kind = "timestamp" if isinstance(at, datetime) else "number"
        assert instant_of(kind, at) == since
        assert len(hits(plan, kind, at)) == 1
        assert hits(plan, kind, before) == []


# --- rule 3: ISO strings --------------------------------------------------------

ISO_CASES = [
    pytest.param(
        SINCE,
        None,
        True,
        [("2026-11-28", "2026-11-28T"), ("2026-11-28T10", CAP)],
        id="first-open",
    ),
    pytest.param(SINCE, None, False, [("2026-11-28T10", CAP)], id="later-open"),
    pytest.param(
        SINCE,
        utc(2026, 11, 29, 12, 0),
        False,
        [("2026-11-28T10", "2026-11-28T12")],
        id="later-window-whole-hours",
    ),
    pytest.param(SINCE, utc(2026, 11, 29, 10, 59), False, [], id="window-within-one-hour-reads-no-string"),
    pytest.param(
        SINCE,
        utc(2026, 11, 29, 10, 59),
        True,
        [("2026-11-28", "2026-11-28T")],
        id="first-window-within-one-hour",
    ),
    pytest.param(
        utc(1000, 1, 1, 0, 30),
        utc(1000, 1, 2),
        False,
        [("0999-12-31T00", "1000-01-01T00")],
        id="years-before-1000-padded",
    ),
    pytest.param(
        utc(1, 1, 2, 0, 30),
        None,
        True,
        [("0001-01-01", "0001-01-01T"), ("0001-01-01T00", CAP)],
        id="year-1-day-2",
    ),
    # Before 0001-01-02, t - 24h is out of range: clamped to 0001-01-01T00, below
    # which no string parses (year 0 doesn't exist).
    pytest.param(
        utc(1, 1, 1, 5),
        None,
        True,
        [("0001-01-01", "0001-01-01T"), ("0001-01-01T00", CAP)],
        id="year-1-clamped",
    ),
    pytest.param(utc(1, 1, 1, 5), utc(1, 1, 1, 23), False, [], id="clamped-both-ends"),
    pytest.param(
        utc(9999, 12, 31, 23, 59, 59, 999000), None, False, [("9999-12-30T23", CAP)], id="last-millisecond"
    ),
]


@pytest.mark.parametrize(("since", "until", "first", "expected"), ISO_CASES)
def test_iso_ranges(since: datetime, until: datetime | None, first: bool, expected: list[tuple]) -> None:
    ranges = plan_cursor_ranges(since, until, first=first)
    assert of_type(ranges, "string") == [("iso", lower, upper, False) for lower, upper in expected]


def test_cap_and_domain() -> None:
    assert "9999-12-31T23:59:59.999999+23:59" < CAP < "A" < "March 1, 2026"
    assert ISO_DOMAIN == ("0000", CAP)
    low, high = ISO_DOMAIN
    assert low <= "0001-01-01" < high
    assert not low <= "March 1, 2026" < high
    assert not low <= "" < high


# Where each string falls for the recent open plan: the index in test_recent_open_window's list, or None.
STRING_CASES = [
    ("March 1, 2026", None),
    ("sometime", None),
    ("", None),
    ("11/29/2026", None),  # only dateutil's free-form parser reads it: not an ISO cursor
    ("2026-11-27T23:59:59", None),
    ("2026-11-28T09:59:59.999+00:00", None),
    ("2026-11-27T23:59:59.999-23:59", None),
    # The day of the bound, with a separator below "T": read whole.
    ("2026-11-28", 3),  # midnight UTC, a day and a half early: the one string in excess
    ("2026-11-28 09:59:59", 3),
    ("2026-11-28 10:00:00", 3),
    ("2026-11-28 23:30:00-23:59", 3),  # 2026-11-29T23:29Z
    ("2026-11-28 01:30 PM -23:59", 3),  # 2026-11-29T13:29Z, though " 01" sorts before " 10"
    ("2026-11-28\x0109:00", 3),  # any byte below "T" (parse_timestamp refuses this one)
    ("2026-11-28T10:00-23:59", 4),  # 2026-11-29T09:59Z: reread, within the widening
    ("2026-11-28t05:00", 4),  # a separator above "T" sorts after the whole "T" day
    ("2026-11-29 10:00:00", 4),
    ("2026-11-29T10:00:00+05:30", 4),
    ("2026-11-29T10:30:15.500Z", 4),
    ("2026-11-30", 4),
    ("20261129T103016Z", 4),  # basic format sorts above every extended date of its year
    ("2026/11/29 10:00", 4),  # so does "/"
    ("9999-12-31T23:59:59", 4),
]


@pytest.mark.parametrize(("value", "expected"), STRING_CASES)
def test_where_strings_fall(value: str, expected: int | None) -> None:
    plan = plan_cursor_ranges(SINCE, None)
    assert [index for index, r in enumerate(plan) if r.kind == "iso" and contains(r, value)] == (
        [] if expected is None else [expected]
    )


def test_space_string_falls_in_its_window() -> None:
    boundaries = [utc(2026, 11, 28), utc(2026, 11, 29), utc(2026, 11, 30)]
    read_in = [
        index for index, plan in enumerate(windows(boundaries)) if hits(plan, "string", "2026-11-29 10:00:00")
    ]
    assert read_in == [1]


# --- rule 4: windows ------------------------------------------------------------

NOTABLE = [
    datetime.min.replace(tzinfo=UTC),
    utc(1, 1, 2, 3),
    utc(1960, 1, 1),
    MINUS_1E11_INSTANT,
    EPOCH,
    PLUS_1E11_MS_INSTANT,
    SINCE,
    PLUS_1E11_S_INSTANT,
    utc(9999, 12, 20),
]


def random_boundaries(rng: random.Random) -> list[datetime]:
    """Sorted, distinct window boundaries around a notable instant, at random microsecond offsets."""
    start = rng.choice(NOTABLE)
    scale = rng.choice(
        [timedelta(minutes=40), timedelta(hours=30), timedelta(days=400), timedelta(days=40000)]
    )
    moments = {start}
    for _ in range(rng.randint(1, 6)):
        with contextlib.suppress(OverflowError):
            moments.add(start + scale * rng.uniform(-1, 3))
    lowest = datetime.min.replace(tzinfo=UTC)
    return sorted(m for m in moments if m >= lowest and m < utc(9999, 12, 31))


BOUNDARY_SETS = [
    [SINCE],
    [utc(1960, 1, 1)],
    [utc(1, 1, 1, 5)],
    [ODD_MILLISECOND, ODD_MILLISECOND + timedelta(hours=1)],
    [utc(2026, 11, 28), utc(2026, 11, 29), utc(2026, 11, 30)],
    [utc(2026, 11, 29, 10, 10), utc(2026, 11, 29, 10, 40), utc(2026, 11, 29, 11, 5), utc(2026, 11, 29, 13)],
    [utc(1960, 1, 1), MINUS_1E11_INSTANT, EPOCH, PLUS_1E11_MS_INSTANT, SINCE],
    [MINUS_1E11_INSTANT - timedelta(microseconds=1), MINUS_1E11_INSTANT + timedelta(microseconds=1)],
    *(random_boundaries(random.Random(seed)) for seed in range(40)),
]
BOUNDARY_IDS = [f"{b[0]:%Y-%m-%dT%H:%M}+{len(b) - 1}" for b in BOUNDARY_SETS]


def merged(ranges: list[tuple]) -> list[tuple]:
    """Join ranges where one ends exactly where the next starts; fail on any overlap."""
    out: list[tuple] = []
    for lower, upper, inclusive in sorted(ranges, key=lambda r: r[0]):
        if out:
            last_lower, last_upper, last_inclusive = out[-1]
            assert last_upper is not None, f"overlap: {out[-1]} and {(lower, upper)}"
            assert lower > last_upper or (lower == last_upper and not last_inclusive), (
                f"overlap: {out[-1]} and {(lower, upper)}"
            )
            if lower == last_upper:
                out[-1] = (last_lower, upper, inclusive)
                continue
        out.append((lower, upper, inclusive))
    return out


@pytest.mark.parametrize("boundaries", BOUNDARY_SETS, ids=BOUNDARY_IDS)
def test_windows_split_the_open_plan_without_gap_or_overlap(boundaries: list[datetime]) -> None:
    plans = windows(boundaries)
    whole = plan_cursor_ranges(boundaries[0], None)
    for kind in ("timestamp", "number", "string"):
        split = [
            (r.lower, r.upper, r.upper_inclusive)
            for plan in plans
            for r in plan
            if FIRESTORE_TYPE[r.kind] == kind
        ]
        assert merged(split) == merged(
            [(r.lower, r.upper, r.upper_inclusive) for r in whole if FIRESTORE_TYPE[r.kind] == kind]
        )
    # Per kind, where one window ends the next begins, with the very same value
    # (but for the jump from -1e11 up to 1e11 milliseconds, over the seconds).
    for plan, following in itertools.pairwise(plans):
        for kind in ("timestamp", "seconds", "milliseconds"):
            ends = [r for r in plan if r.kind == kind]
            starts = [r for r in following if r.kind == kind]
            if ends and starts and not ends[-1].upper_inclusive:
                assert ends[-1].upper == starts[0].lower


# --- membership, against parse_timestamp ------------------------------------------


def number_values(boundaries: list[datetime], rng: random.Random) -> list[float | int]:
    values: list[float | int] = [0, -0.0, T, -T, 1.7e12, 1.7e9]
    values += [
        math.nextafter(T, 0),
        math.nextafter(T, math.inf),
        math.nextafter(-T, -math.inf),
        int(T),
        -int(T),
    ]
    for moment in boundaries:
        ms = int(milliseconds(moment))
        for delta in (-1, 0, 1):
            values += [ms + delta, float(ms + delta), (ms + delta) / 1000, (ms + delta + 0.5) / 1000]
            if (ms + delta) % 1000 == 0:
                values.append((ms + delta) // 1000)
    values += [rng.uniform(-6.2e10, T) for _ in range(200)]
    values += [rng.uniform(T, 2.5e14) for _ in range(100)]
    values += [rng.uniform(-6.2e13, -T) for _ in range(100)]
    return values


def timestamp_values(boundaries: list[datetime], rng: random.Random) -> list[datetime]:
    values = []
    for moment in boundaries:
        for delta in (-1000, -1, 0, 1, 999, 1000):
            with contextlib.suppress(OverflowError):
                values.append(moment + timedelta(microseconds=delta))
    span = (boundaries[-1] - boundaries[0]) * 1.5 + timedelta(days=2)
    for _ in range(200):
        with contextlib.suppress(OverflowError):
            values.append(boundaries[0] + span * rng.uniform(-0.3, 1))
    return values


OFFSETS = ["Z", "+00:00", "+05:30", "-03:00", "-23:59", "+14:00", "+23:59", ""]


def iso_string(instant: datetime, offset: str, style: str, precision: int) -> str | None:
    """`instant` written with `offset`: the local date-time is instant + offset.

    `style` is the date/time separator, or "12h" for a space and a 12-hour clock
    ("2026-11-28 9:05 PM -03:00"), which dateutil's free-form parser reads.
    """
    sign = -1 if offset.startswith("-") else 1
    hours, minutes = (int(offset[1:3]), int(offset[4:6])) if offset not in ("Z", "") else (0, 0)
    try:
        local = instant.replace(tzinfo=None) + sign * timedelta(hours=hours, minutes=minutes)
    except OverflowError:
        return None
    date = local.isoformat(timespec="hours")[:10]
    time = local.strftime(["%M", "%M:%S", "%M:%S.%f"][precision])
    if style == "12h":
        return f"{date} {local.hour % 12 or 12}:{time} {'AM' if local.hour < 12 else 'PM'}" + (
            f" {offset}" if offset else ""
        )
    return f"{date}{style}{local.hour:02d}:{time}{offset}"


def string_values(boundaries: list[datetime], rng: random.Random) -> list[str]:
    instants = []
    for moment in boundaries:
        for hours in range(-80, 81, 3):
            with contextlib.suppress(OverflowError):
                instants.append(moment + timedelta(hours=hours, seconds=rng.uniform(-5400, 5400)))
    values = []
    for instant in instants:
        for offset in OFFSETS:
            style = rng.choice(["T", "T", " ", "t", "12h"])
            text = iso_string(instant, offset, style, rng.randrange(3))
            if text is not None:
                values.append(text)
    return values


def window_of(boundaries: list[datetime], instant: datetime) -> int | None:
    """The index of the window [b[i], b[i+1]) holding `instant`, None before the first."""
    index = sum(1 for b in boundaries if b <= instant) - 1
    return None if index < 0 else index


@pytest.mark.parametrize("boundaries", BOUNDARY_SETS, ids=BOUNDARY_IDS)
def test_each_number_and_timestamp_is_read_once_in_the_window_of_its_instant(
    boundaries: list[datetime],
) -> None:
    rng = random.Random(len(boundaries) * 7919 + boundaries[0].year)
    plans = windows(boundaries)
    for kind, values in (
        ("number", number_values(boundaries, rng)),
        ("timestamp", timestamp_values(boundaries, rng)),
    ):
        for value in values:
            instant = instant_of(kind, value)
            if instant is None:
                continue  # nothing to place (e.g. -1e11 + tiny: seconds in year -1200)
            found = [(index, r) for index, plan in enumerate(plans) for r in hits(plan, kind, value)]
            expected = window_of(boundaries, instant)
            assert [index for index, _ in found] == ([] if expected is None else [expected]), (
                f"{value!r} at {instant} read in {found}"
            )


@pytest.mark.parametrize("boundaries", BOUNDARY_SETS, ids=BOUNDARY_IDS)
def test_each_iso_string_is_read_at_most_once_and_none_is_missed(boundaries: list[datetime]) -> None:
    rng = random.Random(len(boundaries) * 104729 + boundaries[0].year)
    plans = windows(boundaries)
    values = string_values(boundaries, rng)
    instants = [instant_of("string", value) for value in values]
    # Near year 1 or 9999 some fall out of the datetime range; elsewhere all parse.
    assert sum(instant is not None for instant in instants) > 0.8 * len(values)
    for value, instant in zip(values, instants, strict=True):
        if instant is None:
            continue  # no instant to read it for
        found = [(index, r) for index, plan in enumerate(plans) for r in hits(plan, "string", value)]
        assert len(found) <= 1, f"{value!r} read twice: {found}"
        if instant >= boundaries[0]:
            assert found, f"{value!r} at {instant} missed"
        if instant + STRING_REREAD < boundaries[0]:
            assert not found, f"{value!r} at {instant} reread"
