"""Unit tests for include.firestore_to_mongo.contract.mapping and .specs: the mapping contract, rule by rule."""

from __future__ import annotations

from datetime import UTC, datetime

import bson
import google.auth.credentials
import pytest
from bson.binary import Binary
from google.api_core.datetime_helpers import DatetimeWithNanoseconds
from google.cloud import firestore
from google.cloud.firestore_v1 import GeoPoint

from include.firestore_to_mongo.contract.mapping import (
    MAX_BSON_SIZE,
    MappedDocument,
    MappingError,
    map_document,
    message_type,
)
from include.firestore_to_mongo.contract.specs import (
    COLLECTION_NAMES,
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    SPECS,
    USERS,
    CollectionSpec,
)

CLIENT = firestore.Client(project="p", credentials=google.auth.credentials.AnonymousCredentials())
TWIN_REF = CLIENT.document("digital_twins/abc")
CONV_REF = CLIENT.document("digital_twins/t1/conversations/c1")
TS = DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=123_456_789, tzinfo=UTC)
TS_MS = datetime(2024, 3, 5, 10, 20, 30, 123000, tzinfo=UTC)
T0 = datetime(2024, 3, 5, 10, 20, 30, tzinfo=UTC)  # == epoch 1709634030

USER_PATH = "users/u1"
TWIN_PATH = "digital_twins/t1"
CONV_PATH = "digital_twins/t1/conversations/c1"
MSG_PATH = "digital_twins/t1/conversations/c1/messages/m1"


# --- specs: the contract as data ---------------------------------------------


def test_spec_registry() -> None:
    assert COLLECTION_NAMES == ("users", "digital_twins", "conversations", "messages")
    assert SPECS == {
        "users": USERS,
        "digital_twins": DIGITAL_TWINS,
        "conversations": CONVERSATIONS,
        "messages": MESSAGES,
    }


@pytest.mark.parametrize(
    ("spec", "source", "is_group", "target", "key_fields"),
    [
        pytest.param(USERS, "users", False, "users", ("user_id",), id="users"),
        pytest.param(
            DIGITAL_TWINS, "digital_twins", False, "digital_twins", ("digital_twin_id",), id="twins"
        ),
        pytest.param(
            CONVERSATIONS,
            "conversations",
            True,
            "conversations",
            ("digital_twin_id", "conversation_id"),
            id="conversations",
        ),
        pytest.param(
            MESSAGES,
            "messages",
            True,
            "avatar_conversations",
            ("digital_twin_id", "conversation_id", "message_id"),
            id="messages",
        ),
    ],
)
def test_spec_sources_and_targets(
    spec: CollectionSpec, source: str, is_group: bool, target: str, key_fields: tuple[str, ...]
) -> None:
    assert (spec.source_collection, spec.is_group, spec.target, spec.key_fields) == (
        source,
        is_group,
        target,
        key_fields,
    )


# --- map_document: the field contract ----------------------------------------

