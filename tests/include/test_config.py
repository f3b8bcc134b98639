"""Unit tests for include.firestore_to_mongo.config: RunConfig.from_params validation and defaults."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from include.firestore_to_mongo.config import PARAM_SCHEMAS, ParamError, RunConfig

DEFAULTS = RunConfig(
    dry_run=False,
    mode="full",
    collections=("users", "digital_twins", "conversations", "messages"),
    batch_size=500,
    mongo_db=None,
    firestore_conn_id="google_cloud_default",
    mongo_conn_id="mongo_default",
    max_failures=0,
)
PARAM_NAMES = tuple(field.name for field in dataclasses.fields(RunConfig))


def test_schema_covers_every_param() -> None:
    assert tuple(PARAM_SCHEMAS) == PARAM_NAMES


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
        pytest.param({"mode": "incremental"}, {"mode": "incremental"}, id="mode-incremental"),
        pytest.param({"mode": "full"}, {}, id="mode-full"),
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
                "mode": "incremental",
                "collections": ["users"],
                "batch_size": 42,
                "mongo_db": "db",
                "firestore_conn_id": "fs",
                "mongo_conn_id": "mg",
                "max_failures": 3,
            },
            {
                "dry_run": True,
                "mode": "incremental",
                "collections": ("users",),
                "batch_size": 42,
                "mongo_db": "db",
                "firestore_conn_id": "fs",
                "mongo_conn_id": "mg",
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
            "collections",
            [],
            "collections: [] is not a non-empty list of distinct names from "
            "users, digital_twins, conversations, messages",
            id="collections",
        ),
        pytest.param("batch_size", 0, "batch_size: 0 is not an integer from 1 to 10,000", id="batch-size"),
        pytest.param("mongo_db", 1, "mongo_db: 1 is not a database name or empty", id="mongo-db"),
        pytest.param("mongo_conn_id", "", "mongo_conn_id: '' is not a connection id", id="mongo-conn"),
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
