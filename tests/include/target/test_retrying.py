"""include.firestore_to_mongo.target.retrying: every operation of a RetryingDatabase rides
out transient faults, cursors pick up part-way, repeated writes leave one result.

On the Mongo test server (or TEST_MONGODB_URI), behind a FaultProxy. Each fault is made
certain, never left to timing: the proxy goes down before the operation (or between two
batches of a cursor) and stays down until the Retrier first waits, so the operation meets
a dead connection and its retry a live one. A write whose answer is lost after it landed
is made by a pymongo method that writes, then raises once.
"""

from __future__ import annotations

import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pymongo
import pytest
from bson.codec_options import CodecOptions
from pymongo import ReadPreference, UpdateOne
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure
from pymongo.synchronous.collection import Collection

from bench.fault_proxy import FaultProxy
from include.firestore_to_mongo.target.faults import MONGODB, TargetUnavailableError, mongo_fault
from include.firestore_to_mongo.target.retrying import RetryingCollection, RetryingDatabase
from include.firestore_to_mongo.target.writer_lease import LEASE_ID, WRITERS, WriterTurns
from include.firestore_to_mongo.util.retry import Retrier

pytestmark = pytest.mark.integration

DOCUMENTS = [{"_id": number, "group": number % 10, "v": number} for number in range(500)]
BATCH = 50
CUT_AFTER = 120  # documents given before the outage: part-way through the third batch


class Proxied:
    """The proxy in front of the Mongo server, and a client on it."""

    def __init__(self, mongo_uri: str) -> None:
        parts = urllib.parse.urlsplit(mongo_uri)
        self.proxy = FaultProxy((parts.hostname, parts.port or 27017)).start()
        # The test server's credentials (TEST_MONGODB_URI), if any, on the proxy's address.
        netloc = f"{parts.netloc.rpartition('@')[0]}@" if "@" in parts.netloc else ""
        query = dict(urllib.parse.parse_qsl(parts.query)) | {"directConnection": "true"}
        uri = urllib.parse.urlunsplit(
            ("mongodb", netloc + self.proxy.address, "/", urllib.parse.urlencode(query), "")
        )
        # Short: pymongo's own retry of a read waits this long for a server the proxy refuses.
        self.client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=2000)

    def outage(self) -> None:
        """Drop every connection and refuse new ones, until the retrier first waits."""
        self.proxy.down()

    def sleep(self, seconds: float) -> None:
        """The retrier's wait: the first one ends the outage."""
        if self.proxy.is_down:
            self.proxy.up()
        time.sleep(seconds)

    def database(self, name: str, timeout_seconds: float = 30) -> RetryingDatabase:
        return RetryingDatabase(self.client, name, Retrier(MONGODB, timeout_seconds, sleep=self.sleep))

    def close(self) -> None:
        self.client.close()
        self.proxy.close()


@pytest.fixture
def proxied(mongo_uri) -> Iterator[Proxied]:
    running = Proxied(mongo_uri)
    yield running
    running.close()


@pytest.fixture
def database(proxied, mongo_db) -> RetryingDatabase:
    """The test's database, through the proxy, retrying for up to 30 s."""
    database = proxied.database(mongo_db.name)
    database.command("ping")  # connected before any outage
    return database


@pytest.fixture
def things(database, mongo_db) -> RetryingCollection:
    mongo_db.things.insert_many([dict(document) for document in DOCUMENTS])
    return database.things


@pytest.fixture
def few(database, mongo_db) -> RetryingCollection:
    mongo_db.things.insert_many([dict(document) for document in DOCUMENTS[:30]])
    return database.things


def by(*keys: tuple[str, int]) -> Callable[[dict], tuple]:
    return lambda document: tuple(document[key] * direction for key, direction in keys)


SORTED_BY_ID = sorted(DOCUMENTS, key=by(("_id", 1)))
BY_GROUP_DESCENDING = sorted(DOCUMENTS, key=by(("group", -1), ("_id", 1)))


# ----------------------------------------------------------------------------------------
# A cursor cut part-way gives every document exactly once, in order.