FIELD_CASES = [
    # users
    pytest.param(
        USERS,
        USER_PATH,
        {
            "user_id": "U-own",
            "username": "ada",
            "email": "ada@example.com",
            "created_at": TS,
            "last_login": "2024-03-05T12:20:30+02:00",
            "currently_logged_in": True,
            "digital_twins": [TWIN_REF, "t2"],
            "last_used_digital_twin": TWIN_REF,
            "password": "secret",
            "displayName": "Ada",
        },
        {
            "user_id": "U-own",
            "username": "ada",
            "email": "ada@example.com",
            "created_at": TS_MS,
            "last_login": T0,
            "currently_logged_in": True,
            "digital_twins": ["digital_twins/abc", "t2"],
            "last_used_digital_twin": "digital_twins/abc",
        },
        id="users-all-listed-fields-unlisted-dropped",
    ),
    pytest.param(USERS, USER_PATH, {}, {"user_id": "u1"}, id="users-empty-doc-no-defaults"),
    pytest.param(USERS, USER_PATH, {"user_id": None}, {"user_id": "u1"}, id="users-id-null-uses-doc-id"),
    pytest.param(USERS, USER_PATH, {"user_id": ""}, {"user_id": "u1"}, id="users-id-empty-uses-doc-id"),
    pytest.param(USERS, USER_PATH, {"user_id": 42}, {"user_id": 42}, id="users-id-int-kept"),
    pytest.param(USERS, USER_PATH, {"user_id": 0}, {"user_id": 0}, id="users-id-zero-is-not-empty"),
    pytest.param(USERS, USER_PATH, {"user_id": " "}, {"user_id": " "}, id="users-id-blank-is-not-empty"),
    pytest.param(
        USERS,
        USER_PATH,
        {"username": None, "email": None, "created_at": None, "last_login": None, "digital_twins": None},
        {
            "user_id": "u1",
            "username": None,
            "email": None,
            "created_at": None,
            "last_login": None,
            "digital_twins": None,
        },
        id="users-nulls-copied-as-null",
    ),
    pytest.param(
        USERS,
        USER_PATH,
        {"created_at": 1709634030, "last_login": 1709634030123},
        {
            "user_id": "u1",
            "created_at": T0,
            "last_login": datetime(2024, 3, 5, 10, 20, 30, 123000, tzinfo=UTC),
        },
        id="users-epoch-seconds-and-ms",
    ),
    pytest.param(
        USERS,
        USER_PATH,
        {
            "created_at": {"_seconds": 1709634030, "_nanoseconds": 5_000_000},
            "last_login": {"seconds": 1709634030, "nanos": 999_999},
        },
        {"user_id": "u1", "created_at": datetime(2024, 3, 5, 10, 20, 30, 5000, tzinfo=UTC), "last_login": T0},
        id="users-seconds-maps",
    ),
    pytest.param(
        USERS,
        USER_PATH,
        {"created_at": "Tue, 05 Mar 2024 10:20:30 GMT", "last_login": "2024-03-05T10:20:30"},
        {"user_id": "u1", "created_at": T0, "last_login": T0},
        id="users-free-form-and-naive-iso",
    ),
    pytest.param(
        USERS,
        USER_PATH,
        {"username": "2024-03-05T10:20:30Z", "email": "1709634030", "currently_logged_in": 1709634030},
        {
            "user_id": "u1",
            "username": "2024-03-05T10:20:30Z",
            "email": "1709634030",
            "currently_logged_in": 1709634030,
        },
        id="users-non-timestamp-fields-not-parsed",
    ),
    pytest.param(
        USERS,
        USER_PATH,
        {"digital_twins": [{"ref": TWIN_REF, "added": TS, "at": GeoPoint(1.5, -2.5), "blob": b"\x01"}]},
        {
            "user_id": "u1",
            "digital_twins": [
                {
                    "ref": "digital_twins/abc",
                    "added": TS_MS,
                    "at": {"latitude": 1.5, "longitude": -2.5},
                    "blob": Binary(b"\x01"),
                }
            ],
        },
        id="users-nested-firestore-values-converted",
    ),
    # digital_twins
    pytest.param(
        DIGITAL_TWINS,
        TWIN_PATH,
        {
            "user_id": "u1",
            "name": "Twin",
            "description": None,
            "created_at": "2024-03-05",
            "icon": "🤖",
            "reference_audio": b"RIFF",
            "files": [{"name": "a.pdf", "uploaded": TS}],
            "default_conversation": CONV_REF,
            "system_prompt_en": "Be nice.",
            "system_prompt_de": "Sei nett.",
            "system_prompt_": "bare prefix",
            "system_prompt": "no trailing underscore",
            "systemPrompt_en": "camel case",
            "owner": "u9",
            "updated_at": TS,
        },
        {
            "digital_twin_id": "t1",
            "user_id": "u1",
            "name": "Twin",
            "description": None,
            "created_at": datetime(2024, 3, 5, tzinfo=UTC),
            "icon": "🤖",
            "reference_audio": Binary(b"RIFF"),
            "files": [{"name": "a.pdf", "uploaded": TS_MS}],
            "default_conversation": "digital_twins/t1/conversations/c1",
            "system_prompt_": "bare prefix",
            "system_prompt_de": "Sei nett.",
            "system_prompt_en": "Be nice.",
        },
        id="twins-all-listed-fields-and-prompt-prefix",
    ),
    pytest.param(DIGITAL_TWINS, TWIN_PATH, {}, {"digital_twin_id": "t1"}, id="twins-empty-doc"),
    pytest.param(
        DIGITAL_TWINS, TWIN_PATH, {"digital_twin_id": None}, {"digital_twin_id": "t1"}, id="twins-id-null"
    ),
    pytest.param(
        DIGITAL_TWINS, TWIN_PATH, {"digital_twin_id": ""}, {"digital_twin_id": "t1"}, id="twins-id-empty"
    ),
    pytest.param(
        DIGITAL_TWINS,
        TWIN_PATH,
        {"digital_twin_id": "T-own"},
        {"digital_twin_id": "T-own"},
        id="twins-own-id",
    ),
    pytest.param(
        DIGITAL_TWINS,
        TWIN_PATH,
        {
            "system_prompt_created_at": "2024-03-05T10:20:30Z",
            "system_prompt_meta": {"at": TS, "ref": TWIN_REF},
        },
        {
            "digital_twin_id": "t1",
            "system_prompt_created_at": "2024-03-05T10:20:30Z",
            "system_prompt_meta": {"at": TS_MS, "ref": "digital_twins/abc"},
        },
        id="twins-prompt-values-converted-not-parsed",
    ),
    # conversations
    pytest.param(
        CONVERSATIONS,
        CONV_PATH,
        {
            "digital_twin_id": "other-twin",
            "summary": "2024-03-05T10:20:30Z",
            "created_at": TS,
            "updated_at": 1709634030.5,
            "message_count": 3,
            "title": "dropped",
            "user_id": "dropped",
        },
        {
            "conversation_id": "c1",
            "digital_twin_id": "t1",
            "summary": "2024-03-05T10:20:30Z",
            "created_at": TS_MS,
            "updated_at": datetime(2024, 3, 5, 10, 20, 30, 500000, tzinfo=UTC),
            "message_count": 3,
        },
        id="conversations-twin-from-path-summary-stays-string",
    ),
    pytest.param(
        CONVERSATIONS,
        CONV_PATH,
        {},
        {"conversation_id": "c1", "digital_twin_id": "t1"},
        id="conversations-empty-doc",
    ),
    pytest.param(
        CONVERSATIONS,
        CONV_PATH,
        {"conversation_id": None, "digital_twin_id": None, "message_count": None},
        {"conversation_id": "c1", "digital_twin_id": "t1", "message_count": None},
        id="conversations-null-ids",
    ),
    pytest.param(
        CONVERSATIONS,
        CONV_PATH,
        {"conversation_id": "C-own", "digital_twin_id": ""},
        {"conversation_id": "C-own", "digital_twin_id": "t1"},
        id="conversations-own-id-kept-twin-from-path",
    ),
    # messages → avatar_conversations
    pytest.param(
        MESSAGES,
        MSG_PATH,
        {
            "role": "user",
            "content": "hi",
            "media": [],
            "timestamp": TS,
            "type": "image",
            "digital_twin_id": "other-twin",
            "conversation_id": "other-conv",
            "sender": "dropped",
            "message": "dropped",
            "extra": 1,
        },
        {
            "message_id": "m1",
            "digital_twin_id": "t1",
            "conversation_id": "c1",
            "sender": "user",
            "message": "hi",
            "media": [],
            "timestamp": TS_MS,
            "type": "text",
        },
        id="messages-renames-ids-from-path-type-computed",
    ),
    pytest.param(
        MESSAGES,
        MSG_PATH,
        {},
        {"message_id": "m1", "digital_twin_id": "t1", "conversation_id": "c1", "type": "media"},
        id="messages-empty-doc-type-media",
    ),
    pytest.param(
        MESSAGES,
        MSG_PATH,
        {"message_id": "", "role": None, "content": None, "media": None, "timestamp": None, "type": "text"},
        {
            "message_id": "m1",
            "digital_twin_id": "t1",
            "conversation_id": "c1",
            "sender": None,
            "message": None,
            "media": None,
            "timestamp": None,
            "type": "media",
        },
        id="messages-nulls-copied-type-ignores-source",
    ),
    pytest.param(
        MESSAGES,
        MSG_PATH,
        {
            "message_id": "M-own",
            "role": "assistant",
            "content": "",
            "media": [{"type": "image", "url": "gs://b/o.png", "at": TS}],
            "timestamp": "2024-03-05T10:20:30Z",
        },
        {
            "message_id": "M-own",
            "digital_twin_id": "t1",
            "conversation_id": "c1",
            "sender": "assistant",
            "message": "",
            "media": [{"type": "image", "url": "gs://b/o.png", "at": TS_MS}],
            "timestamp": T0,
            "type": "image",
        },
        id="messages-media-type-nested-timestamp",
    ),
    pytest.param(
        MESSAGES,
        MSG_PATH,
        {"content": "look", "media": {"type": "video"}, "timestamp": 1709634030000},
        {
            "message_id": "m1",
            "digital_twin_id": "t1",
            "conversation_id": "c1",
            "message": "look",
            "media": {"type": "video"},
            "timestamp": T0,
            "type": "video",
        },
        id="messages-media-not-a-list",
    ),
]


