"""Tests for include.firestore_to_mongo.verify.store: how values are shown, differences built
from the writer's comparison, and the DifferenceStore's records (on the wire server, or
TEST_MONGODB_URI)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from include.firestore_to_mongo.contract.mapping import map_document
from include.firestore_to_mongo.contract.specs import USERS
from include.firestore_to_mongo.target.writer import compare
from include.firestore_to_mongo.verify import store as verify_store
from include.firestore_to_mongo.verify.store import (
    _ABSENT,
    ABSENT,
    CHANGED,
    CONFLICT,
    DIFFERENT,
    EXTRA,
    MISSING,
    REPORT_ORDER,
    UNMAPPABLE,
    VALUE_CHARS,
    VERIFY_RECORDS,
    Difference,
    DifferenceStore,
)

RUN = "firestore_to_mongo_verify/manual__2026-11-29T08:00:00+00:00"
OTHER_RUN = "firestore_to_mongo_verify/manual__2026-11-30T08:00:00+00:00"
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)

# --- show ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(2, "2", id="int"),
        pytest.param(2.0, "2.0", id="float"),
        pytest.param(True, "True", id="bool"),
        pytest.param("2", "'2'", id="string-of-a-number"),
        pytest.param(None, "None", id="none"),
        pytest.param("", "''", id="empty-string"),
        pytest.param(
            NOV_1, "datetime.datetime(2026, 11, 1, 0, 0, tzinfo=datetime.timezone.utc)", id="datetime"
        ),
        pytest.param("2026-11-01T00:00:00+00:00", "'2026-11-01T00:00:00+00:00'", id="date-string"),
        pytest.param({"a": [1, "b"]}, "{'a': [1, 'b']}", id="map"),
        pytest.param("x" * 118, "'" + "x" * 118 + "'", id="repr-just-fits"),
        pytest.param(_ABSENT, "(absent)", id="absent"),
    ],
)
def test_show(value: object, expected: str) -> None:
    assert verify_store.show(value) == expected


@pytest.mark.parametrize(
    ("value", "length"),
    [
        pytest.param("x" * 119, 119, id="string-one-too-long"),
        pytest.param("é" * 900_000, 900_000, id="huge-string"),
        pytest.param(list(range(1_000)), len(repr(list(range(1_000)))), id="long-list"),
    ],
)
def test_show_shortens_long_values(value: object, length: int) -> None:
    shown = verify_store.show(value)
    assert shown.endswith(f"… ({length} characters)")
    assert shown.removesuffix(f"… ({length} characters)") == repr(value)[:VALUE_CHARS]
    assert VALUE_CHARS == 120


def test_absent_is_not_a_value() -> None:
    assert ABSENT == "(absent)"
    # The string "(absent)" stored in a field is shown as a string.
    assert verify_store.show("(absent)") == "'(absent)'"


# --- Difference ------------------------------------------------------------------------

SOURCE = {
    "username": "ada",
    "email": 2,
    "currently_logged_in": True,
    "digital_twins": ["t1"],
}
STORED = {
    "_id": "ignored",
    "user_id": "u1",
    "username": "ada",
    "email": 2.0,
    "currently_logged_in": "true",
    "last_login": NOV_1,
    "created_at": NOV_1,
    "nickname": "not a contract key",
}


def test_of_change_different_names_changed_then_removed_fields() -> None:
    document = map_document(USERS, "users/u1", SOURCE)
    change = compare(USERS, document, STORED)
    assert (change.changed, change.removed) == (
        ["email", "currently_logged_in", "digital_twins"],
        ["last_login", "created_at"],
    )

    difference = Difference.of_change(DIFFERENT, change, STORED)

    assert difference == Difference(
        DIFFERENT,
        {"user_id": "u1"},
        "users/u1",
        [
            {"field": "email", "firestore": "2", "mongodb": "2.0"},
            {"field": "currently_logged_in", "firestore": "True", "mongodb": "'true'"},
            {"field": "digital_twins", "firestore": "['t1']", "mongodb": "(absent)"},
            {"field": "last_login", "firestore": "(absent)", "mongodb": repr(NOV_1)},
            {"field": "created_at", "firestore": "(absent)", "mongodb": repr(NOV_1)},
        ],
    )


def test_of_change_shortens_long_values() -> None:
    document = map_document(USERS, "users/u1", {"username": "a" * 5_000})
    stored = {"user_id": "u1", "username": "b" * 5_000}
    (item,) = Difference.of_change(DIFFERENT, compare(USERS, document, stored), stored).fields
    assert item["firestore"] == repr("a" * 5_000)[:120] + "… (5000 characters)"
    assert item["mongodb"] == repr("b" * 5_000)[:120] + "… (5000 characters)"


@pytest.mark.parametrize(
    ("kind", "stored"),
    [
        pytest.param(MISSING, None, id="missing-has-no-fields"),
        pytest.param(DIFFERENT, None, id="different-without-stored-shows-absent"),
    ],
)
def test_of_change_without_stored(kind: str, stored: None) -> None:
    document = map_document(USERS, "users/u2", {"user_id": "u2", "username": "bo"})
    difference = Difference.of_change(kind, compare(USERS, document, None), stored)
    assert (difference.kind, difference.key, difference.path) == (kind, {"user_id": "u2"}, "users/u2")
    expected = [
        {"field": "user_id", "firestore": "'u2'", "mongodb": "(absent)"},
        {"field": "username", "firestore": "'bo'", "mongodb": "(absent)"},
    ]
    assert difference.fields == ([] if kind == MISSING else expected)


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        pytest.param(
            Difference(MISSING, {"user_id": "u1"}, "users/u1"),
            "missing {'user_id': 'u1'} users/u1",
            id="missing",
        ),
        pytest.param(Difference(EXTRA, {"user_id": 7}, None), "extra {'user_id': 7}", id="extra-has-no-path"),
        pytest.param(
            Difference(
                DIFFERENT,
                {"user_id": "u1"},
                "users/u1",
                [
                    {"field": "email", "firestore": "2", "mongodb": "2.0"},
                    {"field": "name", "firestore": "(absent)", "mongodb": "'x'"},
                ],
            ),
            "different {'user_id': 'u1'} users/u1: email: Firestore 2, MongoDB 2.0; "
            "name: Firestore (absent), MongoDB 'x'",
            id="different-lists-fields",
        ),
        pytest.param(
            Difference(UNMAPPABLE, None, "users/x", reason="user_id: a map can't be a key"),
            "unmappable users/x: user_id: a map can't be a key",
            id="unmappable-has-no-key",
        ),
        pytest.param(
            Difference(MISSING, {"user_id": "u1"}, "users/u1", repaired=True),
            "missing {'user_id': 'u1'} users/u1 (repaired)",
            id="repaired",
        ),
        pytest.param(
            Difference(
                DIFFERENT,
                {"user_id": "u1"},
                "users/u1",
                [{"field": "a", "firestore": "1", "mongodb": "2"}],
                reason="why",
                repaired=True,
            ),
            "different {'user_id': 'u1'} users/u1: a: Firestore 1, MongoDB 2: why (repaired)",
            id="everything",
        ),
        pytest.param(
            Difference(CHANGED, {"user_id": "u1"}, "users/u1"),
            "changed_during_verify {'user_id': 'u1'} users/u1",
            id="changed-during-verify",
        ),
    ],
)
def test_describe(difference: Difference, expected: str) -> None:
    assert difference.describe() == expected


# --- DifferenceStore -------------------------------------------------------------------


def store(database, run: str = RUN, collection: str = "users", partition: int | None = 0) -> DifferenceStore:
    return DifferenceStore(database, run, collection, partition)


def of_kind(kind: str, number: int) -> Difference:
    key = None if kind in (UNMAPPABLE, CONFLICT) else {"user_id": f"u{number}"}
    path = None if kind == EXTRA else f"users/{kind[0]}{number:02}"
    return Difference(kind, key, path)


def records(database) -> list[dict]:
    return list(database[VERIFY_RECORDS].find({}, {"_id": 0, "at": 0}))


def test_report_order() -> None:
    assert REPORT_ORDER == (MISSING, EXTRA, DIFFERENT, CHANGED, CONFLICT, UNMAPPABLE)
    assert REPORT_ORDER == (
        "missing",
        "extra",
        "different",
        "changed_during_verify",
        "conflict",
        "unmappable",
    )


def test_records_hold_the_whole_difference(mongo_db) -> None:
    difference = Difference(
        DIFFERENT,
        {"user_id": "u1"},
        "users/u1",
        [{"field": "email", "firestore": "2", "mongodb": "2.0"}],
        reason="r",
        repaired=True,
    )
    before = datetime.now(UTC) - timedelta(seconds=1)
    store(mongo_db, partition=3).add([difference])
    (record,) = mongo_db[VERIFY_RECORDS].find({}, {"_id": 0})
    at = record.pop("at")
    assert before <= at <= datetime.now(UTC) + timedelta(seconds=1)
    assert record == {
        "run_id": RUN,
        "collection": "users",
        "partition": 3,
        "kind": DIFFERENT,
        "key": {"user_id": "u1"},
        "path": "users/u1",
        "fields": [{"field": "email", "firestore": "2", "mongodb": "2.0"}],
        "reason": "r",
        "repaired": True,
    }
    assert store(mongo_db, partition=None).first(5) == [difference]


def test_first_lists_differences_first_each_kind_by_path(mongo_db) -> None:
    differences = [of_kind(kind, number) for kind in REPORT_ORDER for number in (3, 1, 2)]
    random.Random(5).shuffle(differences)
    store(mongo_db, partition=0).add(differences[:9])
    store(mongo_db, partition=1).add(differences[9:])
    extras_in_insertion_order = [item for item in differences if item.kind == EXTRA]

    first = store(mongo_db, partition=None).first(100)

    assert [item.kind for item in first] == [kind for kind in REPORT_ORDER for _ in range(3)]
    for kind in set(REPORT_ORDER) - {EXTRA}:
        assert [item.path for item in first if item.kind == kind] == [
            f"users/{kind[0]}{number:02}" for number in (1, 2, 3)
        ]
    # Extra documents have no path: they come in the order they were stored.
    assert [item for item in first if item.kind == EXTRA] == extras_in_insertion_order


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        pytest.param(0, [], id="none"),
        pytest.param(1, [(MISSING, "users/m01")], id="one"),
        pytest.param(3, [(MISSING, "users/m01"), (MISSING, "users/m02"), (EXTRA, None)], id="across-kinds"),
        pytest.param(
            5,
            [
                (MISSING, "users/m01"),
                (MISSING, "users/m02"),
                (EXTRA, None),
                (DIFFERENT, "users/d01"),
                (UNMAPPABLE, "users/u01"),
            ],
            id="all",
        ),
        pytest.param(
            50,
            [
                (MISSING, "users/m01"),
                (MISSING, "users/m02"),
                (EXTRA, None),
                (DIFFERENT, "users/d01"),
                (UNMAPPABLE, "users/u01"),
            ],
            id="more-than-there-are",
        ),
    ],
)
def test_first_stops_at_count(mongo_db, count: int, expected: list) -> None:
    store(mongo_db).add(
        [
            of_kind(UNMAPPABLE, 1),
            of_kind(DIFFERENT, 1),
            of_kind(MISSING, 2),
            of_kind(EXTRA, 1),
            of_kind(MISSING, 1),
        ]
    )
    assert [(item.kind, item.path) for item in store(mongo_db).first(count)] == expected


def test_first_reads_only_its_run_and_collection(mongo_db) -> None:
    store(mongo_db).add([of_kind(MISSING, 1)])
    store(mongo_db, run=OTHER_RUN).add([of_kind(MISSING, 2)])
    store(mongo_db, collection="messages").add([of_kind(MISSING, 3)])
    assert [item.path for item in store(mongo_db).first(10)] == ["users/m01"]
    assert [item.path for item in store(mongo_db, run=OTHER_RUN).first(10)] == ["users/m02"]
    assert [item.path for item in store(mongo_db, collection="messages").first(10)] == ["users/m03"]


def test_adding_nothing_writes_nothing(mongo_db) -> None:
    store(mongo_db).add([])
    assert VERIFY_RECORDS not in mongo_db.list_collection_names()


@pytest.mark.parametrize(
    ("batches", "stored"),
    [
        pytest.param([3], 3, id="under-the-cap"),
        pytest.param([5], 5, id="at-the-cap"),
        pytest.param([8], 5, id="one-batch-over"),
        pytest.param([3, 4], 5, id="second-batch-cut"),
        pytest.param([5, 1, 2], 5, id="later-batches-dropped"),
    ],
)
def test_records_are_capped_per_collection_and_run(
    monkeypatch, mongo_db, batches: list[int], stored: int
) -> None:
    monkeypatch.setattr(verify_store, "MAX_RECORDS", 5)
    number = 0
    for partition, size in enumerate(batches):
        # The cap is shared by the collection's partitions.
        store(mongo_db, partition=partition).add([of_kind(MISSING, number + i) for i in range(size)])
        number += size
    kept = store(mongo_db).first(100)
    assert len(kept) == stored
    # The first ones reported are kept.
    assert [item.path for item in kept] == [f"users/m{i:02}" for i in range(stored)]


def test_each_collection_and_run_has_its_own_cap(monkeypatch, mongo_db) -> None:
    monkeypatch.setattr(verify_store, "MAX_RECORDS", 2)
    for run, collection in [(RUN, "users"), (RUN, "messages"), (OTHER_RUN, "users")]:
        store(mongo_db, run=run, collection=collection).add([of_kind(MISSING, i) for i in range(4)])
    assert mongo_db[VERIFY_RECORDS].count_documents({}) == 6
    assert len(store(mongo_db, run=RUN, collection="messages").first(10)) == 2


def test_default_cap() -> None:
    assert verify_store.MAX_RECORDS == 10_000
    assert verify_store.KEEP_RUNS == 20


@pytest.mark.parametrize(
    ("clear", "left"),
    [
        pytest.param(
            DifferenceStore.clear_partition,
            [(RUN, "messages", 0), (RUN, "users", 1), (OTHER_RUN, "users", 0)],
            id="partition-clears-only-its-partition",
        ),
        pytest.param(
            DifferenceStore.clear_run,
            [(RUN, "messages", 0), (OTHER_RUN, "users", 0)],
            id="run-clears-the-collections-partitions",
        ),
    ],
)
def test_clear(mongo_db, clear, left: list[tuple]) -> None:
    store(mongo_db, partition=0).add([of_kind(MISSING, 0)])
    store(mongo_db, partition=1).add([of_kind(MISSING, 1)])
    store(mongo_db, collection="messages", partition=0).add([of_kind(MISSING, 2)])
    store(mongo_db, run=OTHER_RUN, partition=0).add([of_kind(MISSING, 3)])

    clear(store(mongo_db, partition=0))

    assert (
        sorted((record["run_id"], record["collection"], record["partition"]) for record in records(mongo_db))
        == left
    )


def test_remove_returns_the_record_once(mongo_db) -> None:
    store(mongo_db, partition=0).add([Difference(DIFFERENT, {"user_id": "u1"}, "users/u1", repaired=True)])
    store(mongo_db, partition=1).add([of_kind(MISSING, 1)])
    store(mongo_db, run=OTHER_RUN).add([Difference(DIFFERENT, {"user_id": "u1"}, "users/u1")])
    mine = store(mongo_db, partition=None)

    removed = mine.remove("users/u1")

    # All a summary needs to take it back from its figures and reasons, and nothing else.
    assert removed == {
        "kind": DIFFERENT,
        "key": {"user_id": "u1"},
        "path": "users/u1",
        "fields": [],
        "reason": None,
        "repaired": True,
    }
    assert mine.remove("users/u1") is None
    assert mine.remove("users/nobody") is None
    assert [item.path for item in mine.first(10)] == ["users/m01"]
    assert [item.path for item in store(mongo_db, run=OTHER_RUN).first(10)] == ["users/u1"]


def add_run_at(database, run: str, *times: datetime) -> None:
    """One record of `run` per time, stored now and then dated back to that time."""
    for number, at in enumerate(times):
        store(database, run=run).add([of_kind(MISSING, number)])
        database[VERIFY_RECORDS].update_one(
            {"run_id": run, "path": of_kind(MISSING, number).path}, {"$set": {"at": at}}
        )


RECORDS_PER_RUN = {"a": 2, "b": 1, "c": 2}


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        pytest.param(0, set(), id="none"),
        pytest.param(1, {"a"}, id="newest-by-its-latest-record"),
        pytest.param(2, {"a", "c"}, id="two"),
        pytest.param(3, {"a", "b", "c"}, id="all"),
        pytest.param(20, {"a", "b", "c"}, id="more-than-there-are"),
    ],
)
def test_keep_last_runs(mongo_db, keep: int, kept: set[str]) -> None:
    day = timedelta(days=1)
    # a's first record is the oldest of all, its last the newest.
    add_run_at(mongo_db, "a", NOV_1 - 10 * day, NOV_1 - 1 * day)
    add_run_at(mongo_db, "b", NOV_1 - 5 * day)
    add_run_at(mongo_db, "c", NOV_1 - 3 * day, NOV_1 - 4 * day)

    gone = DifferenceStore.keep_last_runs(mongo_db, keep)

    assert gone == 3 - len(kept)
    left = records(mongo_db)
    assert {record["run_id"] for record in left} == kept
    # A kept run keeps all its records.
    assert len(left) == sum(RECORDS_PER_RUN[run] for run in kept)


def test_keep_last_runs_on_an_empty_database(mongo_db) -> None:
    assert DifferenceStore.keep_last_runs(mongo_db) == 0
