"""Unit tests for include.firestore_to_mongo.verify.config: VerifyConfig.from_params (defaults,
bounds, combination rules), its schemas, and config.validated, the helper it shares."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from types import MappingProxyType

import pytest

from include.firestore_to_mongo.migrate.config import ISO_DATETIME_PATTERN, PARAM_SCHEMAS
from include.firestore_to_mongo.run.params import DEPTHS, MAX_SAMPLE_SIZE, ParamError, validated
from include.firestore_to_mongo.verify.config import SHARED, VERIFY_PARAM_SCHEMAS, VerifyConfig

DEFAULTS = VerifyConfig(
    depth="full",
    sample_size=None,
    changed_since=None,
    repair=False,
    prune=False,
    max_reported=20,
    collections=("users", "digital_twins", "conversations", "messages"),
    mongo_db=None,
    firestore_conn_id="google_cloud_default",
    mongo_conn_id="mongo_default",
    batch_size=500,
    partitions=4,
    timeout_seconds=60,
    max_reads_per_second=None,
)
PARAM_NAMES = tuple(field.name for field in dataclasses.fields(VerifyConfig))
OWN = ("depth", "sample_size", "changed_since", "repair", "prune", "max_reported")
NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def problems_of(params: dict) -> list[str]:
    """The problems a ParamError lists, one per param or rule, in order."""
    with pytest.raises(ParamError) as excinfo:
        VerifyConfig.from_params(params)
    message = str(excinfo.value)
    assert message.startswith("invalid params: ")
    return message.removeprefix("invalid params: ").split("; ")


# --- schemas ---------------------------------------------------------------------------


def test_schema_covers_every_field_in_order() -> None:
    assert tuple(VERIFY_PARAM_SCHEMAS) == PARAM_NAMES == (*OWN, *SHARED)


@pytest.mark.parametrize("name", SHARED)
def test_shared_params_use_the_migrations_schema_object(name: str) -> None:
    assert VERIFY_PARAM_SCHEMAS[name] is PARAM_SCHEMAS[name]


def test_prune_has_its_own_schema_tied_to_repair() -> None:
    assert "prune" not in SHARED
    assert VERIFY_PARAM_SCHEMAS["prune"] is not PARAM_SCHEMAS["prune"]
    assert "repair" in VERIFY_PARAM_SCHEMAS["prune"]["description"]


@pytest.mark.parametrize("name", PARAM_NAMES)
def test_every_schema_has_title_and_description(name: str) -> None:
    schema = VERIFY_PARAM_SCHEMAS[name]
    for key in ("title", "description"):
        assert isinstance(schema[key], str)
        assert schema[key].strip()
    assert "default" in schema


def test_schema_defaults_make_the_default_config() -> None:
    defaults = {name: schema["default"] for name, schema in VERIFY_PARAM_SCHEMAS.items()}
    assert VerifyConfig.from_params(defaults) == DEFAULTS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("depth", {"type": "string", "enum": ["counts", "keys", "full"]}, id="depth"),
        pytest.param(
            "sample_size",
            {"type": ["null", "integer"], "minimum": 1, "maximum": 1_000_000},
            id="sample-size",
        ),
        pytest.param("changed_since", {"type": ["null", "string"]}, id="changed-since"),
        pytest.param("repair", {"type": "boolean"}, id="repair"),
        pytest.param("prune", {"type": "boolean"}, id="prune"),
        pytest.param("max_reported", {"type": "integer", "minimum": 0}, id="max-reported"),
    ],
)
def test_own_schema_limits(name: str, expected: dict) -> None:
    schema = VERIFY_PARAM_SCHEMAS[name]
    limits = ("type", "enum", "minimum", "maximum")
    assert {key: schema[key] for key in limits if key in schema} == expected


def test_changed_since_takes_the_pattern_of_the_migrations_since() -> None:
    # verify/ doesn't import migrate/: a copy, kept the same.
    assert VERIFY_PARAM_SCHEMAS["changed_since"]["pattern"] == ISO_DATETIME_PATTERN
    assert PARAM_SCHEMAS["since"]["pattern"] == ISO_DATETIME_PATTERN


def test_depth_enum_is_cheapest_first() -> None:
    assert VERIFY_PARAM_SCHEMAS["depth"]["enum"] == list(DEPTHS) == ["counts", "keys", "full"]
    assert MAX_SAMPLE_SIZE == 1_000_000


# --- defaults and valid values ---------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="empty"),
        pytest.param(MappingProxyType({}), id="read-only-mapping"),
        pytest.param({"unknown": "ignored"}, id="unknown-params-ignored"),
        pytest.param(
            {"mode": "bogus", "dry_run": "x", "since": "soon", "max_failures": -1, "lookback_minutes": -1},
            id="migration-only-params-ignored",
        ),
    ],
)
def test_defaults_fill_gaps(params) -> None:
    config = VerifyConfig.from_params(params)
    assert config == DEFAULTS
    assert config.sampled is False


@pytest.mark.parametrize(
    ("params", "changes"),
    [
        pytest.param({"depth": "counts"}, {"depth": "counts"}, id="depth-counts"),
        pytest.param({"depth": "keys"}, {"depth": "keys"}, id="depth-keys"),
        pytest.param({"depth": "full"}, {}, id="depth-full"),
        pytest.param({"sample_size": None}, {}, id="sample-size-none"),
        pytest.param({"sample_size": 1}, {"sample_size": 1}, id="sample-size-min"),
        pytest.param({"sample_size": 1_000_000}, {"sample_size": 1_000_000}, id="sample-size-max"),
        pytest.param({"repair": True}, {"repair": True}, id="repair-full"),
        pytest.param({"repair": True, "depth": "keys"}, {"repair": True, "depth": "keys"}, id="repair-keys"),
        pytest.param({"repair": True, "prune": True}, {"repair": True, "prune": True}, id="repair-and-prune"),
        pytest.param(
            {"repair": True, "sample_size": 10}, {"repair": True, "sample_size": 10}, id="repair-a-sample"
        ),
        pytest.param({"max_reported": 0}, {"max_reported": 0}, id="max-reported-zero"),
        pytest.param({"max_reported": 10**9}, {"max_reported": 10**9}, id="max-reported-no-maximum"),
        pytest.param({"collections": ["messages"]}, {"collections": ("messages",)}, id="one-collection"),
        pytest.param(
            {"collections": ("conversations", "users")},
            {"collections": ("conversations", "users")},
            id="collections-order-kept",
        ),
        pytest.param({"mongo_db": ""}, {"mongo_db": None}, id="mongo-db-empty-is-none"),
        pytest.param({"mongo_db": "analytics"}, {"mongo_db": "analytics"}, id="mongo-db-name"),
        pytest.param({"firestore_conn_id": "fs"}, {"firestore_conn_id": "fs"}, id="firestore-conn"),
        pytest.param({"mongo_conn_id": "mg"}, {"mongo_conn_id": "mg"}, id="mongo-conn"),
        pytest.param({"batch_size": 1}, {"batch_size": 1}, id="batch-size-min"),
        pytest.param({"batch_size": 10_000}, {"batch_size": 10_000}, id="batch-size-max"),
        pytest.param({"partitions": 1}, {"partitions": 1}, id="partitions-min"),
        pytest.param({"partitions": 64}, {"partitions": 64}, id="partitions-max"),
        pytest.param({"timeout_seconds": 1}, {"timeout_seconds": 1}, id="timeout-min"),
        pytest.param({"timeout_seconds": 3_600}, {"timeout_seconds": 3_600}, id="timeout-max"),
        pytest.param({"max_reads_per_second": 1}, {"max_reads_per_second": 1}, id="read-rate-min"),
        pytest.param({"max_reads_per_second": None}, {}, id="read-rate-none"),
        pytest.param({"changed_since": None}, {}, id="changed-since-none"),
        pytest.param({"changed_since": ""}, {}, id="changed-since-empty"),
        pytest.param(
            {"changed_since": "2026-11-01T00:00:00Z"}, {"changed_since": NOV_1}, id="changed-since-z"
        ),
        pytest.param({"changed_since": "2026-11-01"}, {"changed_since": NOV_1}, id="changed-since-a-date"),
        pytest.param(
            {"changed_since": "2026-11-01T00:00:00"},
            {"changed_since": NOV_1},
            id="changed-since-no-offset-utc",
        ),
        pytest.param(
            {"changed_since": "2026-11-01T02:00:00+02:00"},
            {"changed_since": NOV_1},
            id="changed-since-offset",
        ),
        pytest.param(
            {"changed_since": "2026-11-01T00:00:00.123456789Z"},
            {"changed_since": datetime(2026, 11, 1, 0, 0, 0, 123000, tzinfo=UTC)},
            id="changed-since-to-the-millisecond",
        ),
        pytest.param(
            {"changed_since": "2026-11-01T00:00:00Z", "depth": "keys", "repair": True, "prune": True},
            {"changed_since": NOV_1, "depth": "keys", "repair": True, "prune": True},
            id="changed-since-keys-repair-prune",
        ),
        pytest.param(
            {"changed_since": "2026-11-01T00:00:00Z", "partitions": 16},
            {"changed_since": NOV_1, "partitions": 16},
            id="changed-since-partitions-allowed-unused",
        ),
    ],
)
def test_valid_params(params: dict, changes: dict) -> None:
    config = VerifyConfig.from_params(params)
    assert config == dataclasses.replace(DEFAULTS, **changes)
    assert isinstance(config.collections, tuple)


@pytest.mark.parametrize(
    ("sample_size", "sampled"),
    [pytest.param(None, False, id="every-document"), pytest.param(5, True, id="sample")],
)
def test_sampled(sample_size: int | None, sampled: bool) -> None:
    assert VerifyConfig.from_params({"sample_size": sample_size}).sampled is sampled


def test_default_collections_not_shared_with_schema() -> None:
    config = VerifyConfig.from_params({})
    assert list(config.collections) == VERIFY_PARAM_SCHEMAS["collections"]["default"]
    assert config.collections is not VERIFY_PARAM_SCHEMAS["collections"]["default"]


def test_verify_config_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULTS.depth = "keys"  # type: ignore[misc]


# --- one bad param ---------------------------------------------------------------------

ISO_TIME = "an ISO 8601 date-time such as 2026-11-01T00:00:00Z"
INVALID = [
    pytest.param("depth", "FULL", "one of counts, keys, full", id="depth-wrong-case"),
    pytest.param("depth", "deep", "one of counts, keys, full", id="depth-unknown"),
    pytest.param("depth", "", "one of counts, keys, full", id="depth-empty"),
    pytest.param("depth", None, "one of counts, keys, full", id="depth-none"),
    pytest.param("depth", ["full"], "one of counts, keys, full", id="depth-list"),
    pytest.param("sample_size", 0, "empty or an integer from 1 to 1,000,000", id="sample-size-zero"),
    pytest.param("sample_size", -1, "empty or an integer from 1 to 1,000,000", id="sample-size-negative"),
    pytest.param(
        "sample_size", 1_000_001, "empty or an integer from 1 to 1,000,000", id="sample-size-too-big"
    ),
    pytest.param("sample_size", True, "empty or an integer from 1 to 1,000,000", id="sample-size-true"),
    pytest.param("sample_size", False, "empty or an integer from 1 to 1,000,000", id="sample-size-false"),
    pytest.param("sample_size", 5.0, "empty or an integer from 1 to 1,000,000", id="sample-size-float"),
    pytest.param("sample_size", "5", "empty or an integer from 1 to 1,000,000", id="sample-size-string"),
    pytest.param("sample_size", "", "empty or an integer from 1 to 1,000,000", id="sample-size-empty-string"),
    pytest.param("repair", "true", "true or false", id="repair-string"),
    pytest.param("repair", 1, "true or false", id="repair-int"),
    pytest.param("repair", None, "true or false", id="repair-none"),
    pytest.param("prune", "false", "true or false", id="prune-string"),
    pytest.param("prune", 0, "true or false", id="prune-int"),
    pytest.param("prune", None, "true or false", id="prune-none"),
    pytest.param("max_reported", -1, "an integer ≥ 0", id="max-reported-negative"),
    pytest.param("max_reported", True, "an integer ≥ 0", id="max-reported-bool"),
    pytest.param("max_reported", 1.5, "an integer ≥ 0", id="max-reported-float"),
    pytest.param("max_reported", "20", "an integer ≥ 0", id="max-reported-string"),
    pytest.param("max_reported", None, "an integer ≥ 0", id="max-reported-none"),
    pytest.param(
        "collections",
        [],
        "a non-empty list of distinct names from users, digital_twins, conversations, messages",
        id="collections-empty",
    ),
    pytest.param(
        "collections",
        ["users", "users"],
        "a non-empty list of distinct names from users, digital_twins, conversations, messages",
        id="collections-duplicate",
    ),
    pytest.param(
        "collections",
        ["avatar_conversations"],
        "a non-empty list of distinct names from users, digital_twins, conversations, messages",
        id="collections-target-name",
    ),
    pytest.param(
        "collections",
        "users",
        "a non-empty list of distinct names from users, digital_twins, conversations, messages",
        id="collections-string",
    ),
    pytest.param("mongo_db", 5, "a database name or empty", id="mongo-db-int"),
    pytest.param("firestore_conn_id", "", "a connection id", id="firestore-conn-empty"),
    pytest.param("mongo_conn_id", None, "a connection id", id="mongo-conn-none"),
    pytest.param("batch_size", 0, "an integer from 1 to 10,000", id="batch-size-zero"),
    pytest.param("batch_size", 10_001, "an integer from 1 to 10,000", id="batch-size-too-big"),
    pytest.param("batch_size", True, "an integer from 1 to 10,000", id="batch-size-bool"),
    pytest.param("partitions", 0, "an integer from 1 to 64", id="partitions-zero"),
    pytest.param("partitions", 65, "an integer from 1 to 64", id="partitions-too-many"),
    pytest.param("partitions", True, "an integer from 1 to 64", id="partitions-bool"),
    pytest.param("partitions", 2.0, "an integer from 1 to 64", id="partitions-float"),
    pytest.param("timeout_seconds", 0, "an integer from 1 to 3,600", id="timeout-zero"),
    pytest.param("timeout_seconds", 3_601, "an integer from 1 to 3,600", id="timeout-too-big"),
    pytest.param("timeout_seconds", "60", "an integer from 1 to 3,600", id="timeout-string"),
    pytest.param("max_reads_per_second", 0, "empty or an integer ≥ 1", id="read-rate-zero"),
    pytest.param("max_reads_per_second", True, "empty or an integer ≥ 1", id="read-rate-bool"),
    pytest.param("max_reads_per_second", 10.5, "empty or an integer ≥ 1", id="read-rate-float"),
    pytest.param("changed_since", "yesterday", ISO_TIME, id="changed-since-words"),
    pytest.param("changed_since", "2026-11-01T10:00:00 CET", ISO_TIME, id="changed-since-zone-name"),
    pytest.param("changed_since", "2026-13-01", ISO_TIME, id="changed-since-no-such-month"),
    pytest.param("changed_since", "2026-11-01T25:00:00Z", ISO_TIME, id="changed-since-no-such-hour"),
    pytest.param("changed_since", 1_700_000_000, ISO_TIME, id="changed-since-epoch-number"),
    pytest.param("changed_since", True, ISO_TIME, id="changed-since-bool"),
    pytest.param("changed_since", ["2026-11-01"], ISO_TIME, id="changed-since-list"),
]


@pytest.mark.parametrize(("name", "value", "expected"), INVALID)
def test_invalid_param_is_named(name: str, value: object, expected: str) -> None:
    assert problems_of({name: value}) == [f"{name}: {value!r} is not {expected}"]


@pytest.mark.parametrize(
    ("name", "minimum", "maximum"),
    [
        pytest.param("sample_size", 1, MAX_SAMPLE_SIZE, id="sample-size"),
        pytest.param("batch_size", 1, 10_000, id="batch-size"),
        pytest.param("partitions", 1, 64, id="partitions"),
        pytest.param("timeout_seconds", 1, 3_600, id="timeout-seconds"),
    ],
)
def test_schema_bounds_match_validation(name: str, minimum: int, maximum: int) -> None:
    schema = VERIFY_PARAM_SCHEMAS[name]
    assert (schema["minimum"], schema["maximum"]) == (minimum, maximum)
    assert getattr(VerifyConfig.from_params({name: minimum}), name) == minimum
    assert getattr(VerifyConfig.from_params({name: maximum}), name) == maximum
    for outside in (minimum - 1, maximum + 1):
        assert [problem.split(":")[0] for problem in problems_of({name: outside})] == [name]


# --- combinations ----------------------------------------------------------------------

SAMPLE_NEEDS_FULL = "sample_size: a sample compares content, so it needs depth full"
REPAIR_NEEDS_KEYS = "repair: counts don't say which documents to repair (use depth keys or full)"
PRUNE_NEEDS_REPAIR = "prune: deleting extra documents is part of a repair; set repair too"
PRUNE_NOT_SAMPLED = "prune: a sampled verify doesn't look for extra documents"
CHANGED_NOT_COUNTS = "changed_since: counts compare no documents (use depth keys or full)"
CHANGED_NOT_SAMPLED = (
    "changed_since: it compares the changed documents, not a sample (leave sample_size empty)"
)
SINCE = "2026-11-01T00:00:00Z"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"depth": "counts", "sample_size": 5}, [SAMPLE_NEEDS_FULL], id="sample-at-counts"),
        pytest.param({"depth": "keys", "sample_size": 5}, [SAMPLE_NEEDS_FULL], id="sample-at-keys"),
        pytest.param({"depth": "counts", "repair": True}, [REPAIR_NEEDS_KEYS], id="repair-at-counts"),
        pytest.param({"prune": True}, [PRUNE_NEEDS_REPAIR], id="prune-without-repair"),
        pytest.param({"depth": "keys", "prune": True}, [PRUNE_NEEDS_REPAIR], id="prune-without-repair-keys"),
        pytest.param(
            {"repair": True, "prune": True, "sample_size": 5}, [PRUNE_NOT_SAMPLED], id="prune-a-sample"
        ),
        pytest.param(
            {"prune": True, "sample_size": 5},
            [PRUNE_NEEDS_REPAIR, PRUNE_NOT_SAMPLED],
            id="prune-a-sample-without-repair",
        ),
        pytest.param(
            {"depth": "counts", "sample_size": 5, "repair": True, "prune": True},
            [SAMPLE_NEEDS_FULL, REPAIR_NEEDS_KEYS, PRUNE_NOT_SAMPLED],
            id="three-rules-at-once",
        ),
        pytest.param(
            {"depth": "keys", "sample_size": 5, "prune": True},
            [SAMPLE_NEEDS_FULL, PRUNE_NEEDS_REPAIR, PRUNE_NOT_SAMPLED],
            id="sample-and-prune-at-keys",
        ),
        pytest.param(
            {"changed_since": SINCE, "depth": "counts"}, [CHANGED_NOT_COUNTS], id="changed-at-counts"
        ),
        pytest.param(
            {"changed_since": SINCE, "sample_size": 5}, [CHANGED_NOT_SAMPLED], id="changed-and-a-sample"
        ),
        pytest.param(
            {"changed_since": SINCE, "depth": "keys", "sample_size": 5},
            [SAMPLE_NEEDS_FULL, CHANGED_NOT_SAMPLED],
            id="changed-and-a-sample-at-keys",
        ),
        pytest.param(
            {"changed_since": SINCE, "depth": "counts", "repair": True},
            [REPAIR_NEEDS_KEYS, CHANGED_NOT_COUNTS],
            id="changed-repair-at-counts",
        ),
        pytest.param(
            {"changed_since": SINCE, "prune": True}, [PRUNE_NEEDS_REPAIR], id="changed-prune-without-repair"
        ),
        pytest.param(
            {"changed_since": SINCE, "depth": "counts", "sample_size": 5},
            [SAMPLE_NEEDS_FULL, CHANGED_NOT_COUNTS, CHANGED_NOT_SAMPLED],
            id="changed-sample-at-counts",
        ),
    ],
)
def test_combination_rules(params: dict, expected: list[str]) -> None:
    # Compared whole: the rules' own text holds "; ", the separator between problems.
    with pytest.raises(ParamError) as excinfo:
        VerifyConfig.from_params(params)
    assert str(excinfo.value) == "invalid params: " + "; ".join(expected)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"depth": "counts"}, id="counts-alone"),
        pytest.param({"depth": "counts", "prune": False, "repair": False}, id="counts-no-repair"),
        pytest.param({"depth": "keys", "repair": True, "prune": True}, id="prune-at-keys"),
        pytest.param({"depth": "full", "sample_size": 5, "repair": True}, id="repair-a-full-sample"),
    ],
)
def test_allowed_combinations(params: dict) -> None:
    config = VerifyConfig.from_params(params)
    assert dataclasses.asdict(config) == dataclasses.asdict(DEFAULTS) | params


def test_every_bad_param_is_named_in_schema_order() -> None:
    problems = problems_of(
        {
            "max_reads_per_second": 0,
            "timeout_seconds": 0,
            "partitions": 0,
            "batch_size": 0,
            "mongo_conn_id": "",
            "firestore_conn_id": None,
            "mongo_db": 1,
            "collections": [],
            "max_reported": -1,
            "prune": "no",
            "repair": "no",
            "changed_since": "soon",
            "sample_size": 0,
            "depth": "deep",
        }
    )
    assert [problem.split(":")[0] for problem in problems] == list(PARAM_NAMES)


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"changed_since": "", "depth": "counts"}, id="empty-at-counts"),
        pytest.param({"changed_since": None, "sample_size": 5}, id="none-with-a-sample"),
    ],
)
def test_an_empty_changed_since_combines_with_anything(params: dict) -> None:
    assert VerifyConfig.from_params(params).changed_since is None


def test_a_bad_changed_since_is_named_before_combinations_are_checked() -> None:
    assert problems_of({"changed_since": "soon", "depth": "counts", "batch_size": 0}) == [
        f"changed_since: 'soon' is not {ISO_TIME}",
        "batch_size: 0 is not an integer from 1 to 10,000",
    ]


def test_bad_values_are_reported_before_combinations_are_checked() -> None:
    # `depth` is bad, so whether a sample needs depth full is not asked yet.
    assert problems_of({"depth": "deep", "sample_size": 5, "prune": "yes"}) == [
        "depth: 'deep' is not one of counts, keys, full",
        "prune: 'yes' is not true or false",
    ]


# --- config.validated ------------------------------------------------------------------

SCHEMAS = {
    "batch_size": PARAM_SCHEMAS["batch_size"],
    "depth": VERIFY_PARAM_SCHEMAS["depth"],
    "free_text": {"default": "anything"},
}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({}, {"batch_size": 500, "depth": "full", "free_text": "anything"}, id="defaults"),
        pytest.param(
            {"batch_size": 7, "extra": 1},
            {"batch_size": 7, "depth": "full", "free_text": "anything"},
            id="params-outside-the-schemas-dropped",
        ),
        pytest.param(
            {"free_text": ["no", "rule"]},
            {"batch_size": 500, "depth": "full", "free_text": ["no", "rule"]},
            id="a-name-without-a-rule-takes-any-value",
        ),
        pytest.param(
            {"depth": "counts", "batch_size": 10_000},
            {"batch_size": 10_000, "depth": "counts", "free_text": "anything"},
            id="values-kept",
        ),
    ],
)
def test_validated(params: dict, expected: dict) -> None:
    values = validated(SCHEMAS, params)
    assert values == expected
    assert list(values) == list(SCHEMAS)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"batch_size": 0},
            "invalid params: batch_size: 0 is not an integer from 1 to 10,000",
            id="one",
        ),
        pytest.param(
            {"depth": "x", "batch_size": "1"},
            "invalid params: batch_size: '1' is not an integer from 1 to 10,000; "
            "depth: 'x' is not one of counts, keys, full",
            id="two-in-schema-order",
        ),
    ],
)
def test_validated_names_every_bad_param(params: dict, expected: str) -> None:
    with pytest.raises(ParamError) as excinfo:
        validated(SCHEMAS, params)
    assert str(excinfo.value) == expected


def test_validated_checks_defaults_too() -> None:
    with pytest.raises(ParamError, match=r"^invalid params: batch_size: 0 is not "):
        validated({"batch_size": {"default": 0}}, {})