@pytest.mark.parametrize(("spec", "path", "data", "expected"), FIELD_CASES)
def test_map_document_fields(spec: CollectionSpec, path: str, data: dict, expected: dict) -> None:
    mapped = map_document(spec, path, data)
    assert mapped.fields == expected
    assert mapped.path == path
    assert mapped.warnings == []


def test_map_document_types_are_exact() -> None:
    """Equality alone can't tell a datetime subclass or bytes from the required types."""
    mapped = map_document(USERS, USER_PATH, {"created_at": TS, "digital_twins": [{"at": TS, "blob": b"x"}]})
    assert type(mapped.fields["created_at"]) is datetime
    assert mapped.fields["created_at"].tzinfo is UTC
    assert type(mapped.fields["digital_twins"][0]["at"]) is datetime
    assert type(mapped.fields["digital_twins"][0]["blob"]) is Binary


def test_map_document_does_not_mutate_source() -> None:
    data = {"role": "user", "content": "hi", "timestamp": TS, "media": [{"type": "image"}]}
    snapshot = {"role": "user", "content": "hi", "timestamp": TS, "media": [{"type": "image"}]}
    map_document(MESSAGES, MSG_PATH, data)
    assert data == snapshot


@pytest.mark.parametrize(
    ("spec", "path", "data", "expected_key"),
    [
        pytest.param(USERS, USER_PATH, {}, {"user_id": "u1"}, id="users"),
        pytest.param(USERS, USER_PATH, {"user_id": 7}, {"user_id": 7}, id="users-int-key"),
        pytest.param(
            DIGITAL_TWINS, TWIN_PATH, {"digital_twin_id": "T"}, {"digital_twin_id": "T"}, id="twins"
        ),
        pytest.param(
            CONVERSATIONS,
            CONV_PATH,
            {"digital_twin_id": "x"},
            {"digital_twin_id": "t1", "conversation_id": "c1"},
            id="conversations",
        ),
        pytest.param(
            MESSAGES,
            MSG_PATH,
            {"message_id": 3, "conversation_id": "x"},
            {"digital_twin_id": "t1", "conversation_id": "c1", "message_id": 3},
            id="messages",
        ),
    ],
)
def test_map_document_key(spec: CollectionSpec, path: str, data: dict, expected_key: dict) -> None:
    mapped = map_document(spec, path, data)
    assert mapped.key == expected_key
    # Index order matters for the upsert key.
    assert list(mapped.key) == list(spec.key_fields)