CURSORS = {
    "sorted by _id": (lambda things: things.find().sort("_id", 1), SORTED_BY_ID),
    "sorted by _id descending, as a find option": (
        lambda things: things.find(sort=[("_id", -1)]),
        SORTED_BY_ID[::-1],
    ),
    # The cursor orders by _id after group (ten documents in each group).
    "sorted by a non-unique field descending": (
        lambda things: things.find().sort([("group", -1)]),
        BY_GROUP_DESCENDING,
    ),
    "filtered, sorted by a non-unique field": (
        lambda things: things.find({"v": {"$gte": 100}}).sort("group", 1),
        sorted((d for d in DOCUMENTS if d["v"] >= 100), key=by(("group", 1), ("_id", 1))),
    ),
    # The cursor reads _id and group to resume by, and gives them out no more than asked.
    "a projection without _id and the sort field": (
        lambda things: things.find({}, {"_id": 0, "group": 0}).sort([("group", -1)]),
        [{"v": document["v"]} for document in BY_GROUP_DESCENDING],
    ),
    "a projection of another field": (
        lambda things: things.find({}, {"v": 1}).sort("group", -1),
        [{"_id": document["_id"], "v": document["v"]} for document in BY_GROUP_DESCENDING],
    ),
    "sorted, with skip and limit": (
        lambda things: things.find().sort([("group", -1)]).skip(30).limit(200),
        BY_GROUP_DESCENDING[30:230],
    ),
    "sorted, with skip and limit as find options": (
        lambda things: things.find({}, sort=[("_id", 1)], skip=30, limit=200),
        SORTED_BY_ID[30:230],
    ),
}


@pytest.mark.parametrize(("make", "expected"), CURSORS.values(), ids=CURSORS.keys())
def test_a_sorted_cursor_cut_part_way_gives_every_document_once_in_order(
    proxied, database, things, make, expected
):
    given = []
    for document in make(things).batch_size(BATCH):
        given.append(document)
        if len(given) == CUT_AFTER:
            proxied.outage()

    assert given == expected
    assert database.retrier.faults.count >= 1


@pytest.mark.parametrize(
    ("make", "expected_ids"),
    [
        (lambda things: things.find(), {d["_id"] for d in DOCUMENTS}),
        (lambda things: things.find({"group": {"$ne": 3}}), {d["_id"] for d in DOCUMENTS if d["group"] != 3}),
        (lambda things: things.find({}, {"v": 1}), {d["_id"] for d in DOCUMENTS}),
    ],
    ids=["everything", "filtered", "with a projection"],
)
def test_an_unsorted_cursor_cut_part_way_gives_every_document_once(
    proxied, database, things, make, expected_ids
):
    given = []
    for document in make(things).batch_size(BATCH):
        given.append(document)
        if len(given) == CUT_AFTER:
            proxied.outage()

    ids = [document["_id"] for document in given]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids
    assert all(document == DOCUMENTS[document["_id"]] for document in given if "group" in document)
    assert database.retrier.faults.count >= 1


# ----------------------------------------------------------------------------------------
# Operations meet an outage and ride it out.

OPERATIONS = {
    "find_one": lambda things: things.find_one({"_id": 7}) == DOCUMENTS[7],
    "find_one by _id, with a projection": lambda things: things.find_one(7, {"v": 1}) == {"_id": 7, "v": 7},
    "count_documents": lambda things: things.count_documents({"group": 3}) == 3,
    "aggregate": lambda things: list(things.aggregate([{"$match": {"_id": 7}}])) == [DOCUMENTS[7]],
    "insert_one": lambda things: (
        things.insert_one({"_id": "new"}) is not None and things.count_documents({"_id": "new"}) == 1
    ),
    "update_one": lambda things: (
        things.update_one({"_id": 7}, {"$set": {"v": -7}}) is not None
        and things.find_one({"_id": 7})["v"] == -7
    ),
    "delete_many": lambda things: (
        things.delete_many({"group": 3}) is not None and things.count_documents({}) == 27
    ),
}


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_an_operation_rides_out_an_outage(proxied, database, few, operation):
    proxied.outage()

    assert operation(few)
    assert database.retrier.faults.count >= 1


# ----------------------------------------------------------------------------------------
# Writes repeated after they landed leave exactly one result.


@pytest.fixture
def answer_lost_once(monkeypatch) -> Callable[[str], list]:
    """answer_lost_once("insert_many"): pymongo's method writes, then (the first time only)
    raises as if the connection closed before the answer came: the write landed, the
    caller cannot know."""

    def patch(name: str) -> list:
        real = getattr(Collection, name)
        calls = []

        def landed_then_lost(self, *args, **kwargs):
            calls.append(name)
            result = real(self, *args, **kwargs)
            if len(calls) == 1:
                raise AutoReconnect("connection closed")
            return result

        monkeypatch.setattr(Collection, name, landed_then_lost)
        return calls

    return patch


@pytest.mark.parametrize("ordered", [True, False], ids=["ordered", "unordered"])
def test_insert_many_repeated_after_it_landed_inserts_each_document_once(
    database, mongo_db, answer_lost_once, ordered
):
    calls = answer_lost_once("insert_many")
    database.things.insert_many(({"n": number} for number in range(20)), ordered=ordered)

    assert len(calls) == 2
    assert sorted(document["n"] for document in mongo_db.things.find()) == list(range(20))
    assert database.retrier.faults.count == 1


