"""Unit tests for include.firestore_to_mongo.util.reasons: grouping reasons by kind, and a
bounded, mergeable count per reason with one example path."""

from __future__ import annotations

import json

import pytest

from include.firestore_to_mongo.util.quoting import quote
from include.firestore_to_mongo.util.reasons import (
    EXAMPLE_CHARS,
    REASON_CHARS,
    SHOWN,
    TRACKED,
    Reasons,
    reason_kind,
)


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        pytest.param(
            "timestamp: unparseable date string 'sometime last week': Unknown string format; kept unchanged",
            "timestamp: unparseable date string …: Unknown string format; kept unchanged",
            id="quoted-value",
        ),
        pytest.param(
            f"timestamp: unparseable date string {quote('x' * 500)}: Unknown string format; kept unchanged",
            "timestamp: unparseable date string …: Unknown string format; kept unchanged",
            id="quoted-value-cut",
        ),
        pytest.param(
            'created_at: date string "it\'s 3/4/26" has a two-digit year (26); its century would be a guess',
            "created_at: date string … has a two-digit year (…); its century would be a guess",
            id="double-quoted-and-a-number",
        ),
        pytest.param(
            "updated_at: epoch 1.5e400 is not a finite number; kept unchanged",
            "updated_at: epoch … is not a finite number; kept unchanged",
            id="float-number",
        ),
        pytest.param(
            "field name 'a.b' can't be written by a MongoDB $set ('.' or leading '$')",
            "field name … can't be written by a MongoDB $set (… or leading …)",
            id="apostrophes-in-words-are-not-quotes",
        ),
        pytest.param(
            'E11000 duplicate key error index: user_id_1 dup key: { user_id: "x" }',
            "E11000 duplicate key error index: user_id_1 dup key: { user_id: … }",
            id="digits-inside-names-stay",
        ),
        pytest.param(
            "nanos -1 is outside 0..999999999",
            "nanos … is outside 0..999999999",
            id="ranges-stay",
        ),
        pytest.param(
            "user_id must be a string or an integer, not dict",
            "user_id must be a string or an integer, not dict",
            id="nothing-to-group",
        ),
        pytest.param(
            "not storable in BSON: 16793600 bytes is over MongoDB's 16777216-byte document limit",
            "not storable in BSON: … bytes is over MongoDB's …-byte document limit",
            id="numbers",
        ),
    ],
)
def test_reason_kind(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def reasons_of(*entries: tuple[str, str]) -> Reasons:
    reasons = Reasons()
    for reason, example in entries:
        reasons.add(reason, example)
    return reasons


@pytest.mark.parametrize(
    ("parts", "expected", "other"),
    [
        pytest.param([], [], 0, id="nothing"),
        pytest.param(
            [[("a", "p/2"), ("a", "p/1")], [("a", "p/0"), ("b", "p/9")]],
            [("a", 3, "p/0"), ("b", 1, "p/9")],
            0,
            id="counts-add-up-smallest-example",
        ),
        pytest.param(
            [[("b", "p/1")], [("a", "p/1")]],
            [("a", 1, "p/1"), ("b", 1, "p/1")],
            0,
            id="ties-by-reason",
        ),
        pytest.param(
            [[(f"r{i:02}", f"p/{i}") for i in range(TRACKED + 5)]],
            [(f"r{i:02}", 1, f"p/{i}") for i in range(TRACKED)],
            5,
            id="one-part-past-the-cap-goes-to-other",
        ),
        pytest.param(
            [
                [(f"r{i:02}", "p/1") for i in range(TRACKED)],
                [("common", f"p/{i}") for i in range(5)],
            ],
            [("common", 5, "p/0"), *((f"r{i:02}", 1, "p/1") for i in range(TRACKED - 1))],
            1,
            id="merge-keeps-the-most-common",
        ),
    ],
)
def test_merge_through_json(parts: list, expected: list, other: int) -> None:
    total = Reasons()
    for entries in parts:
        total.merge(Reasons.from_dict(json.loads(json.dumps(reasons_of(*entries).as_dict()))))
    assert [(r.reason, r.count, r.example) for r in total.ranked()] == expected
    assert total.other == other
    assert total.total == sum(len(entries) for entries in parts)


def test_the_cap_bounds_size_and_the_total_stays_exact() -> None:
    reasons = Reasons()
    for i in range(10_000):
        reasons.add(f"reason {'x' * (i % 400)} {i}", "p/" + "q" * 1000)
    figures = reasons.as_dict()
    assert len(figures["reasons"]) == TRACKED
    assert all(len(entry["reason"]) <= REASON_CHARS + 30 for entry in figures["reasons"])
    assert all(len(entry["example"]) == EXAMPLE_CHARS for entry in figures["reasons"])
    assert reasons.total == 10_000
    assert len(json.dumps(figures)) < 8_000


def test_a_long_example_keeps_its_ends() -> None:
    reasons = reasons_of(("r", "digital_twins/" + "t" * 1000 + "/messages/m1"))
    (reason,) = reasons.top()
    assert reason.example.startswith("digital_twins/ttt")
    assert reason.example.endswith("/messages/m1")
    assert "…" in reason.example
    assert " " not in reason.example


def test_top_and_discount() -> None:
    reasons = reasons_of(*[("a", "p/1")] * 3, *[("b", "p/2")] * 2, ("c", "p/3"), ("d", "p/4"))
    assert [r.reason for r in reasons.top()] == ["a", "b", "c"][:SHOWN]
    reasons.discount("b")
    reasons.discount("c")
    reasons.discount("unknown")
    assert [(r.reason, r.count) for r in reasons.ranked()] == [("a", 3), ("b", 1), ("d", 1)]
    assert reasons.total == 5


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param(None, id="none"),
        pytest.param("text", id="not-a-dict"),
        pytest.param(
            {"reasons": [1, {"reason": "a"}, {"reason": "a", "count": True, "example": "p"}]}, id="bad"
        ),
        pytest.param({"reasons": [{"reason": "a", "count": -1, "example": "p"}], "other": -3}, id="negative"),
    ],
)
def test_from_dict_ignores_what_is_malformed(figures) -> None:
    assert Reasons.from_dict(figures) == Reasons()
    assert not Reasons.from_dict(figures)
