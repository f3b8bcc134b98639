"""include.firestore_to_mongo.target.writer: the comparison rule by rule, then the writer and the
dry-run preview against the Mongo wire server (or TEST_MONGODB_URI), watching the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pymongo
import pytest
from bson import Int64
from bson.binary import Binary
from pymongo import monitoring

from include.firestore_to_mongo.contract.mapping import map_document
from include.firestore_to_mongo.contract.specs import DIGITAL_TWINS, MESSAGES, USERS
from include.firestore_to_mongo.target.writer import (
    INSERT,
    UNCHANGED,
    UPDATE,
    DryRunPreview,
    UpsertWriter,
    compare,
    same_bson,
)

MOMENT = datetime(2024, 3, 5, 10, 20, 30, 123000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        ("a", "a", True),
        ("a", "b", False),
        (2, 2, True),
        (2, 2.0, False),
        (1, True, False),
        (0, False, False),
        (2**40, 2**40, True),
        (5, Int64(5), False),  # int32 and int64 are different BSON types
        (1.5, 1.5, True),
        (0.0, -0.0, False),
        (None, None, True),
        (None, "", False),
        (MOMENT, MOMENT, True),
        (MOMENT, MOMENT.replace(tzinfo=None), True),  # drivers read naive UTC back
        (MOMENT, MOMENT + timedelta(milliseconds=1), False),
        (MOMENT, MOMENT.isoformat(), False),
        ({"a": 1, "b": 2}, {"a": 1, "b": 2}, True),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),  # MongoDB compares field order too
        ([1, "x"], [1, "x"], True),
        ([1, "x"], ["x", 1], False),
        (b"\x89PNG", Binary(b"\x89PNG"), True),
        (b"\x89PNG", Binary(b"\x89PNG", 5), False),
    ],
)
def test_same_bson(left, right, same: bool) -> None:
    assert same_bson(left, right) is same
    assert same_bson(right, left) is same


def user(**data):
    return map_document(USERS, "users/u1", data)


@pytest.mark.parametrize(
    ("mapped", "stored", "kind", "changed", "removed"),
    [
        (user(username="ada"), None, INSERT, ["user_id", "username"], []),
        (user(username="ada"), {"_id": 1, "user_id": "u1", "username": "ada"}, UNCHANGED, [], []),
        (user(username="ada"), {"user_id": "u1", "username": "bob"}, UPDATE, ["username"], []),
        (user(username="ada"), {"user_id": "u1"}, UPDATE, ["username"], []),
        # A key the source lost leaves MongoDB; keys outside the contract stay.
        (
            user(username="ada"),
            {"user_id": "u1", "username": "ada", "email": "a@a", "last_login": MOMENT, "crm_id": 7},
            UPDATE,
            [],
            ["email", "last_login"],
        ),
        # A null is a value, not a missing key.
        (user(email=None), {"user_id": "u1", "email": None}, UNCHANGED, [], []),
        (user(), {"user_id": "u1", "email": None}, UPDATE, [], ["email"]),
        (
            user(created_at=MOMENT),
            {"user_id": "u1", "created_at": MOMENT.replace(tzinfo=None)},
            UNCHANGED,
            [],
            [],
        ),
        (
            user(currently_logged_in=1),
            {"user_id": "u1", "currently_logged_in": True},
            UPDATE,
            ["currently_logged_in"],
            [],
        ),
        # system_prompt_* belongs to the twins' contract only.
        (user(), {"user_id": "u1", "system_prompt_en": "x"}, UNCHANGED, [], []),
    ],
)
def test_compare(mapped, stored, kind: str, changed: list[str], removed: list[str]) -> None:
    change = compare(USERS, mapped, stored)
    assert (change.kind, change.changed, change.removed) == (kind, changed, removed)


def test_compare_removes_prompt_keys_and_the_message_type_it_can_only_find_in_mongo() -> None:
    twin = map_document(DIGITAL_TWINS, "digital_twins/t1", {"system_prompt_en": "Be kind."})
    stored = {
        "digital_twin_id": "t1",
        "system_prompt_en": "Be kind.",
        "system_prompt_de": "Sei nett.",
        "x.y": 1,
    }
    assert compare(DIGITAL_TWINS, twin, stored).removed == ["system_prompt_de"]

    message = map_document(MESSAGES, "digital_twins/t/conversations/c/messages/m", {"content": "hi"})
    stored = message.fields | {"type": "image", "media": [{"type": "image"}]}
    change = compare(MESSAGES, message, stored)
    assert (change.kind, change.changed, change.removed) == (UPDATE, ["type"], ["media"])


def test_compare_leaves_names_an_update_cant_address() -> None:
    twin = map_document(DIGITAL_TWINS, "digital_twins/t1", {})
    stored = {"digital_twin_id": "t1", "system_prompt_a.b": "x", "system_prompt_$": "y"}
    # "a.b" would be read as a path into a nested document: left alone.
    assert compare(DIGITAL_TWINS, twin, stored).removed == ["system_prompt_$"]


# --- against a Mongo server ----------------------------------------------------------


class Writes(monitoring.CommandListener):
    """Counts the write commands a client sends: what really reached the server."""

    def __init__(self) -> None:
        self.commands: list[str] = []

    def started(self, event) -> None:
        if event.command_name in ("insert", "update", "delete"):
            self.commands.append(event.command_name)

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


@pytest.fixture
def watched(mongo_uri, mongo_db):
    """(collection through a client that records its write commands, the listener)."""
    listener = Writes()
    client = pymongo.MongoClient(mongo_uri, event_listeners=[listener], serverSelectionTimeoutMS=10_000)
    yield client[mongo_db.name]["users"], listener
    client.close()


def users(**by_id):
    return [map_document(USERS, f"users/{uid}", data) for uid, data in by_id.items()]


def test_writer_inserts_updates_and_leaves_unchanged_documents_alone(watched, mongo_db) -> None:
    collection, listener = watched
    writer = UpsertWriter(collection, USERS)
    writer.prepare()

    first = writer.write(users(u1={"username": "ada", "email": "a@a"}, u2={"username": "bob"}))
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"crm_id": 42}})
    stored_id = mongo_db.users.find_one({"user_id": "u1"})["_id"]
    listener.commands.clear()

    again = writer.write(users(u1={"username": "ada", "email": "a@a"}, u2={"username": "bob"}))

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert listener.commands == []  # nothing was sent to be written

    changed = writer.write(users(u1={"username": "ada"}, u2={"username": "bobby"}, u3={}))

    assert (changed.inserted, changed.updated, changed.unchanged) == (1, 2, 0)
    # One bulk write for the batch: the new document inserted, the others upserted by key
    # (the driver sends each kind as its own command).
    assert listener.commands == ["insert", "update"]
    u1 = mongo_db.users.find_one({"user_id": "u1"})
    assert u1 == {"_id": stored_id, "user_id": "u1", "username": "ada", "crm_id": 42}
    assert mongo_db.users.find_one({"user_id": "u2"}, {"_id": 0}) == {"user_id": "u2", "username": "bobby"}


def test_dry_run_preview_counts_what_the_writer_then_does(watched, mongo_db) -> None:
    collection, listener = watched
    writer = UpsertWriter(collection, USERS)
    writer.prepare()
    writer.write(users(u1={"username": "ada", "email": "a@a"}, u2={"username": "bob"}))
    listener.commands.clear()
    batch = users(u1={"username": "ada"}, u2={"username": "bob"}, u3={"username": "cy"})

    preview = DryRunPreview(collection, USERS).write(batch)

    assert listener.commands == []
    assert (preview.inserted, preview.updated, preview.unchanged) == (1, 1, 1)
    assert {change.document.path: change.kind for change in preview.changes} == {
        "users/u1": UPDATE,
        "users/u2": UNCHANGED,
        "users/u3": INSERT,
    }
    done = writer.write(batch)
    assert (done.inserted, done.updated, done.unchanged) == (1, 1, 1)


def test_dry_run_preview_creates_nothing(mongo_db) -> None:
    preview = DryRunPreview(mongo_db["users"], USERS)
    preview.prepare()
    assert preview.write(users(u1={})).inserted == 1
    assert mongo_db.list_collection_names() == []


def test_writer_compares_compound_keys(mongo_db) -> None:
    writer = UpsertWriter(mongo_db["avatar_conversations"], MESSAGES)
    writer.prepare()
    path = "digital_twins/t{}/conversations/c/messages/m"
    batch = [map_document(MESSAGES, path.format(n), {"content": "hi", "media": []}) for n in (1, 2)]
    assert writer.write(batch).inserted == 2
    again = [map_document(MESSAGES, path.format(n), {"content": "hi"}) for n in (1, 2)]
    outcome = writer.write(again)
    assert (outcome.updated, outcome.unchanged) == (2, 0)
    assert mongo_db.avatar_conversations.count_documents({"media": {"$exists": True}}) == 0
    assert writer.write(again).unchanged == 2


def test_a_batch_with_one_key_twice_is_refused(mongo_db) -> None:
    batch = [*users(u1={}), map_document(USERS, "users/other", {"user_id": "u1"})]
    with pytest.raises(ValueError, match="one key twice"):
        UpsertWriter(mongo_db["users"], USERS).write(batch)


def test_a_document_refused_by_mongo_is_named_and_the_rest_written(mongo_db) -> None:
    mongo_db.users.create_index("email", unique=True)
    writer = UpsertWriter(mongo_db["users"], USERS)
    writer.prepare()
    outcome = writer.write(users(u1={"email": "same"}, u2={"email": "same"}, u3={"email": "other"}))
    assert outcome.inserted == 2
    assert [path for path, _ in outcome.failures] == ["users/u2"]


def test_a_full_run_on_an_empty_collection_only_inserts(watched, mongo_db) -> None:
    collection, listener = watched
    writer = UpsertWriter(collection, USERS)
    writer.prepare()
    listener.commands.clear()

    outcome = writer.write(users(u1={"username": "ada"}, u2={}))

    assert (outcome.inserted, outcome.updated) == (2, 0)
    assert listener.commands == ["insert"]
    # The mapped documents are not changed by the driver's `_id`.
    assert all("_id" not in change.document.fields for change in outcome.changes)


def test_a_document_that_appears_after_the_comparison_is_upserted_not_lost(mongo_db) -> None:
    writer = UpsertWriter(mongo_db["users"], USERS)
    writer.prepare()
    compare = writer.changes

    def compare_then_another_writer_inserts(documents):
        changes = compare(documents)
        mongo_db.users.insert_one({"user_id": "u1", "username": "other", "crm_id": 7})
        return changes

    writer.changes = compare_then_another_writer_inserts

    outcome = writer.write(users(u1={"username": "ada"}, u2={"username": "bob"}))

    assert (outcome.inserted, outcome.updated, outcome.failures) == (1, 1, [])
    assert mongo_db.users.find_one({"user_id": "u1"}, {"_id": 0}) == {
        "user_id": "u1",
        "username": "ada",
        "crm_id": 7,
    }
    assert mongo_db.users.count_documents({}) == 2
