"""The test server's compound-index fast path changes speed only: uniqueness and
upsert lookups behave as in mongoeco (and MongoDB)."""

from __future__ import annotations

import pymongo
import pytest
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from devtools.servers import start_mongoeco

KEY = [("t", 1), ("c", 1), ("m", 1)]


@pytest.fixture(scope="module")
def server():
    running = start_mongoeco()
    yield running
    running.stop()


@pytest.fixture
def collection(server, request):
    client = pymongo.MongoClient(server.uri)
    collection = client.fastpath[request.node.name[:60]]
    collection.create_index(KEY, unique=True)
    yield collection
    client.close()


def test_duplicate_compound_key_is_refused(collection):
    collection.insert_one({"t": "a", "c": "b", "m": "c"})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"t": "a", "c": "b", "m": "c", "other": 1})
    collection.insert_one({"t": "a", "c": "b", "m": "d"})
    assert collection.count_documents({}) == 2


def test_update_into_an_existing_key_is_refused_but_updating_in_place_is_not(collection):
    collection.insert_many([{"t": "a", "c": "b", "m": "1"}, {"t": "a", "c": "b", "m": "2"}])
    collection.update_one({"m": "1"}, {"$set": {"x": 1}})
    with pytest.raises(DuplicateKeyError):
        collection.update_one({"m": "1"}, {"$set": {"m": "2"}})
    assert collection.find_one({"m": "1"})["x"] == 1


def test_upserts_find_existing_documents_by_the_compound_key(collection):
    requests = [
        UpdateOne(
            {"t": "a", "c": "b", "m": str(n)},
            {"$set": {"t": "a", "c": "b", "m": str(n), "v": 1}},
            upsert=True,
        )
        for n in range(50)
    ]
    first = collection.bulk_write(requests, ordered=False)
    again = collection.bulk_write(requests, ordered=False)

    assert (first.upserted_count, again.upserted_count, again.matched_count) == (50, 0, 50)
    assert collection.count_documents({}) == 50
    assert collection.find_one({"t": "a", "c": "b", "m": "7"})["v"] == 1
    assert collection.count_documents({"t": "a", "c": "b"}) == 50  # a key prefix: mongoeco's own path


def test_same_values_of_other_types_are_other_keys(collection):
    collection.insert_one({"t": "a", "c": "b", "m": 1})
    collection.insert_one({"t": "a", "c": "b", "m": "1"})
    assert collection.count_documents({"t": "a", "c": "b", "m": 1}) == 1


def test_array_keys_fall_back_to_mongoeco_and_stay_unique(collection):
    collection.insert_one({"t": "a", "c": "b", "m": ["x", "y"]})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"t": "a", "c": "b", "m": "x"})


def test_unordered_bulk_reports_the_duplicate_and_writes_the_rest(collection):
    collection.insert_one({"t": "a", "c": "b", "m": "taken"})
    with pytest.raises(BulkWriteError) as raised:
        collection.insert_many(
            [{"t": "a", "c": "b", "m": "new"}, {"t": "a", "c": "b", "m": "taken"}], ordered=False
        )
    assert [error["index"] for error in raised.value.details["writeErrors"]] == [1]
    assert collection.count_documents({}) == 2


def _seed_two_conversations(collection) -> None:
    collection.insert_many(
        [{"t": t, "c": c, "m": str(n), "v": n} for t in ("a", "b") for c in ("x", "y") for n in range(20)]
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            {"t": "a", "c": "x", "m": {"$in": ["1", "5", "nope"]}},
            {("a", "x", "1"), ("a", "x", "5")},
            id="in-last-field",
        ),
        pytest.param(
            {
                "$or": [
                    {"t": "a", "c": "x", "m": {"$in": ["1"]}},
                    {"t": "b", "c": "y", "m": {"$in": ["2", "3"]}},
                ]
            },
            {("a", "x", "1"), ("b", "y", "2"), ("b", "y", "3")},
            id="or-of-parents",
        ),
        pytest.param(
            {"$or": [{"t": "a", "c": "x", "m": "1"}, {"t": "a", "c": "x", "m": "1", "v": 99}]},
            {("a", "x", "1")},
            id="or-whole-query-still-applied",
        ),
        pytest.param(
            {"$or": [{"t": "a", "c": "x", "m": "1"}, {"v": 19}]},
            {("a", "x", "1"), ("a", "x", "19"), ("a", "y", "19"), ("b", "x", "19"), ("b", "y", "19")},
            id="or-with-an-unindexed-clause-scans",
        ),
        pytest.param(
            {"t": "a", "c": "x", "m": {"$in": ["1", 1]}, "v": 1}, {("a", "x", "1")}, id="in-and-more"
        ),
    ],
)
def test_or_and_in_lookups_match_what_a_scan_matches(collection, query, expected):
    _seed_two_conversations(collection)
    found = {(doc["t"], doc["c"], doc["m"]) for doc in collection.find(query)}
    assert found == expected
    assert collection.count_documents(query) == len(expected)


def test_string_ids_stay_unique_and_upserts_by_id_find_their_documents(collection):
    collection.insert_one({"_id": "k1", "t": "a", "c": "b", "m": "1"})
    with pytest.raises(DuplicateKeyError):
        collection.insert_one({"_id": "k1", "t": "a", "c": "b", "m": "2"})
    requests = [UpdateOne({"_id": f"k{n}"}, {"$addToSet": {"p": "x"}}, upsert=True) for n in range(1, 4)]
    result = collection.bulk_write(requests, ordered=False)
    assert (result.upserted_count, result.matched_count) == (2, 1)
    assert collection.find_one({"_id": "k1"})["p"] == ["x"]
    collection.insert_one({"_id": 1})
    with pytest.raises(DuplicateKeyError):  # numbers: mongoeco's own check, 1 equals 1.0
        collection.insert_one({"_id": 1.0})
