"""A small Firestore dataset with the edge cases the mapping contract names, and the
Mongo documents it must become."""

from __future__ import annotations

from datetime import UTC, datetime

from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore

T1 = DatetimeWithNanoseconds(2024, 3, 1, 10, 20, 30, 123456, tzinfo=UTC)
T2 = DatetimeWithNanoseconds(2024, 3, 2, 8, 0, 0, 999999, tzinfo=UTC)


def seed(client: firestore.Client) -> None:
    """Write the dataset; every document path below is one the tests check."""
    docs = {
        # users
        "users/u1": {
            "username": "ada",
            "email": "ada@example.com",
            "created_at": "2024-01-02T03:04:05.678901",  # ISO, no offset: UTC
            "last_login": T1,
            "currently_logged_in": True,
            "digital_twins": [client.document("digital_twins/t1")],
            "last_used_digital_twin": client.document("digital_twins/t1"),
            "password_hash": "dropped",
        },
        "users/u2": {
            "user_id": "custom-2",
            "email": None,
            "created_at": 1_700_000_000_123,  # epoch milliseconds
            "last_login": "not a date",  # kept unchanged, with a warning
        },
        "users/u3": {"user_id": "", "created_at": {"_seconds": 1_700_000_000, "_nanoseconds": 987_654_321}},
        "users/bad": {"user_id": {"not": "a key"}, "username": "unmigratable"},
        # Out of scope: conversations and messages under a user.
        "users/u1/conversations/c1": {"summary": "not migrated"},
        "users/u1/conversations/c1/messages/m1": {"role": "user", "content": "not migrated"},
        # digital_twins
        "digital_twins/t1": {
            "user_id": "u1",
            "name": "Twin one",
            "created_at": "March 5, 2024 10:00 PM",  # free-form: dateutil.parser.parse
            "icon": b"\x89PNG",
            "files": [{"name": "cv.pdf", "where": firestore.GeoPoint(52.5, 13.4), "at": T2}],
            "system_prompt_en": "Be kind.",
            "system_prompt_de": "Sei nett.",
            "default_conversation": "shared",
            "secret_key": "dropped",
        },
        "digital_twins/t2": {"digital_twin_id": None, "name": "Twin two", "created_at": 1_700_000_000.5678},
        # conversations: one id under two twins, and one under a twin that doesn't exist
        "digital_twins/t1/conversations/shared": {
            "digital_twin_id": "stale",  # the path wins
            "summary": "first",
            "created_at": T1,
            "updated_at": {"seconds": 1_700_000_100, "nanos": 5_000_000},
            "message_count": 2,
        },
        "digital_twins/t2/conversations/shared": {"summary": "second", "updated_at": None},
        "digital_twins/ghost/conversations/orphan": {"summary": "parent missing"},
        # messages: one id under two conversations
        "digital_twins/t1/conversations/shared/messages/m1": {
            "role": "user",
            "content": "hello",
            "timestamp": T1,
        },
        "digital_twins/t1/conversations/shared/messages/m2": {
            "role": "assistant",
            "content": "",
            "media": [{"type": "image", "url": "https://x/y.png"}],
            "timestamp": "2024-05-01T12:00:00+02:00",
        },
        "digital_twins/t2/conversations/shared/messages/m1": {
            "role": "assistant",
            "content": "see this",
            "media": {"url": "https://x/a.mp3"},  # not a list, no type
            "timestamp": 1_700_000_000,
        },
        "digital_twins/ghost/conversations/orphan/messages/m9": {"message_id": "own-id", "content": None},
    }
    batch = client.batch()
    for path, data in docs.items():
        batch.set(client.document(path), data)
    batch.commit()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


