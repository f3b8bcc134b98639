"""Unit tests for include.firestore_to_mongo.contract.specs: change cursors and asset alias names."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.contract.specs import (
    COLLECTION_NAMES,
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    SPECS,
    USERS,
    CollectionSpec,
    asset_alias_name,
)


def test_collection_names_in_order() -> None:
    assert COLLECTION_NAMES == ("users", "digital_twins", "conversations", "messages")
    assert list(SPECS.values()) == [USERS, DIGITAL_TWINS, CONVERSATIONS, MESSAGES]
    assert all(name == spec.name for name, spec in SPECS.items())


@pytest.mark.parametrize(
    ("spec", "cursor_field"),
    [
        pytest.param(USERS, None, id="users"),
        pytest.param(DIGITAL_TWINS, None, id="digital-twins"),
        pytest.param(CONVERSATIONS, "updated_at", id="conversations"),
        pytest.param(MESSAGES, "timestamp", id="messages"),
    ],
)
def test_cursor_field(spec: CollectionSpec, cursor_field: str | None) -> None:
    assert spec.cursor_field == cursor_field
    if cursor_field is not None:
        # The cursor is read as a timestamp and copied under its own name.
        assert cursor_field in spec.timestamp_fields
        assert spec.copied.get(cursor_field) == cursor_field


@pytest.mark.parametrize(
    ("collection", "expected"),
    [
        pytest.param("users", "firestore_to_mongo.users", id="users"),
        pytest.param("digital_twins", "firestore_to_mongo.digital_twins", id="digital-twins"),
        pytest.param("conversations", "firestore_to_mongo.conversations", id="conversations"),
        pytest.param("messages", "firestore_to_mongo.messages", id="messages-by-name-not-target"),
    ],
)
def test_asset_alias_name(collection: str, expected: str) -> None:
    assert asset_alias_name(collection) == expected


def test_asset_alias_names_are_distinct() -> None:
    assert len({asset_alias_name(name) for name in COLLECTION_NAMES}) == len(COLLECTION_NAMES)
