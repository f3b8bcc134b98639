"""Unit tests for include.firestore_to_mongo.contract.paths: which document paths are in scope, and their ids."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.paths import ids_from_path, path_from_ids
from include.firestore_to_mongo.contract.specs import CONVERSATIONS, DIGITAL_TWINS, MESSAGES, USERS

USERS_SHAPE = ("users", None)
TWINS_SHAPE = ("digital_twins", None)
CONVERSATIONS_SHAPE = ("digital_twins", None, "conversations", None)
MESSAGES_SHAPE = ("digital_twins", None, "conversations", None, "messages", None)


@pytest.mark.parametrize(
    ("path", "shape", "expected"),
    [
        # In scope
        pytest.param("users/u1", USERS_SHAPE, ("u1",), id="user"),
        pytest.param("digital_twins/t1", TWINS_SHAPE, ("t1",), id="twin"),
        pytest.param(
            "digital_twins/t1/conversations/c1", CONVERSATIONS_SHAPE, ("t1", "c1"), id="conversation"
        ),
        pytest.param(
            "digital_twins/t1/conversations/c1/messages/m1", MESSAGES_SHAPE, ("t1", "c1", "m1"), id="message"
        ),
        pytest.param(
            "digital_twins/T-9 x/conversations/c.1/messages/m_1",
            MESSAGES_SHAPE,
            ("T-9 x", "c.1", "m_1"),
            id="ids-with-odd-characters",
        ),
        pytest.param(
            "digital_twins/users/conversations/messages",
            CONVERSATIONS_SHAPE,
            ("users", "messages"),
            id="ids-named-like-collections",
        ),
        # Same-named subcollections elsewhere are out of scope
        pytest.param("users/u1/conversations/c1", CONVERSATIONS_SHAPE, None, id="conversation-under-user"),
        pytest.param(
            "users/u1/conversations/c1/messages/m1",
            MESSAGES_SHAPE,
            None,
            id="message-under-user-conversation",
        ),
        pytest.param(
            "digital_twins/t1/chats/c1/messages/m1", MESSAGES_SHAPE, None, id="message-under-other-collection"
        ),
        pytest.param("digital_twins/t1/messages/m1", MESSAGES_SHAPE, None, id="message-directly-under-twin"),
        pytest.param(
            "digital_twins/t1/conversations/c1/messages/m1/conversations/c2",
            CONVERSATIONS_SHAPE,
            None,
            id="conversation-nested-deeper",
        ),
        pytest.param(
            "digital_twins/t1/conversations/c1/messages/m1/messages/m2",
            MESSAGES_SHAPE,
            None,
            id="message-nested-deeper",
        ),
        pytest.param("digital_twins/t1/conversations/c1", MESSAGES_SHAPE, None, id="too-short"),
        pytest.param("users/u1/extra/x", USERS_SHAPE, None, id="too-long"),
        pytest.param("users", USERS_SHAPE, None, id="collection-only"),
        pytest.param("digital_twins/t1", USERS_SHAPE, None, id="wrong-root"),
        pytest.param("Users/u1", USERS_SHAPE, None, id="case-sensitive"),
        pytest.param("/users/u1", USERS_SHAPE, None, id="leading-slash"),
        pytest.param("users/u1/", USERS_SHAPE, None, id="trailing-slash"),
    ],
)
def test_ids_from_path(path: str, shape: tuple[str | None, ...], expected: tuple[str, ...] | None) -> None:
    assert ids_from_path(path, shape) == expected


@pytest.mark.parametrize(
    ("spec", "path", "expected"),
    [
        pytest.param(USERS, "users/u1", ("u1",), id="users"),
        pytest.param(DIGITAL_TWINS, "digital_twins/t1", ("t1",), id="digital_twins"),
        pytest.param(CONVERSATIONS, "digital_twins/t1/conversations/c1", ("t1", "c1"), id="conversations"),
        pytest.param(
            MESSAGES, "digital_twins/t1/conversations/c1/messages/m1", ("t1", "c1", "m1"), id="messages"
        ),
        pytest.param(CONVERSATIONS, "users/u1/conversations/c1", None, id="conversations-under-user"),
        pytest.param(MESSAGES, "users/u1/conversations/c1/messages/m1", None, id="messages-under-user"),
    ],
)
def test_spec_path_shapes(spec, path: str, expected: tuple[str, ...] | None) -> None:
    assert ids_from_path(path, spec.path_shape) == expected


@pytest.mark.parametrize(
    ("shape", "ids", "path"),
    [
        pytest.param(USERS.path_shape, ("u1",), "users/u1", id="users"),
        pytest.param(DIGITAL_TWINS.path_shape, ("t1",), "digital_twins/t1", id="digital_twins"),
        pytest.param(
            CONVERSATIONS.path_shape, ("t1", "c1"), "digital_twins/t1/conversations/c1", id="conversations"
        ),
        pytest.param(
            MESSAGES.path_shape,
            ("t1", "c1", "m1"),
            "digital_twins/t1/conversations/c1/messages/m1",
            id="messages",
        ),
        pytest.param(
            MESSAGES.path_shape,
            ("T-9 x", "c.1", "..."),
            "digital_twins/T-9 x/conversations/c.1/messages/...",
            id="odd-but-valid-ids",
        ),
        pytest.param(
            CONVERSATIONS.path_shape,
            ("users", "messages"),
            "digital_twins/users/conversations/messages",
            id="ids-named-like-collections",
        ),
        pytest.param(USERS.path_shape, ("é 🙂",), "users/é 🙂", id="unicode"),
        pytest.param(USERS.path_shape, ("__id5__",), "users/__id5__", id="numeric-id-form"),
    ],
)
def test_path_from_ids_is_the_inverse_of_ids_from_path(
    shape: tuple[str | None, ...], ids: tuple[str, ...], path: str
) -> None:
    assert path_from_ids(ids, shape) == path
    assert ids_from_path(path, shape) == ids
    assert path_from_ids(ids_from_path(path, shape), shape) == path


@pytest.mark.parametrize(
    ("ids", "shape"),
    [
        pytest.param(("",), USERS_SHAPE, id="empty"),
        pytest.param((".",), USERS_SHAPE, id="dot"),
        pytest.param(("..",), USERS_SHAPE, id="dot-dot"),
        pytest.param(("a/b",), USERS_SHAPE, id="slash"),
        pytest.param(("/",), USERS_SHAPE, id="only-slash"),
        pytest.param((5,), USERS_SHAPE, id="integer"),
        pytest.param((None,), USERS_SHAPE, id="none"),
        pytest.param((b"u1",), USERS_SHAPE, id="bytes"),
        pytest.param(("t1", "c1", ".."), MESSAGES_SHAPE, id="last-of-three-bad"),
        pytest.param(("t1", 2, "m1"), MESSAGES_SHAPE, id="middle-integer"),
        pytest.param(("t/1", "c1"), CONVERSATIONS_SHAPE, id="first-has-slash"),
        pytest.param((), USERS_SHAPE, id="too-few"),
        pytest.param(("t1", "c1"), MESSAGES_SHAPE, id="one-short"),
        pytest.param(("u1", "u2"), USERS_SHAPE, id="too-many"),
    ],
)
def test_path_from_ids_refuses_what_cant_be_document_ids(ids: tuple, shape: tuple[str | None, ...]) -> None:
    assert path_from_ids(ids, shape) is None