# --- unparseable timestamps: kept, with a warning ----------------------------


@pytest.mark.parametrize(
    ("spec", "path", "data", "field", "kept", "reasons"),
    [
        pytest.param(
            USERS,
            USER_PATH,
            {"created_at": "not a date"},
            "created_at",
            "not a date",
            ["created_at: unparseable date string 'not a date'"],
            id="users-created-at-garbage",
        ),
        pytest.param(
            USERS,
            USER_PATH,
            {"last_login": True},
            "last_login",
            True,
            ["last_login: a boolean is not a timestamp; kept unchanged"],
            id="users-last-login-bool",
        ),
        pytest.param(
            DIGITAL_TWINS,
            TWIN_PATH,
            {"created_at": [2024, 3, 5]},
            "created_at",
            [2024, 3, 5],
            ["created_at: unsupported type list; kept unchanged"],
            id="twins-created-at-list",
        ),
        pytest.param(
            CONVERSATIONS,
            CONV_PATH,
            {"updated_at": ""},
            "updated_at",
            "",
            ["updated_at: empty string; kept unchanged"],
            id="conversations-updated-at-empty",
        ),
        pytest.param(
            CONVERSATIONS,
            CONV_PATH,
            {"created_at": {"_seconds": "x"}},
            "created_at",
            {"_seconds": "x"},
            ["created_at: _seconds and _nanoseconds must be integers; kept unchanged"],
            id="conversations-created-at-bad-map",
        ),
        pytest.param(
            MESSAGES,
            MSG_PATH,
            {"timestamp": 10**17},
            "timestamp",
            10**17,
            ["timestamp: epoch 100000000000000000 milliseconds is out of the datetime range; kept unchanged"],
            id="messages-timestamp-overflow",
        ),
        pytest.param(
            MESSAGES,
            MSG_PATH,
            {"timestamp": "created on 2024-03-05"},
            "timestamp",
            "created on 2024-03-05",
            ["timestamp: unparseable date string"],
            id="messages-timestamp-not-fuzzy",
        ),
        *(
            pytest.param(
                MESSAGES,
                MSG_PATH,
                {"timestamp": partial},
                "timestamp",
                partial,
                [f"timestamp: date string {partial!r} does not state a full date"],
                id=f"messages-timestamp-partial-{partial}",
            )
            for partial in ("1", "Mon", "10:00", "March")
        ),
        pytest.param(
            USERS,
            USER_PATH,
            {"last_login": "9" * 900_000},
            "last_login",
            "9" * 900_000,
            ["last_login: too long to be a date (900000 characters); kept unchanged"],
            id="users-last-login-huge",
        ),
    ],
)
def test_unparseable_timestamp_kept_with_warning(
    spec: CollectionSpec, path: str, data: dict, field: str, kept: object, reasons: list[str]
) -> None:
    mapped = map_document(spec, path, data)
    assert mapped.fields[field] == kept
    assert type(mapped.fields[field]) is type(kept)
    assert len(mapped.warnings) == len(reasons)
    for warning, reason in zip(mapped.warnings, reasons, strict=True):
        assert warning.startswith(reason)


