"""MongoDB converges to Firestore: removed fields leave on every kind of run, unchanged documents
are not written, and two source documents with one key never merge. The real DAG on the
Firestore emulator and a Mongo wire server (or TEST_MONGODB_URI)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from google.cloud import firestore
from pymongo import monitoring

from include.firestore_to_mongo.contract.mapping import MappingError, map_document
from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.keys import conflicts
from include.firestore_to_mongo.target import writer
from include.firestore_to_mongo.target.key_journal import MIGRATION_JOURNAL
from include.firestore_to_mongo.target.writer import same_bson
from tests.integration import edge_cases
from tests.integration.dag_runner import run_dag

pytestmark = pytest.mark.integration

FULL = {"mode": "full", "max_failures": 1, "batch_size": 2}
HAND_KEY = "added_by_hand"


class WriteCommands(monitoring.CommandListener):
    """Write commands sent to the migrated collections, by collection: what reached the server.
    Registered once for every client made afterwards (the DAG's included); records only
    while a test is listening."""

    def __init__(self) -> None:
        self.counts: Counter | None = None

    def started(self, event) -> None:
        if self.counts is None or event.command_name not in ("insert", "update", "delete"):
            return
        collection = event.command[event.command_name]
        if not collection.startswith("_firestore_to_mongo"):
            self.counts[collection] += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


WRITES = WriteCommands()
monitoring.register(WRITES)


@pytest.fixture
def writes():
    WRITES.counts = Counter()
    yield WRITES.counts
    WRITES.counts = None


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    edge_cases.seed(firestore_client)
    return firestore_client


def mapped_source(client: firestore.Client, name: str) -> dict[tuple, dict]:
    """What the contract makes of every source document of `name` now, by key."""
    spec = SPECS[name]
    source = (
        client.collection_group(spec.source_collection)
        if spec.is_group
        else client.collection(spec.source_collection)
    )
    mapped = {}
    for snapshot in source.stream():
        if ids_from_path(snapshot.reference.path, spec.path_shape) is None:
            continue
        try:
            document = map_document(spec, snapshot.reference.path, snapshot.to_dict())
        except MappingError:
            continue
        mapped[tuple(document.key.values())] = document.fields
    return mapped


def assert_converged(client, mongo_db, hand_keys: dict[str, tuple] | None = None) -> None:
    """Every MongoDB document holds exactly its mapped source on the contract's keys, with
    the same BSON types; keys added by hand survive."""
    for name, spec in SPECS.items():
        expected = mapped_source(client, name)
        stored = {
            tuple(doc[field] for field in spec.key_fields): doc
            for doc in mongo_db[spec.target].find({}, {"_id": 0})
        }
        assert set(stored) == set(expected), name
        for key, fields in expected.items():
            contract = {k: v for k, v in stored[key].items() if spec.is_contract_key(k)}
            assert set(contract) == set(fields), (name, key)
            for field, value in fields.items():
                assert same_bson(contract[field], value), (name, key, field, contract[field], value)
        if hand_keys and name in hand_keys:
            assert stored[hand_keys[name]][HAND_KEY] == "kept", name


# One document per collection, and what is removed from it in Firestore.
REMOVALS = {
    "users": ("users/u1", ("email", "last_login"), ("u1",)),
    "digital_twins": ("digital_twins/t1", ("system_prompt_de", "files"), ("t1",)),
    "conversations": (
        "digital_twins/t1/conversations/shared",
        ("summary", "message_count"),
        ("t1", "shared"),
    ),
    # Without media, the message's type turns from "image" to "media".
    "messages": ("digital_twins/t1/conversations/shared/messages/m2", ("media",), ("t1", "shared", "m2")),
}


def add_hand_keys(mongo_db) -> dict[str, tuple]:
    keys = {}
    for name, (_, _, key) in REMOVALS.items():
        spec = SPECS[name]
        mongo_db[spec.target].update_one(
            dict(zip(spec.key_fields, key, strict=True)), {"$set": {HAND_KEY: "kept"}}
        )
        keys[name] = key
    return keys


def remove_fields(client, removals=REMOVALS, touch_cursor: bool = False) -> None:
    for path, fields, _ in removals.values():
        update = dict.fromkeys(fields, firestore.DELETE_FIELD)
        if touch_cursor and "/messages/" in path:
            update["timestamp"] = datetime.now(UTC)
        elif touch_cursor and path.endswith("conversations/shared"):
            update["updated_at"] = datetime.now(UTC)
        client.document(path).update(update)


def test_removed_fields_leave_mongodb_on_full_and_incremental_runs(seeded, mongo_db):
    assert run_dag(FULL).state == "success"
    hand_keys = add_hand_keys(mongo_db)
    remove_fields(seeded)

    full = run_dag(FULL)

    assert full.state == "success", full.task_states
    assert_converged(seeded, mongo_db, hand_keys)
    assert (
        mongo_db.avatar_conversations.find_one({"message_id": "m2", "digital_twin_id": "t1"})["type"]
        == "media"
    )
    for name in REMOVALS:
        assert full.counts(name)["updated"] == 1, name

    # Incremental: remove more, and move the cursors so the run sees the changes.
    later = {
        "users": ("users/u1", ("username",), ()),
        "digital_twins": ("digital_twins/t1", ("system_prompt_en",), ()),
        "conversations": ("digital_twins/t1/conversations/shared", ("created_at",), ()),
        "messages": ("digital_twins/t1/conversations/shared/messages/m2", ("role",), ()),
    }
    remove_fields(seeded, later, touch_cursor=True)

    incremental = run_dag({"mode": "incremental", "lookback_minutes": 0, "max_failures": 1})

    assert incremental.state == "success", incremental.task_states
    assert_converged(seeded, mongo_db, hand_keys)
    for name in REMOVALS:
        assert incremental.counts(name)["mode"] == "incremental", name
        assert incremental.counts(name)["updated"] == 1, name


def test_removed_fields_leave_mongodb_after_a_resumed_run(seeded, mongo_db, monkeypatch):
    assert run_dag(FULL).state == "success"
    hand_keys = add_hand_keys(mongo_db)
    remove_fields(seeded)
    original_write = writer.UpsertWriter.write
    calls = Counter()

    def dies_on_second_batch(self, documents):
        calls[self.spec.name] += 1
        if calls[self.spec.name] == 2:
            raise RuntimeError("worker killed")
        return original_write(self, documents)

    monkeypatch.setattr(writer.UpsertWriter, "write", dies_on_second_batch)

    result = run_dag(FULL | {"batch_size": 1, "partitions": 1})

    assert result.state == "success", result.task_states
    assert all(result.counts(name)["resumed"] for name in REMOVALS)
    assert_converged(seeded, mongo_db, hand_keys)


def test_removed_fields_leave_mongodb_after_a_partitioned_run(seeded, mongo_db):
    for twin in ("t3", "t4", "t5"):
        seeded.document(f"digital_twins/{twin}/conversations/c/messages/m").set(
            {"content": twin, "media": []}
        )
    assert run_dag(FULL | {"partitions": 4}).state == "success"
    hand_keys = add_hand_keys(mongo_db)
    remove_fields(seeded)
    seeded.document("digital_twins/t4/conversations/c/messages/m").update({"media": firestore.DELETE_FIELD})

    result = run_dag(FULL | {"partitions": 4})

    assert result.state == "success", result.task_states
    assert result.counts("messages")["partitions"] > 1
    assert_converged(seeded, mongo_db, hand_keys)


def test_a_rerun_without_source_changes_writes_nothing(seeded, mongo_db, writes):
    assert run_dag(FULL | {"partitions": 4}).state == "success"
    assert set(writes) == set(edge_cases.TARGETS)  # the listener sees the DAG's writes
    writes.clear()

    again = run_dag(FULL | {"partitions": 4})

    assert again.state == "success", again.task_states
    assert writes == Counter()
    for name, (read, failed, _) in edge_cases.READ_FAILED_WARNINGS.items():
        figures = again.counts(name)
        assert (figures["inserted"], figures["updated"], figures["unchanged"]) == (0, 0, read - failed), name


# --- key conflicts ---------------------------------------------------------------------

CONFLICTS = {
    # Two users with one user_id: users/a wins (neither owns the key; smaller path).
    "users/a": {"user_id": "same", "username": "A", "email": "a@a"},
    "users/b": {"user_id": "same", "username": "B", "last_login": "2024-01-01T00:00:00Z"},
    # A message naming its sibling's doc id: the sibling owns the key and wins.
    "digital_twins/t1/conversations/shared/messages/m0": {
        "message_id": "m1",
        "content": "impostor",
        "media": [],
    },
}
WINNERS = {
    "users": ({"user_id": "same"}, {"user_id": "same", "username": "A", "email": "a@a"}),
    "avatar_conversations": (
        {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m1"},
        {
            "message_id": "m1",
            "digital_twin_id": "t1",
            "conversation_id": "shared",
            "sender": "user",
            "message": "hello",
            "timestamp": edge_cases.utc(2024, 3, 1, 10, 20, 30, 123000),
            "type": "text",
        },
    ),
}


@pytest.fixture
def conflicting(seeded):
    for path, data in CONFLICTS.items():
        seeded.document(path).set(data)
    return seeded


def assert_winners(mongo_db) -> None:
    for target, (key, document) in WINNERS.items():
        (found,) = mongo_db[target].find(key, {"_id": 0})  # one document, no mix of two sources
        assert found == document, target


@pytest.mark.parametrize(
    "conf",
    [
        pytest.param({"batch_size": 1, "partitions": 1}, id="pages-of-1"),
        pytest.param({"batch_size": 500, "partitions": 1}, id="one-page"),
        pytest.param({"batch_size": 1, "partitions": 4}, id="pages-of-1-4-partitions"),
    ],
)
def test_key_conflicts_are_named_counted_and_won_by_the_same_document(conflicting, mongo_db, conf):
    result = run_dag({"mode": "full", "max_failures": 5} | conf)

    assert result.state == "success", result.task_states
    users, messages = result.counts("users"), result.counts("messages")
    assert (users["conflicts"], messages["conflicts"]) == (1, 1)
    assert users["failed"] == 2  # users/bad, and the losing users/b
    assert (
        'users/b: key conflict: {"user_id": "same"} is also the key of users/a, which is migrated instead'
        in users["failed_examples"]
    )
    assert messages["failed_examples"] == [
        "digital_twins/t1/conversations/shared/messages/m0: key conflict: "
        '{"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m1"} is also the key of '
        "digital_twins/t1/conversations/shared/messages/m1, which is migrated instead"
    ]
    assert_winners(mongo_db)
    # The run's key journal is gone with it.
    assert mongo_db[MIGRATION_JOURNAL].count_documents({}) == 0


def test_key_conflicts_count_as_failures(conflicting, mongo_db):
    result = run_dag({"mode": "full", "max_failures": 1})

    assert result.task_states["users_done"] == "failed"  # users/bad and users/b: 2 > 1
    assert result.task_states["messages_done"] == "success"
    assert_winners(mongo_db)


def test_a_conflict_across_two_partitions_of_an_incremental_run(seeded, mongo_db):
    assert run_dag(FULL).state == "success"
    now = datetime.now(UTC)
    hour_ago = now - timedelta(hours=1)
    # The loser is read by the first time window, the winner by the last one.
    seeded.document("digital_twins/t1/conversations/shared/messages/zz").set(
        {"message_id": "m1", "content": "impostor", "timestamp": hour_ago}
    )
    seeded.document("digital_twins/t1/conversations/shared/messages/m1").update({"timestamp": now})

    result = run_dag(
        {"mode": "incremental", "since": (hour_ago - timedelta(seconds=1)).isoformat(), "partitions": 4}
        | {"collections": ["messages"]}
    )

    assert result.state == "failed"  # max_failures 0: the conflict fails the collection
    plan = result.xcoms["messages_plan"]
    assert [work["partition"]["method"] for work in plan] == ["time windows"] * 4
    figures = result.counts("messages")
    assert (figures["conflicts"], figures["read"]) == (1, 2)
    (found,) = mongo_db.avatar_conversations.find({"digital_twin_id": "t1", "message_id": "m1"}, {"_id": 0})
    assert found["message"] == "hello"


def test_a_loser_written_before_its_partition_heard_of_the_winner_is_overwritten(
    conflicting, mongo_db, monkeypatch
):
    # Partitions side by side can each think they hold the best claim; simulate the
    # worst case, a guard that lets every document through, and the done task still
    # leaves the winner.
    original = conflicts.ConflictGuard.winners

    def lets_everything_through(self, batch, others=()):
        original(self, batch, others)
        return batch

    monkeypatch.setattr(conflicts.ConflictGuard, "winners", lets_everything_through)

    result = run_dag({"mode": "full", "max_failures": 5, "batch_size": 1, "partitions": 1})

    assert result.state == "success", result.task_states
    assert_winners(mongo_db)


def test_a_dry_run_reports_the_conflicts_it_sees_and_writes_nothing(conflicting, mongo_db):
    result = run_dag({"mode": "full", "max_failures": 5, "dry_run": True, "partitions": 1})

    assert result.state == "success", result.task_states
    assert (result.counts("users")["conflicts"], result.counts("messages")["conflicts"]) == (1, 1)
    assert mongo_db.list_collection_names() == []
