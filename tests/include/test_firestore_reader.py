"""Unit tests for include.firestore_to_mongo.firestore_reader.build_query, without a network.

A Firestore client with anonymous credentials builds queries without connecting;
the query's private `_orders` and `_field_filters` show what it would ask for.
"""

from __future__ import annotations

from datetime import UTC, datetime

import google.auth.credentials
import pytest
from google.cloud import firestore

from include.firestore_to_mongo.firestore_reader import (
    FIRST_INSTANT,
    Page,
    ReadPosition,
    _cursor,
    build_query,
    count_without_cursor,
)
from include.firestore_to_mongo.specs import CONVERSATIONS, DIGITAL_TWINS, MESSAGES, USERS, CollectionSpec

SINCE = datetime(2026, 11, 1, 8, 30, 0, 123000, tzinfo=UTC)


@pytest.fixture(scope="module")
def client() -> firestore.Client:
    return firestore.Client(project="p", credentials=google.auth.credentials.AnonymousCredentials())


def orders(query) -> list[tuple[str, str]]:
    return [(order.field.field_path, order.direction.name) for order in query._orders]


def filters(query) -> list[tuple[str, str, object]]:
    return [
        (f.field.field_path, f.op.name, f.value.timestamp_value if "timestamp_value" in f.value else f.value)
        for f in query._field_filters
    ]


def source(query) -> tuple[str, bool]:
    (selector,) = query._to_protobuf().from_
    return selector.collection_id, selector.all_descendants


@pytest.mark.parametrize(
    ("spec", "expected_source"),
    [
        pytest.param(USERS, ("users", False), id="users"),
        pytest.param(DIGITAL_TWINS, ("digital_twins", False), id="digital-twins"),
        pytest.param(CONVERSATIONS, ("conversations", True), id="conversations-group"),
        pytest.param(MESSAGES, ("messages", True), id="messages-group"),
    ],
)
def test_without_since_orders_by_name_only(
    client: firestore.Client, spec: CollectionSpec, expected_source: tuple[str, bool]
) -> None:
    query = build_query(client, spec)
    assert orders(query) == [("__name__", "ASCENDING")]
    assert filters(query) == []
    assert source(query) == expected_source
    assert query._limit is None
    assert query._start_at is None


@pytest.mark.parametrize(
    ("spec", "since", "expected_filters", "expected_orders"),
    [
        pytest.param(
            MESSAGES,
            SINCE,
            [("timestamp", "GREATER_THAN_OR_EQUAL", SINCE)],
            [("timestamp", "ASCENDING"), ("__name__", "ASCENDING")],
            id="messages",
        ),
        pytest.param(
            CONVERSATIONS,
            SINCE,
            [("updated_at", "GREATER_THAN_OR_EQUAL", SINCE)],
            [("updated_at", "ASCENDING"), ("__name__", "ASCENDING")],
            id="conversations",
        ),
        pytest.param(
            MESSAGES,
            FIRST_INSTANT,
            [("timestamp", "GREATER_THAN_OR_EQUAL", FIRST_INSTANT)],
            [("timestamp", "ASCENDING"), ("__name__", "ASCENDING")],
            id="first-instant",
        ),
    ],
)
def test_since_filters_and_orders_on_the_cursor(
    client: firestore.Client,
    spec: CollectionSpec,
    since: datetime,
    expected_filters: list,
    expected_orders: list,
) -> None:
    query = build_query(client, spec, since)
    assert filters(query) == expected_filters
    assert orders(query) == expected_orders
    assert source(query) == (spec.source_collection, True)


@pytest.mark.parametrize(
    "spec", [pytest.param(USERS, id="users"), pytest.param(DIGITAL_TWINS, id="digital-twins")]
)
def test_since_without_cursor_field_is_value_error(client: firestore.Client, spec: CollectionSpec) -> None:
    with pytest.raises(ValueError, match=f"^{spec.name} has no change cursor to read from 2026-11-01"):
        build_query(client, spec, SINCE)


@pytest.mark.parametrize(
    ("spec", "since", "position", "expected"),
    [
        pytest.param(USERS, None, ReadPosition("users/u9"), {"__name__": "users/u9"}, id="by-name"),
        pytest.param(
            MESSAGES,
            SINCE,
            ReadPosition("digital_twins/t/conversations/c/messages/m", SINCE),
            {"timestamp": SINCE, "__name__": "digital_twins/t/conversations/c/messages/m"},
            id="by-cursor-then-name",
        ),
        pytest.param(
            CONVERSATIONS,
            None,
            ReadPosition("digital_twins/t/conversations/c", SINCE),
            {"__name__": "digital_twins/t/conversations/c"},
            id="cursor-value-unused-without-since",
        ),
    ],
)
def test_cursor(
    client: firestore.Client, spec: CollectionSpec, since, position: ReadPosition, expected: dict
) -> None:
    cursor = _cursor(client, spec, since, position)
    assert list(cursor) == list(expected)
    assert {
        key: value.path if isinstance(value, firestore.DocumentReference) else value
        for key, value in cursor.items()
    } == expected


@pytest.mark.parametrize(
    "spec", [pytest.param(USERS, id="users"), pytest.param(DIGITAL_TWINS, id="digital-twins")]
)
def test_count_without_cursor_needs_a_cursor(spec: CollectionSpec) -> None:
    # No cursor, nothing to count: the client isn't touched.
    assert count_without_cursor(None, spec, timeout=1.0) is None  # type: ignore[arg-type]


def test_page_and_position() -> None:
    position = ReadPosition("users/u1")
    assert position.cursor_value is None
    page = Page([], out_of_scope=0, position=position)
    assert page.position is position