def test_each_bad_timestamp_gets_its_own_warning() -> None:
    mapped = map_document(
        USERS, USER_PATH, {"created_at": "nope", "last_login": False, "username": "not-a-date-but-fine"}
    )
    assert [warning.split(":")[0] for warning in mapped.warnings] == ["created_at", "last_login"]
    assert mapped.fields == {
        "user_id": "u1",
        "created_at": "nope",
        "last_login": False,
        "username": "not-a-date-but-fine",
    }


def test_timestamp_like_value_in_unlisted_field_gives_no_warning() -> None:
    mapped = map_document(USERS, USER_PATH, {"email": True, "deleted_at": "garbage"})
    assert mapped.warnings == []
    assert mapped.fields == {"user_id": "u1", "email": True}


# --- message type --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"content": "hi"}, "text", id="content-media-missing"),
        pytest.param({"content": "hi", "media": None}, "text", id="content-media-null"),
        pytest.param({"content": "hi", "media": []}, "text", id="content-media-empty-list"),
        pytest.param({"content": " "}, "text", id="blank-content-is-present"),
        pytest.param({"content": 0}, "text", id="zero-content-is-present"),
        pytest.param({"content": [], "media": []}, "text", id="empty-list-content-is-present"),
        pytest.param({"content": "hi", "media": [{"type": "image"}]}, "image", id="content-and-media"),
        pytest.param({"content": "", "media": []}, "media", id="empty-content-no-media"),
        pytest.param({"content": None}, "media", id="null-content-no-media"),
        pytest.param({}, "media", id="nothing"),
        pytest.param({"type": "text"}, "media", id="source-type-ignored"),
        pytest.param({"content": "hi", "type": "audio"}, "text", id="source-type-ignored-text"),
        pytest.param({"media": [{"type": "audio"}, {"type": "image"}]}, "audio", id="first-item-wins"),
        pytest.param({"media": [{"type": ""}]}, "media", id="empty-type"),
        pytest.param({"media": [{"type": None}]}, "media", id="null-type"),
        pytest.param({"media": [{"type": 5}]}, "media", id="non-string-type"),
        pytest.param({"media": [{"kind": "image"}]}, "media", id="no-type-key"),
        pytest.param({"media": ["image"]}, "media", id="item-not-a-map"),
        pytest.param({"media": [None, {"type": "image"}]}, "media", id="first-item-null"),
        pytest.param({"media": [{}, {"type": "image"}]}, "media", id="first-item-untyped-second-ignored"),
        pytest.param({"media": {"type": "video"}}, "video", id="non-list-map-is-one-item"),
        pytest.param({"content": "hi", "media": {"type": "video"}}, "video", id="content-and-non-list"),
        pytest.param({"content": "hi", "media": {}}, "media", id="content-and-empty-map-is-one-item"),
        pytest.param({"content": "hi", "media": "x.png"}, "media", id="content-and-string-media"),
    ],
)
def test_message_type(data: dict, expected: str) -> None:
    assert message_type(data) == expected
    assert map_document(MESSAGES, MSG_PATH, data).fields["type"] == expected


