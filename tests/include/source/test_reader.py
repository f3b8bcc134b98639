"""Unit tests for include.firestore_to_mongo.source.reader.build_queries, without a network.

A Firestore client with anonymous credentials builds queries without connecting;
the query's private `_orders` and `_field_filters` show what it would ask for.
"""

from __future__ import annotations

from datetime import UTC, datetime

import google.auth.credentials
import pytest
from google.cloud import firestore

from include.firestore_to_mongo.contract.specs import (
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    USERS,
    CollectionSpec,
)
from include.firestore_to_mongo.source import reader
from include.firestore_to_mongo.source.cursor_ranges import plan_cursor_ranges
from include.firestore_to_mongo.source.partitions import Partition
from include.firestore_to_mongo.source.reader import (
    Page,
    ReadPosition,
    _cursor,
    build_queries,
    count_without_cursor,
)

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
    (query,) = build_queries(client, spec)
    assert orders(query) == [("__name__", "ASCENDING")]
    assert filters(query) == []
    assert source(query) == expected_source
    assert query._limit is None
    assert query._start_at is None


def _value(value):
    return value.timestamp_value if "timestamp_value" in value else value


def range_filters(cursor_range, field: str) -> list[tuple[str, str, object]]:
    expected = [(field, "GREATER_THAN_OR_EQUAL", cursor_range.lower)]
    if cursor_range.upper is not None:
        operator = "LESS_THAN_OR_EQUAL" if cursor_range.upper_inclusive else "LESS_THAN"
        expected.append((field, operator, cursor_range.upper))
    return expected


def plain(filters_: list) -> list:
    # Firestore's protobuf values, as Python values to compare with the planned bounds.
    out = []
    for field, op, value in filters_:
        if hasattr(value, "double_value") and "double_value" in value:
            value = value.double_value
        elif hasattr(value, "integer_value") and "integer_value" in value:
            value = value.integer_value
        elif hasattr(value, "string_value") and "string_value" in value:
            value = value.string_value
        out.append((field, op, value))
    return out


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        pytest.param(MESSAGES, "timestamp", id="messages"),
        pytest.param(CONVERSATIONS, "updated_at", id="conversations"),
    ],
)
@pytest.mark.parametrize(
    ("partition", "since", "until", "first"),
    [
        pytest.param(None, SINCE, None, True, id="one-part"),
        pytest.param(
            Partition(0, 2, "time windows", since=SINCE, until=datetime(2026, 11, 2, tzinfo=UTC)),
            SINCE,
            datetime(2026, 11, 2, tzinfo=UTC),
            True,
            id="first-window",
        ),
        pytest.param(
            Partition(1, 2, "time windows", since=datetime(2026, 11, 2, tzinfo=UTC)),
            datetime(2026, 11, 2, tzinfo=UTC),
            None,
            False,
            id="last-window",
        ),
    ],
)
def test_since_reads_one_range_per_cursor_form_ordered_by_cursor(
    client: firestore.Client, spec: CollectionSpec, field: str, partition, since, until, first
) -> None:
    queries = build_queries(client, spec, SINCE, partition)
    planned = plan_cursor_ranges(since, until, first)
    assert {cursor_range.kind for cursor_range in planned} == {"timestamp", "seconds", "milliseconds", "iso"}
    assert len(queries) == len(planned)
    for query, cursor_range in zip(queries, planned, strict=True):
        assert plain(filters(query)) == range_filters(cursor_range, field), cursor_range.kind
        assert orders(query) == [(field, "ASCENDING"), ("__name__", "ASCENDING")]
        assert source(query) == (spec.source_collection, True)


@pytest.mark.parametrize(
    "spec", [pytest.param(USERS, id="users"), pytest.param(DIGITAL_TWINS, id="digital-twins")]
)
def test_since_without_cursor_field_is_value_error(client: firestore.Client, spec: CollectionSpec) -> None:
    with pytest.raises(ValueError, match=f"^{spec.name} has no change cursor to read from 2026-11-01"):
        build_queries(client, spec, SINCE)


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
    cursor = _cursor(client, spec, since is not None, position)
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


def snapshot(client, data, exists=True):
    """A real DocumentSnapshot, as the client builds one from a query's answer."""
    from google.cloud.firestore_v1.base_document import DocumentSnapshot

    return DocumentSnapshot(client.document("users/u1"), data, exists, None, None, None)


def test_data_of_takes_the_snapshots_data_without_a_copy(client) -> None:
    data = {"media": [{"type": "image"}], "n": 1}
    source = snapshot(client, data)
    taken = reader._data_of(source)
    assert taken == data
    # to_dict() would hand out a new deep copy each time.
    assert reader._data_of(source) is taken


def test_data_of_a_missing_document_is_empty(client) -> None:
    assert reader._data_of(snapshot(client, None, exists=False)) == {}


def test_data_of_falls_back_to_to_dict_without_the_private_attribute() -> None:
    class Snapshot:
        def to_dict(self):
            return {"a": 1}

    assert reader._data_of(Snapshot()) == {"a": 1}
