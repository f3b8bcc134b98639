"""Unit tests for include.firestore_to_mongo.contract.dropped (the counts of the source keys
the contract drops: cap, merge, "and K more", example path, the dict form) and for the keys
each spec drops (`CollectionSpec.dropped_keys`, `MappedDocument.dropped`)."""

from __future__ import annotations

import json

import pytest

from include.firestore_to_mongo.contract.dropped import MORE_TRACKED, SHOWN, DroppedKeys
from include.firestore_to_mongo.contract.mapping import map_document
from include.firestore_to_mongo.contract.specs import (
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    USERS,
    CollectionSpec,
)

TWIN = "digital_twins/t"


def names(count: int, prefix: str = "k") -> list[str]:
    return [f"{prefix}{number:04d}" for number in range(count)]


def counted(*documents: tuple[str, list[str]]) -> DroppedKeys:
    dropped = DroppedKeys()
    for path, keys in documents:
        dropped.add(path, keys)
    return dropped


def entry(name: str, documents: int, example: str, at_least: bool = False) -> dict:
    return {"name": name, "documents": documents, "example": example} | (
        {"at_least": True} if at_least else {}
    )


def summary(dropped: DroppedKeys) -> tuple[list[tuple[str, int, str, bool]], int, bool]:
    """(names as (name, documents, example, at_least), more, more_at_least)."""
    return (
        [(key.name, key.documents, key.example, key.at_least) for key in dropped.counted()],
        dropped.more,
        dropped.more_at_least,
    )


# --- add: counts, examples, the cap ------------------------------------------------------------

ADD_CASES = {
    "nothing read": ([], ([], 0, False)),
    "documents without dropped keys": ([(f"{TWIN}1", []), (f"{TWIN}2", [])], ([], 0, False)),
    "one key in one document": (
        [(f"{TWIN}1", ["voice_id"])],
        ([("voice_id", 1, f"{TWIN}1", False)], 0, False),
    ),
    "one key in three documents: the smallest path is the example, whatever the order": (
        [(f"{TWIN}3", ["voice_id"]), (f"{TWIN}1", ["voice_id"]), (f"{TWIN}2", ["voice_id"])],
        ([("voice_id", 3, f"{TWIN}1", False)], 0, False),
    ),
    "most documents first, then by name": (
        [(f"{TWIN}1", ["b", "a", "z"]), (f"{TWIN}2", ["z"])],
        ([("z", 2, f"{TWIN}1", False), ("a", 1, f"{TWIN}1", False), ("b", 1, f"{TWIN}1", False)], 0, False),
    ),
    "exactly the cap: nothing more": (
        [(f"{TWIN}1", names(SHOWN))],
        ([(name, 1, f"{TWIN}1", False) for name in names(SHOWN)], 0, False),
    ),
    "past the cap: the first names met are counted, the rest only by number": (
        [(f"{TWIN}1", names(SHOWN + 3)), (f"{TWIN}2", names(SHOWN + 3))],
        ([(name, 2, f"{TWIN}1", False) for name in names(SHOWN)], 3, False),
    ),
    "a name past the cap met again is one name": (
        [(f"{TWIN}1", [*names(SHOWN), "extra"]), (f"{TWIN}2", ["extra"]), (f"{TWIN}3", ["extra", "k0000"])],
        (
            [("k0000", 2, f"{TWIN}1", False)] + [(name, 1, f"{TWIN}1", False) for name in names(SHOWN)[1:]],
            1,
            False,
        ),
    ),
    "past the tracked names: at least": (
        [(f"{TWIN}1", names(SHOWN + MORE_TRACKED + 5))],
        ([(name, 1, f"{TWIN}1", False) for name in names(SHOWN)], MORE_TRACKED, True),
    ),
}


@pytest.mark.parametrize(("documents", "expected"), list(ADD_CASES.values()), ids=list(ADD_CASES))
def test_add(documents, expected) -> None:
    assert summary(counted(*documents)) == expected


# --- merge -------------------------------------------------------------------------------------

MERGE_CASES = {
    "into nothing": (
        [],
        [("p/2", ["a"])],
        ([("a", 1, "p/2", False)], 0, False),
    ),
    "nothing into some": (
        [("p/2", ["a"])],
        [],
        ([("a", 1, "p/2", False)], 0, False),
    ),
    "same name: added up, the smaller example": (
        [("p/5", ["a"]), ("p/6", ["a"])],
        [("p/3", ["a", "b"])],
        ([("a", 3, "p/3", False), ("b", 1, "p/3", False)], 0, False),
    ),
    "the other's names fill the cap, the rest count as more": (
        [("p/1", names(SHOWN - 1))],
        [("p/2", ["x", "y", "z"])],
        ([(name, 1, "p/1", False) for name in names(SHOWN - 1)] + [("x", 1, "p/2", False)], 2, False),
    ),
    "a name counted here that the other met past its cap: at least": (
        [("p/1", ["voice_id"])],
        [("p/2", [*names(SHOWN), "voice_id"])],
        ([(name, 1, "p/2", False) for name in names(SHOWN - 1)] + [("voice_id", 1, "p/1", True)], 1, False),
    ),
    "the other's more names, distinct ones only": (
        [("p/1", [*names(SHOWN), "m1", "m2"])],
        [("p/2", [*names(SHOWN), "m2", "m3"])],
        ([(name, 2, "p/1", False) for name in names(SHOWN)], 3, False),
    ),
}