@pytest.mark.parametrize("spec", [USERS, DIGITAL_TWINS, CONVERSATIONS], ids=lambda spec: spec.name)
def test_type_only_derived_for_messages(spec: CollectionSpec) -> None:
    path = {"users": USER_PATH, "digital_twins": TWIN_PATH, "conversations": CONV_PATH}[spec.name]
    assert "type" not in map_document(spec, path, {"content": "hi", "type": "x"}).fields


# --- documents that can't be migrated ----------------------------------------


@pytest.mark.parametrize(
    ("spec", "path", "data", "message"),
    [
        # Paths outside the contract
        pytest.param(
            CONVERSATIONS,
            "users/u1/conversations/c1",
            {},
            "path is not of the form digital_twins/{id}/conversations/{id}",
            id="conversation-under-user",
        ),
        pytest.param(
            MESSAGES,
            "users/u1/conversations/c1/messages/m1",
            {},
            "path is not of the form digital_twins/{id}/conversations/{id}/messages/{id}",
            id="message-under-user",
        ),
        pytest.param(
            USERS, "digital_twins/t1", {}, "path is not of the form users/{id}", id="wrong-collection"
        ),
        pytest.param(USERS, "users/u1/extra/x", {}, "path is not of the form users/{id}", id="too-deep"),
        pytest.param(
            CONVERSATIONS, MSG_PATH, {}, "path is not of the form", id="message-path-as-conversation"
        ),
        # Key fields must be str or int
        pytest.param(
            USERS,
            USER_PATH,
            {"user_id": True},
            "user_id must be a string or an integer, not bool",
            id="key-bool-true",
        ),
        pytest.param(USERS, USER_PATH, {"user_id": False}, "not bool", id="key-bool-false"),
        pytest.param(
            USERS,
            USER_PATH,
            {"user_id": {"a": 1}},
            "user_id must be a string or an integer, not dict",
            id="key-map",
        ),
        pytest.param(USERS, USER_PATH, {"user_id": ["u"]}, "not list", id="key-list"),
        pytest.param(USERS, USER_PATH, {"user_id": 1.5}, "not float", id="key-float"),
        pytest.param(USERS, USER_PATH, {"user_id": TWIN_REF}, "not DocumentReference", id="key-reference"),
        pytest.param(
            DIGITAL_TWINS, TWIN_PATH, {"digital_twin_id": TS}, "digital_twin_id must be", id="key-timestamp"
        ),
        pytest.param(
            CONVERSATIONS,
            CONV_PATH,
            {"conversation_id": {"x": 1}},
            "conversation_id must be",
            id="conversation-key-map",
        ),
        pytest.param(
            MESSAGES,
            MSG_PATH,
            {"message_id": [1]},
            "message_id must be a string or an integer, not list",
            id="message-key-list",
        ),
        # Values with no BSON form
        pytest.param(
            USERS,
            USER_PATH,
            {"username": {1, 2}},
            "username: unsupported value type set",
            id="unsupported-value",
        ),
        pytest.param(
            DIGITAL_TWINS,
            TWIN_PATH,
            {"system_prompt_x": object()},
            "system_prompt_x: unsupported value type object",
            id="unsupported-prefixed-value",
        ),
        pytest.param(
            CONVERSATIONS, CONV_PATH, {"message_count": 2**63}, "not storable in BSON", id="int-over-64-bits"
        ),
        pytest.param(USERS, USER_PATH, {"user_id": 2**64}, "not storable in BSON", id="int-key-over-64-bits"),
        pytest.param(
            DIGITAL_TWINS, TWIN_PATH, {"files": [{1: "a"}]}, "not storable in BSON", id="non-string-map-key"
        ),
        pytest.param(
            DIGITAL_TWINS, TWIN_PATH, {"files": {"a\x00b": 1}}, "not storable in BSON", id="nul-in-map-key"
        ),
    ],
)
def test_mapping_errors(spec: CollectionSpec, path: str, data: dict, message: str) -> None:
    with pytest.raises(MappingError) as excinfo:
        map_document(spec, path, data)
    assert message in str(excinfo.value)


