"""Unit tests for include.firestore_to_mongo.migrate.config: RunConfig.from_params validation and defaults."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from include.firestore_to_mongo.migrate.config import ISO_DATETIME_PATTERN, PARAM_SCHEMAS, RunConfig
from include.firestore_to_mongo.run.params import ParamError, parse_since

DEFAULTS = RunConfig(
    dry_run=False,
    mode="incremental",
    since=None,
    lookback_minutes=10,
    prune=False,
    collections=("users", "digital_twins", "conversations", "messages"),
    batch_size=500,
    mongo_db=None,
    firestore_conn_id="google_cloud_default",
    mongo_conn_id="mongo_default",
    timeout_seconds=60,
    partitions=4,
    max_reads_per_second=None,
    max_failures=0,
)
PARAM_NAMES = tuple(field.name for field in dataclasses.fields(RunConfig))


def test_schema_covers_every_param() -> None:
    assert tuple(PARAM_SCHEMAS) == PARAM_NAMES


def test_field_order() -> None:
    assert PARAM_NAMES == (
        "dry_run",
        "mode",
        "since",
        "lookback_minutes",
        "prune",
        "collections",
        "batch_size",
        "mongo_db",
        "firestore_conn_id",
        "mongo_conn_id",
        "timeout_seconds",
        "partitions",
        "max_reads_per_second",
        "max_failures",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("mode", "incremental", id="mode"),
        pytest.param("since", None, id="since"),
        pytest.param("lookback_minutes", 10, id="lookback-minutes"),
        pytest.param("prune", False, id="prune"),
        pytest.param("timeout_seconds", 60, id="timeout-seconds"),
    ],
)
def test_schema_defaults(name: str, expected: object) -> None:
    assert PARAM_SCHEMAS[name]["default"] == expected


@pytest.mark.parametrize(
    ("name", "minimum", "maximum"),
    [
        pytest.param("lookback_minutes", 0, 10_080, id="lookback-minutes"),
        pytest.param("batch_size", 1, 10_000, id="batch-size"),
        pytest.param("timeout_seconds", 1, 3_600, id="timeout-seconds"),
    ],
)
def test_schema_bounds_match_validation(name: str, minimum: int, maximum: int) -> None:
    schema = PARAM_SCHEMAS[name]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", minimum, maximum)
    assert getattr(RunConfig.from_params({name: minimum}), name) == minimum
    assert getattr(RunConfig.from_params({name: maximum}), name) == maximum
    for outside in (minimum - 1, maximum + 1):
        with pytest.raises(ParamError, match=f"^invalid params: {name}: {outside} is not "):
            RunConfig.from_params({name: outside})


def test_since_schema_for_the_trigger_form() -> None:
    schema = PARAM_SCHEMAS["since"]
    assert schema["type"] == ["null", "string"]
    assert schema["pattern"] == ISO_DATETIME_PATTERN


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="empty"),
        pytest.param(MappingProxyType({}), id="read-only-mapping"),
        pytest.param({"unknown": "ignored", "another": [1]}, id="unknown-params-ignored"),
    ],
)
def test_defaults_fill_gaps(params) -> None:
    assert RunConfig.from_params(params) == DEFAULTS


@pytest.mark.parametrize(
    ("params", "changes"),
    [
        pytest.param({"dry_run": True}, {"dry_run": True}, id="dry-run-true"),
        pytest.param({"dry_run": False}, {}, id="dry-run-false"),
        pytest.param({"mode": "incremental"}, {}, id="mode-incremental"),
        pytest.param({"mode": "full"}, {"mode": "full"}, id="mode-full"),
        pytest.param({"since": None}, {}, id="since-none"),
        pytest.param({"since": ""}, {}, id="since-empty-is-none"),
        pytest.param(
            {"since": "2026-11-01T00:00:00Z"},
            {"since": datetime(2026, 11, 1, tzinfo=UTC)},
            id="since-utc",
        ),
        pytest.param(
            {"since": "2026-11-01T10:00:00+02:00"},
            {"since": datetime(2026, 11, 1, 8, tzinfo=UTC)},
            id="since-offset-converted",
        ),
        pytest.param(
            {"since": "2026-11-01T10:00:00"},
            {"since": datetime(2026, 11, 1, 10, tzinfo=UTC)},
            id="since-naive-is-utc",
        ),
        pytest.param(
            {"since": "2026-11-01"}, {"since": datetime(2026, 11, 1, tzinfo=UTC)}, id="since-date-only"
        ),
        pytest.param(
            {"since": "2026-11-01T10:00:00.123999Z"},
            {"since": datetime(2026, 11, 1, 10, 0, 0, 123000, tzinfo=UTC)},
            id="since-truncated-to-ms",
        ),
        pytest.param({"lookback_minutes": 0}, {"lookback_minutes": 0}, id="lookback-min"),
        pytest.param({"lookback_minutes": 10_080}, {"lookback_minutes": 10_080}, id="lookback-max-one-week"),
        pytest.param({"lookback_minutes": 90}, {"lookback_minutes": 90}, id="lookback-typical"),
        pytest.param({"prune": True}, {"prune": True}, id="prune-true"),
        pytest.param({"prune": False}, {}, id="prune-false"),
        pytest.param({"timeout_seconds": 1}, {"timeout_seconds": 1}, id="timeout-min"),
        pytest.param({"timeout_seconds": 3_600}, {"timeout_seconds": 3_600}, id="timeout-max"),
        pytest.param({"collections": ["messages"]}, {"collections": ("messages",)}, id="one-collection"),
        pytest.param(
            {"collections": ["conversations", "users"]},
            {"collections": ("conversations", "users")},
            id="order-kept",
        ),
        pytest.param(
            {"collections": ("digital_twins",)}, {"collections": ("digital_twins",)}, id="tuple-accepted"
        ),
        pytest.param({"batch_size": 1}, {"batch_size": 1}, id="batch-size-min"),
        pytest.param({"batch_size": 10_000}, {"batch_size": 10_000}, id="batch-size-max"),
        pytest.param({"mongo_db": "analytics"}, {"mongo_db": "analytics"}, id="mongo-db-name"),
        pytest.param({"mongo_db": ""}, {"mongo_db": None}, id="mongo-db-empty-is-none"),
        pytest.param({"mongo_db": None}, {"mongo_db": None}, id="mongo-db-none"),
        pytest.param(
            {"firestore_conn_id": "gcp_prod"}, {"firestore_conn_id": "gcp_prod"}, id="firestore-conn"
        ),
        pytest.param({"mongo_conn_id": "mongo_prod"}, {"mongo_conn_id": "mongo_prod"}, id="mongo-conn"),
        pytest.param({"max_failures": 0}, {}, id="max-failures-zero"),
        pytest.param({"max_failures": 25}, {"max_failures": 25}, id="max-failures-positive"),
        pytest.param(
            {
                "dry_run": True,
                "mode": "full",
                "since": "2026-01-02T03:04:05Z",
                "lookback_minutes": 0,
                "prune": True,
                "collections": ["users"],
                "batch_size": 42,
                "mongo_db": "db",
                "firestore_conn_id": "fs",
                "mongo_conn_id": "mg",
                "timeout_seconds": 5,
                "max_failures": 3,
            },
            {
                "dry_run": True,
                "mode": "full",
                "since": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                "lookback_minutes": 0,
                "prune": True,
                "collections": ("users",),
                "batch_size": 42,
                "mongo_db": "db",
                "firestore_conn_id": "fs",
                "mongo_conn_id": "mg",
                "timeout_seconds": 5,
                "max_failures": 3,
            },
            id="all-set",
        ),
    ],
)
def test_valid_params(params: dict, changes: dict) -> None:
    config = RunConfig.from_params(params)
    assert config == dataclasses.replace(DEFAULTS, **changes)
    assert isinstance(config.collections, tuple)


INVALID = [
    pytest.param("dry_run", "true", id="dry-run-string"),
    pytest.param("dry_run", 1, id="dry-run-int"),
    pytest.param("dry_run", None, id="dry-run-none"),
    pytest.param("mode", "FULL", id="mode-wrong-case"),
    pytest.param("mode", "partial", id="mode-unknown"),
    pytest.param("mode", "", id="mode-empty"),
    pytest.param("mode", None, id="mode-none"),
    pytest.param("mode", ["full"], id="mode-list"),
    pytest.param("since", "yesterday", id="since-words"),
    pytest.param("since", "2026-11-01T10:00:00 CET", id="since-zone-name"),
    pytest.param("since", "2026-13-01", id="since-month-13"),
    pytest.param("since", "2026-02-30", id="since-february-30"),
    pytest.param("since", "2026-11-00", id="since-day-zero"),
    pytest.param("since", "2026-11-01T25:00", id="since-hour-25"),
    pytest.param("since", "2026-11-01T10:00:60", id="since-second-60"),
    pytest.param("since", "2026-11-01T10:00:00+99:00", id="since-offset-out-of-range"),
    pytest.param("since", "   ", id="since-blank"),
    pytest.param("since", " 2026-11-01", id="since-leading-space"),
    pytest.param("since", "9999-12-31T23:59:59-01:00", id="since-overflows-in-utc"),
    pytest.param("since", "0001-01-01T00:30:00+01:00", id="since-underflows-in-utc"),
    pytest.param("since", 1_700_000_000, id="since-epoch-int"),
    pytest.param("since", datetime(2026, 11, 1, tzinfo=UTC), id="since-datetime-object"),
    pytest.param("since", False, id="since-bool"),
    pytest.param("lookback_minutes", -1, id="lookback-negative"),
    pytest.param("lookback_minutes", 10_081, id="lookback-over-a-week"),
    pytest.param("lookback_minutes", True, id="lookback-bool"),
    pytest.param("lookback_minutes", 1.5, id="lookback-float"),
    pytest.param("lookback_minutes", "10", id="lookback-string"),
    pytest.param("lookback_minutes", None, id="lookback-none"),
    pytest.param("prune", "true", id="prune-string"),
    pytest.param("prune", 1, id="prune-int"),
    pytest.param("prune", None, id="prune-none"),
    pytest.param("collections", [], id="collections-empty"),
    pytest.param("collections", (), id="collections-empty-tuple"),
    pytest.param("collections", "users", id="collections-string"),
    pytest.param("collections", ["users", "users"], id="collections-duplicate"),
    pytest.param("collections", ["accounts"], id="collections-unknown"),
    pytest.param("collections", ["avatar_conversations"], id="collections-target-name"),
    pytest.param("collections", ["users", "Users"], id="collections-wrong-case"),
    pytest.param("collections", None, id="collections-none"),
    pytest.param("collections", {"users": True}, id="collections-map"),
    pytest.param("batch_size", 0, id="batch-size-zero"),
    pytest.param("batch_size", -1, id="batch-size-negative"),
    pytest.param("batch_size", 10_001, id="batch-size-too-big"),
    pytest.param("batch_size", True, id="batch-size-bool"),
    pytest.param("batch_size", 500.0, id="batch-size-float"),
    pytest.param("batch_size", "500", id="batch-size-string"),
    pytest.param("batch_size", None, id="batch-size-none"),
    pytest.param("mongo_db", 5, id="mongo-db-int"),
    pytest.param("mongo_db", ["app"], id="mongo-db-list"),
    pytest.param("mongo_db", False, id="mongo-db-bool"),
    pytest.param("firestore_conn_id", "", id="firestore-conn-empty"),
    pytest.param("firestore_conn_id", None, id="firestore-conn-none"),
    pytest.param("firestore_conn_id", 1, id="firestore-conn-int"),
    pytest.param("mongo_conn_id", "", id="mongo-conn-empty"),
    pytest.param("mongo_conn_id", None, id="mongo-conn-none"),
    pytest.param("timeout_seconds", 0, id="timeout-zero"),
    pytest.param("timeout_seconds", -5, id="timeout-negative"),
    pytest.param("timeout_seconds", 3_601, id="timeout-too-big"),
    pytest.param("timeout_seconds", True, id="timeout-bool"),
    pytest.param("timeout_seconds", 60.0, id="timeout-float"),
    pytest.param("timeout_seconds", "60", id="timeout-string"),
    pytest.param("timeout_seconds", None, id="timeout-none"),
    pytest.param("max_failures", -1, id="max-failures-negative"),
    pytest.param("max_failures", True, id="max-failures-bool"),
    pytest.param("max_failures", 1.5, id="max-failures-float"),
    pytest.param("max_failures", "0", id="max-failures-string"),
    pytest.param("max_failures", None, id="max-failures-none"),
]


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_invalid_param_is_named(name: str, value: object) -> None:
    with pytest.raises(ParamError) as excinfo:
        RunConfig.from_params({name: value})
    message = str(excinfo.value)
    assert message.startswith("invalid params: ")
    assert f"{name}: {value!r} is not " in message
    # Only the bad param is named.
    assert [other for other in PARAM_NAMES if f"{other}: " in message] == [name]


def test_every_bad_param_is_named_in_schema_order() -> None:
    with pytest.raises(ParamError) as excinfo:
        RunConfig.from_params(
            {
                "max_failures": -1,
                "max_reads_per_second": 0,
                "partitions": 0,
                "timeout_seconds": 0,
                "prune": "no",
                "lookback_minutes": -1,
                "since": "soon",
                "dry_run": "no",
                "batch_size": 0,
                "mongo_conn_id": "",
                "collections": [],
                "mode": "x",
                "firestore_conn_id": None,
                "mongo_db": 1,
            }
        )
    problems = str(excinfo.value).removeprefix("invalid params: ").split("; ")
    assert [problem.split(":")[0] for problem in problems] == list(PARAM_NAMES)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("dry_run", "x", "dry_run: 'x' is not true or false", id="dry-run"),
        pytest.param("mode", "x", "mode: 'x' is not one of full, incremental", id="mode"),
        pytest.param(
            "since",
            "yesterday",
            "since: 'yesterday' is not an ISO 8601 date-time such as 2026-11-01T00:00:00Z",
            id="since",
        ),
        pytest.param(
            "lookback_minutes",
            10_081,
            "lookback_minutes: 10081 is not an integer number of minutes from 0 to 10,080",
            id="lookback-minutes",
        ),
        pytest.param("prune", "yes", "prune: 'yes' is not true or false", id="prune"),
        pytest.param(
            "collections",
            [],
            "collections: [] is not a non-empty list of distinct names from "
            "users, digital_twins, conversations, messages",
            id="collections",
        ),
        pytest.param("batch_size", 0, "batch_size: 0 is not an integer from 1 to 10,000", id="batch-size"),
        pytest.param("mongo_db", 1, "mongo_db: 1 is not a database name or empty", id="mongo-db"),
        pytest.param("mongo_conn_id", "", "mongo_conn_id: '' is not a connection id", id="mongo-conn"),
        pytest.param(
            "timeout_seconds", 0, "timeout_seconds: 0 is not an integer from 1 to 3,600", id="timeout-seconds"
        ),
        pytest.param("max_failures", -1, "max_failures: -1 is not an integer ≥ 0", id="max-failures"),
    ],
)
def test_error_message_text(name: str, value: object, expected: str) -> None:
    with pytest.raises(ParamError) as excinfo:
        RunConfig.from_params({name: value})
    assert str(excinfo.value) == f"invalid params: {expected}"


def test_param_error_is_value_error() -> None:
    assert issubclass(ParamError, ValueError)


def test_run_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.batch_size = 1  # type: ignore[misc]


def test_default_collections_not_shared_with_schema() -> None:
    config = RunConfig.from_params({})
    assert PARAM_SCHEMAS["collections"]["default"] == list(config.collections)
    assert config.collections is not PARAM_SCHEMAS["collections"]["default"]


@pytest.mark.parametrize(
    "value",
    [pytest.param([["users"]], id="nested-list"), pytest.param([{"name": "users"}], id="map-item")],
)
def test_unhashable_collection_items_are_param_error(value: list) -> None:
    with pytest.raises(ParamError, match="collections: "):
        RunConfig.from_params({"collections": value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param("2026-11-01T00:00:00Z", datetime(2026, 11, 1, tzinfo=UTC), id="zulu"),
        pytest.param("2026-11-01T00:00:00+00:00", datetime(2026, 11, 1, tzinfo=UTC), id="zero-offset"),
        pytest.param("2026-11-01T10:00:00-03", datetime(2026, 11, 1, 13, tzinfo=UTC), id="hour-offset"),
        pytest.param(
            "2026-11-01T10:00:00+0530", datetime(2026, 11, 1, 4, 30, tzinfo=UTC), id="compact-offset"
        ),
        pytest.param("2026-11-01 10:00", datetime(2026, 11, 1, 10, tzinfo=UTC), id="space-no-seconds"),
        pytest.param("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC), id="date"),
        pytest.param(
            "2026-11-01T10:00:00.987654321Z",
            datetime(2026, 11, 1, 10, 0, 0, 987000, tzinfo=UTC),
            id="nanoseconds-truncated",
        ),
        pytest.param("2026-11-01T24:00:00Z", datetime(2026, 11, 2, tzinfo=UTC), id="midnight-24h"),
        pytest.param(
            "2026-11-01T00:30:00+01:00", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), id="offset-crosses-day"
        ),
    ],
)
def test_parse_since(value: str | None, expected: datetime | None) -> None:
    parsed = parse_since(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC
        assert parsed.microsecond % 1000 == 0


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("2026-11-01", id="date"),
        pytest.param("2026-11-01T10:00", id="no-seconds"),
        pytest.param("2026-11-01 10:00:00", id="space-separator"),
        pytest.param("2026-11-01T10:00:00", id="no-offset"),
        pytest.param("2026-11-01T10:00:00Z", id="zulu"),
        pytest.param("2026-11-01T10:00:00.5Z", id="one-digit-fraction"),
        pytest.param("2026-11-01T10:00:00.123456789+02:00", id="nanoseconds-and-offset"),
        pytest.param("2026-11-01T10:00:00-0530", id="compact-offset"),
        pytest.param("2026-11-01T10:00:00+02", id="hour-offset"),
    ],
)
def test_since_pattern_accepts_iso(value: str) -> None:
    assert re.match(PARAM_SCHEMAS["since"]["pattern"], value)
    # What the form lets through, the task parses.
    assert isinstance(parse_since(value), datetime)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("yesterday", id="words"),
        pytest.param("2026-11-01T10:00:00 CET", id="zone-name"),
        pytest.param("2026-11-01T10Z", id="hour-only"),
        pytest.param("01/11/2026", id="slashes"),
        pytest.param("2026-11-01T10:00:00.1234567890Z", id="ten-digit-fraction"),
        pytest.param(" 2026-11-01", id="leading-space"),
    ],
)
def test_since_pattern_rejects(value: str) -> None:
    assert re.match(PARAM_SCHEMAS["since"]["pattern"], value) is None


def test_since_pattern_accepts_empty_as_from_params_does() -> None:
    assert re.match(PARAM_SCHEMAS["since"]["pattern"], "")
    assert RunConfig.from_params({"since": ""}).since is None