def test_insert_one_repeated_after_it_landed_inserts_once(database, mongo_db, answer_lost_once):
    calls = answer_lost_once("insert_one")
    document = {"n": 1}
    database.things.insert_one(document)

    assert len(calls) == 2
    assert list(mongo_db.things.find()) == [document]  # with the _id the driver gave it
    assert database.retrier.faults.count == 1


def test_upserts_repeated_after_they_landed_leave_the_same_documents(database, mongo_db, answer_lost_once):
    mongo_db.things.insert_one({"_id": 0, "n": -1})
    calls = answer_lost_once("bulk_write")
    database.things.bulk_write(
        [UpdateOne({"_id": number}, {"$set": {"n": number}}, upsert=True) for number in range(10)]
    )

    assert len(calls) == 2
    assert list(mongo_db.things.find().sort("_id")) == [{"_id": number, "n": number} for number in range(10)]
    assert database.retrier.faults.count == 1


def test_a_writer_lease_change_repeated_after_it_landed_reports_success_and_counts_once(
    database, mongo_db, answer_lost_once
):
    turns = WriterTurns(database)
    read = turns.read()
    calls = answer_lost_once("update_one")
    until = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    assert turns.change(read, {"$set": {"capture_until": until, "capture_holder": "capture/run-1"}})

    assert len(calls) == 2
    found = mongo_db[WRITERS].find_one({"_id": LEASE_ID})
    assert found["version"] == read["version"] + 1
    assert (found["capture_until"], found["capture_holder"]) == (until, "capture/run-1")
    assert database.retrier.faults.count == 1


# ----------------------------------------------------------------------------------------
# Errors that are not transient are raised at once, and the whole timeout gives up clearly.

NOT_TRANSIENT = {
    "a duplicate _id on the first try": (lambda things: things.insert_one({"_id": 7}), DuplicateKeyError),
    "find_one with a bad query": (lambda things: things.find_one({"$bogus": 1}), OperationFailure),
    "find with a bad query": (lambda things: list(things.find({"$bogus": 1}).sort("_id")), OperationFailure),
    "count_documents with a bad query": (
        lambda things: things.count_documents({"$bogus": 1}),
        OperationFailure,
    ),
    "update_one with a bad operator": (
        lambda things: things.update_one({"_id": 7}, {"$bogus": {"v": 1}}),
        OperationFailure,
    ),
}


@pytest.mark.parametrize(("operation", "error"), NOT_TRANSIENT.values(), ids=NOT_TRANSIENT.keys())
def test_an_error_that_is_not_transient_is_raised_at_once(database, few, operation, error):
    with pytest.raises(error):
        operation(few)
    assert database.retrier.faults.count == 0


def test_faults_for_the_whole_timeout_give_up_with_a_clear_error(proxied, mongo_db):
    database = RetryingDatabase(proxied.client, mongo_db.name, Retrier(MONGODB, timeout_seconds=2))
    database.command("ping")
    proxied.proxy.down()  # for good

    with pytest.raises(TargetUnavailableError) as raised:
        database.things.find_one({"_id": 7})

    message = str(raised.value)
    reason = mongo_fault(raised.value.__cause__)
    assert reason in {"connection closed by the server", "connection failed", "no server answered in time"}
    assert re.fullmatch(
        rf"MongoDB find_one on things: {reason}; gave up after \d+ tr(y|ies) \(timeout_seconds 2\)",
        message,
    ), message
    assert proxied.proxy.address not in message  # no address, no URI: the task's error adds where


# ----------------------------------------------------------------------------------------
# Every way to a collection gives one that retries.

COLLECTIONS = {
    "database[name]": lambda database: database["x"],
    "database.get_collection(name)": lambda database: database.get_collection("x"),
    "database.name": lambda database: database.x,
    "collection.with_options()": lambda database: database.x.with_options(
        read_preference=ReadPreference.PRIMARY_PREFERRED
    ),
}


@pytest.mark.parametrize("get", COLLECTIONS.values(), ids=COLLECTIONS.keys())
def test_every_way_to_a_collection_gives_one_that_retries(proxied, database, mongo_db, get):
    collection = get(database)
    assert isinstance(collection, RetryingCollection)
    assert (collection.name, collection.database) == ("x", database)

    proxied.outage()
    collection.insert_one({"_id": 1})

    assert mongo_db.x.find_one() == {"_id": 1}
    assert database.retrier.faults.count >= 1


def test_with_options_keeps_the_options(database):
    codec_options = CodecOptions(tz_aware=False)
    collection = database.x.with_options(
        codec_options=codec_options, read_preference=ReadPreference.SECONDARY_PREFERRED
    )
    assert isinstance(collection, RetryingCollection)
    assert collection.codec_options == codec_options
    assert collection.read_preference == ReadPreference.SECONDARY_PREFERRED
    assert collection.write_concern == database.x.write_concern
    assert collection.retrier is database.retrier