def _user_with_username_of_size(total: int) -> dict:
    overhead = len(bson.encode({"user_id": "u1", "username": ""}))
    return {"username": "x" * (total - overhead)}


def test_document_at_bson_limit_is_accepted() -> None:
    mapped = map_document(USERS, USER_PATH, _user_with_username_of_size(MAX_BSON_SIZE))
    assert len(bson.encode(mapped.fields)) == MAX_BSON_SIZE == 16 * 1024 * 1024


def test_document_over_bson_limit_is_rejected() -> None:
    with pytest.raises(MappingError, match=r"16777217 bytes is over MongoDB's 16777216-byte document limit"):
        map_document(USERS, USER_PATH, _user_with_username_of_size(MAX_BSON_SIZE + 1))


def test_mapping_error_is_value_error() -> None:
    assert issubclass(MappingError, ValueError)


def test_unencodable_string_is_mapping_error() -> None:
    with pytest.raises(MappingError, match="not storable in BSON"):
        map_document(USERS, USER_PATH, {"username": "\ud800"})


def test_mapped_document_defaults() -> None:
    document = MappedDocument(path="users/u1", key={"user_id": "u1"}, fields={"user_id": "u1"})
    assert document.warnings == []
    assert document.warnings is not MappedDocument(path="p", key={}, fields={}).warnings


@pytest.mark.parametrize("name", ["system_prompt_en.v2", "system_prompt_$x.y"])
def test_prefixed_key_that_set_would_misread_is_mapping_error(name: str) -> None:
    with pytest.raises(MappingError, match="can't be written by a MongoDB"):
        map_document(DIGITAL_TWINS, "digital_twins/t1", {name: "prompt"})