@pytest.mark.parametrize(("mine", "theirs", "expected"), list(MERGE_CASES.values()), ids=list(MERGE_CASES))
def test_merge(mine, theirs, expected) -> None:
    merged = counted(*mine)
    merged.merge(counted(*theirs))
    assert summary(merged) == expected


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
@pytest.mark.parametrize("distinct", [3, SHOWN])
def test_merged_parts_count_what_one_pass_counts(parts: int, distinct: int) -> None:
    """Under the cap, partitions merged (through their XCom dicts) say what one reader of
    every document says: the same counts and the same examples, whatever the split."""
    documents = [(f"{TWIN}{number:03d}", names(distinct)[: 1 + number % distinct]) for number in range(40)]
    whole = counted(*documents)
    merged = DroppedKeys()
    for part in range(parts):
        merged.merge(
            DroppedKeys.from_dict(json.loads(json.dumps(counted(*documents[part::parts]).as_dict())))
        )
    assert summary(merged) == summary(whole)
    assert summary(whole)[0][0] == ("k0000", 40, f"{TWIN}000", False)


def test_merge_of_a_part_past_the_tracked_names_makes_every_count_a_lower_bound() -> None:
    mine = counted(("p/1", ["voice_id", "other"]))
    theirs = counted(("p/2", [*names(SHOWN + MORE_TRACKED + 1, "t"), "other"]))
    mine.merge(theirs)
    assert mine.more_at_least
    at_least = {key.name: key.at_least for key in mine.counted()}
    # Both may be among the names the other part met but no longer tracked.
    assert (at_least["voice_id"], at_least["other"], at_least["t0000"]) == (True, True, False)


# --- rendering ---------------------------------------------------------------------------------

LINES_CASES = {
    "nothing": ([], [], []),
    "one document": (
        [(f"{TWIN}1", ["voice_id"])],
        ["`voice_id` in 1 document (e.g. digital_twins/t1)"],
        ["twins: dropped by the contract: `voice_id` in 1 document (e.g. digital_twins/t1)"],
    ),
    "several names": (
        [(f"{TWIN}2", ["voice_id", "legacy"]), (f"{TWIN}1", ["voice_id"])],
        [
            "`voice_id` in 2 documents (e.g. digital_twins/t1)",
            "`legacy` in 1 document (e.g. digital_twins/t2)",
        ],
        [
            "twins: dropped by the contract: `voice_id` in 2 documents (e.g. digital_twins/t1); "
            "`legacy` in 1 document (e.g. digital_twins/t2)"
        ],
    ),
    "thousands": (
        [(f"{TWIN}{number}", ["voice_id"]) for number in range(1234)],
        ["`voice_id` in 1,234 documents (e.g. digital_twins/t0)"],
        ["twins: dropped by the contract: `voice_id` in 1,234 documents (e.g. digital_twins/t0)"],
    ),
    "and 1 more name": (
        [(f"{TWIN}1", names(SHOWN + 1))],
        [*(f"`{name}` in 1 document (e.g. digital_twins/t1)" for name in names(SHOWN)), "and 1 more name"],
        None,
    ),
    "and K more names": (
        [(f"{TWIN}1", names(SHOWN + 7))],
        [*(f"`{name}` in 1 document (e.g. digital_twins/t1)" for name in names(SHOWN)), "and 7 more names"],
        None,
    ),
    "and at least K more names": (
        [(f"{TWIN}1", names(SHOWN + MORE_TRACKED + 1))],
        [
            *(f"`{name}` in 1 document (e.g. digital_twins/t1)" for name in names(SHOWN)),
            "and at least 1,000 more names",
        ],
        None,
    ),
    "a long name is shortened": (
        [(f"{TWIN}1", ["x" * 300])],
        [f"`{'x' * 100}… (300 characters)` in 1 document (e.g. digital_twins/t1)"],
        None,
    ),
}


@pytest.mark.parametrize(("documents", "lines", "notes"), list(LINES_CASES.values()), ids=list(LINES_CASES))
def test_lines_and_notes(documents, lines: list[str], notes: list[str] | None) -> None:
    dropped = counted(*documents)
    assert dropped.lines() == lines
    if notes is not None:
        assert dropped.notes("twins") == notes
    else:
        assert dropped.notes("twins") == [f"twins: dropped by the contract: {'; '.join(lines)}"]