EXPECTED = {
    "users": [
        {
            "user_id": "u1",
            "username": "ada",
            "email": "ada@example.com",
            "created_at": utc(2024, 1, 2, 3, 4, 5, 678000),
            "last_login": utc(2024, 3, 1, 10, 20, 30, 123000),
            "currently_logged_in": True,
            "digital_twins": ["digital_twins/t1"],
            "last_used_digital_twin": "digital_twins/t1",
        },
        {
            "user_id": "custom-2",
            "email": None,
            "created_at": utc(2023, 11, 14, 22, 13, 20, 123000),
            "last_login": "not a date",
        },
        {"user_id": "u3", "created_at": utc(2023, 11, 14, 22, 13, 20, 987000)},
    ],
    "digital_twins": [
        {
            "digital_twin_id": "t1",
            "user_id": "u1",
            "name": "Twin one",
            "created_at": utc(2024, 3, 5, 22, 0),
            "icon": b"\x89PNG",  # BSON binary, subtype 0: pymongo reads it back as bytes
            "files": [
                {
                    "name": "cv.pdf",
                    "where": {"latitude": 52.5, "longitude": 13.4},
                    "at": utc(2024, 3, 2, 8, 0, 0, 999000),
                }
            ],
            "system_prompt_en": "Be kind.",
            "system_prompt_de": "Sei nett.",
            "default_conversation": "shared",
        },
        {"digital_twin_id": "t2", "name": "Twin two", "created_at": utc(2023, 11, 14, 22, 13, 20, 567000)},
    ],
    "conversations": [
        {
            "conversation_id": "shared",
            "digital_twin_id": "t1",
            "summary": "first",
            "created_at": utc(2024, 3, 1, 10, 20, 30, 123000),
            "updated_at": utc(2023, 11, 14, 22, 15, 0, 5000),
            "message_count": 2,
        },
        {"conversation_id": "shared", "digital_twin_id": "t2", "summary": "second", "updated_at": None},
        {"conversation_id": "orphan", "digital_twin_id": "ghost", "summary": "parent missing"},
    ],
    "avatar_conversations": [
        {
            "message_id": "m1",
            "digital_twin_id": "t1",
            "conversation_id": "shared",
            "sender": "user",
            "message": "hello",
            "timestamp": utc(2024, 3, 1, 10, 20, 30, 123000),
            "type": "text",
        },
        {
            "message_id": "m2",
            "digital_twin_id": "t1",
            "conversation_id": "shared",
            "sender": "assistant",
            "message": "",
            "media": [{"type": "image", "url": "https://x/y.png"}],
            "timestamp": utc(2024, 5, 1, 10, 0),
            "type": "image",
        },
        {
            "message_id": "m1",
            "digital_twin_id": "t2",
            "conversation_id": "shared",
            "sender": "assistant",
            "message": "see this",
            "media": {"url": "https://x/a.mp3"},
            "timestamp": utc(2023, 11, 14, 22, 13, 20),
            "type": "media",
        },
        {
            "message_id": "own-id",
            "digital_twin_id": "ghost",
            "conversation_id": "orphan",
            "message": None,
            "type": "media",
        },
    ],
}

# Per collection task: (read, failed, warnings) for the dataset above.
READ_FAILED_WARNINGS = {
    "users": (4, 1, 1),
    "digital_twins": (2, 0, 0),
    "conversations": (3, 0, 0),
    "messages": (4, 0, 0),
}
BAD_DOCUMENT = "users/bad"


TARGETS = ("users", "digital_twins", "conversations", "avatar_conversations")
KEYS = {
    "users": ("user_id",),
    "digital_twins": ("digital_twin_id",),
    "conversations": ("digital_twin_id", "conversation_id"),
    "avatar_conversations": ("digital_twin_id", "conversation_id", "message_id"),
}


def contents(mongo_db, target: str) -> dict[tuple, dict]:
    """The collection's documents without `_id`, by upsert key; fails on a duplicate key."""
    found: dict[tuple, dict] = {}
    for document in mongo_db[target].find({}, {"_id": 0}):
        key = tuple(document[name] for name in KEYS[target])
        assert key not in found, f"{target}: duplicate {key}"
        found[key] = document
    return found


def data_collections(mongo_db) -> list[str]:
    """The collections holding migrated data, without the run-state ones."""
    return sorted(
        name for name in mongo_db.list_collection_names() if not name.startswith("_firestore_to_mongo")
    )


def expected(target: str) -> dict[tuple, dict]:
    return {tuple(doc[name] for name in KEYS[target]): doc for doc in EXPECTED[target]}