def test_a_lower_bound_says_at_least() -> None:
    dropped = DroppedKeys.from_dict({"names": [entry("voice_id", 20, "digital_twins/t1", at_least=True)]})
    assert dropped.lines() == ["`voice_id` in at least 20 documents (e.g. digital_twins/t1)"]


# --- the dict form (XCom, checkpoints, the runs record) ------------------------------------------

DICT_CASES = {
    "empty": ([], True, {"names": [], "more": 0, "more_at_least": False}),
    "names in the order met; a name may hold '.' or '$' (values, never keys)": (
        [("p/2", ["$odd", "a.b"]), ("p/1", ["a.b"])],
        True,
        {"names": [entry("$odd", 1, "p/2"), entry("a.b", 2, "p/1")], "more": 0, "more_at_least": False},
    ),
    "past the cap, mergeable: the digests travel": (
        [("p/1", names(SHOWN + 2))],
        True,
        None,
    ),
    "past the cap, not mergeable: a number only": (
        [("p/1", names(SHOWN + 2))],
        False,
        {"names": [entry(name, 1, "p/1") for name in names(SHOWN)], "more": 2, "more_at_least": False},
    ),
}


@pytest.mark.parametrize(
    ("documents", "mergeable", "expected"), list(DICT_CASES.values()), ids=list(DICT_CASES)
)
def test_as_dict_round_trips_through_json(documents, mergeable: bool, expected: dict | None) -> None:
    dropped = counted(*documents)
    figures = dropped.as_dict(mergeable=mergeable)
    if expected is not None:
        assert figures == expected
    if mergeable and dropped.more:
        assert len(figures["more_digests"]) == dropped.more
        assert all(len(digest) == 16 for digest in figures["more_digests"])
    restored = DroppedKeys.from_dict(json.loads(json.dumps(figures)))
    assert summary(restored) == summary(dropped)
    assert restored.as_dict(mergeable=mergeable) == figures
    if mergeable:
        assert restored == dropped


def test_a_dict_without_digests_still_counts_its_more_names() -> None:
    compact = DroppedKeys.from_dict({"names": [], "more": 4, "more_at_least": True})
    assert (compact.more, compact.more_at_least, compact.lines()) == (4, True, ["and at least 4 more names"])


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param(None, id="none"),
        pytest.param([], id="a-list"),
        pytest.param({}, id="empty-dict"),
        pytest.param({"names": "voice_id", "more": "3"}, id="wrong-types"),
        pytest.param(
            {"names": [{"name": "x"}, {"name": 1, "documents": 2, "example": "p"}]}, id="bad-entries"
        ),
        pytest.param({"names": [{"name": "x", "documents": True, "example": "p"}], "more": True}, id="bools"),
    ],
)
def test_malformed_dicts_count_nothing(figures) -> None:
    dropped = DroppedKeys.from_dict(figures)
    assert not dropped
    assert dropped.as_dict() == {"names": [], "more": 0, "more_at_least": False}


# --- the keys each spec drops ------------------------------------------------------------------

SPEC_CASES = [
    pytest.param(USERS, {"username": "a", "fcm_token": "t", "user_id": "u"}, ["fcm_token"], id="users"),
    pytest.param(
        DIGITAL_TWINS,
        {"name": "n", "voice_id": "v", "system_prompt_en": "p", "digital_twin_id": "t", "files": []},
        ["voice_id"],
        id="twins-prefix-and-id-field-kept",
    ),
    pytest.param(
        DIGITAL_TWINS,
        {"name": "n", "settings": {"voice_id": "v"}, "files": [{"voice_id": "v"}]},
        ["settings"],
        id="nested-map-keys-are-their-field",
    ),
    pytest.param(
        CONVERSATIONS,
        {"summary": "s", "digital_twin_id": "stale", "title": "t"},
        ["title"],
        id="conversations-path-field-is-the-contracts",
    ),
    pytest.param(
        MESSAGES,
        {"role": "user", "content": "c", "type": "x", "sender": "s", "message": "m", "reactions": []},
        ["sender", "message", "reactions"],
        id="messages-source-names-not-target-names",
    ),
    pytest.param(USERS, {}, [], id="empty-document"),
]


@pytest.mark.parametrize(("spec", "data", "dropped"), SPEC_CASES)
def test_dropped_keys_of_each_spec(spec: CollectionSpec, data: dict, dropped: list[str]) -> None:
    assert spec.dropped_keys(data) == dropped
    path = "/".join(segment or "x" for segment in spec.path_shape)
    assert map_document(spec, path, data).dropped == dropped
