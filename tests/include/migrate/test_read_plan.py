"""Unit tests for include.firestore_to_mongo.migrate.read_plan.plan_read: what a run reads and writes per collection."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from include.firestore_to_mongo.contract.specs import (
    CONVERSATIONS,
    DIGITAL_TWINS,
    MESSAGES,
    USERS,
    CollectionSpec,
)
from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.read_plan import ReadPlan, plan_read

WATERMARK = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SINCE = "2026-10-01T08:30:00Z"
SINCE_AT = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)
FULL = ReadPlan("full", None, None, find_deleted=True)
FIRST_RUN = ReadPlan("full (no watermark)", None, None, find_deleted=True)
ALL_SPECS = [
    pytest.param(USERS, id="users"),
    pytest.param(DIGITAL_TWINS, id="digital-twins"),
    pytest.param(CONVERSATIONS, id="conversations"),
    pytest.param(MESSAGES, id="messages"),
]


def reads(start: datetime) -> ReadPlan:
    return ReadPlan("incremental", read_since=start, write_since=None, find_deleted=False)


def writes(start: datetime) -> ReadPlan:
    return ReadPlan("incremental", read_since=None, write_since=start, find_deleted=False)


@pytest.mark.parametrize("spec", ALL_SPECS)
@pytest.mark.parametrize(
    ("params", "watermark"),
    [
        pytest.param({"mode": "full"}, None, id="no-watermark"),
        pytest.param({"mode": "full"}, WATERMARK, id="watermark-ignored"),
        pytest.param({"mode": "full", "since": SINCE}, WATERMARK, id="since-ignored"),
        pytest.param({"mode": "full", "prune": True, "lookback_minutes": 0}, None, id="prune"),
    ],
)
def test_full_mode(spec: CollectionSpec, params: dict, watermark: datetime | None) -> None:
    assert plan_read(spec, RunConfig.from_params(params), watermark) == FULL


@pytest.mark.parametrize(
    ("spec", "params", "watermark", "expected"),
    [
        # `since` replaces the watermark, without look-back.
        pytest.param(CONVERSATIONS, {"since": SINCE}, None, reads(SINCE_AT), id="since-conversations"),
        pytest.param(MESSAGES, {"since": SINCE}, None, reads(SINCE_AT), id="since-messages"),
        pytest.param(USERS, {"since": SINCE}, None, writes(SINCE_AT), id="since-users"),
        pytest.param(DIGITAL_TWINS, {"since": SINCE}, None, writes(SINCE_AT), id="since-digital-twins"),
        pytest.param(MESSAGES, {"since": SINCE}, WATERMARK, reads(SINCE_AT), id="since-beats-watermark"),
        pytest.param(USERS, {"since": SINCE}, WATERMARK, writes(SINCE_AT), id="since-beats-watermark-users"),
        pytest.param(
            MESSAGES,
            {"since": "2027-01-01T00:00:00Z"},
            WATERMARK,
            reads(datetime(2027, 1, 1, tzinfo=UTC)),
            id="since-after-watermark",
        ),
        pytest.param(
            CONVERSATIONS,
            {"since": SINCE, "lookback_minutes": 60},
            WATERMARK,
            reads(SINCE_AT),
            id="since-has-no-lookback",
        ),
        pytest.param(
            USERS, {"since": ""}, WATERMARK, writes(WATERMARK - timedelta(minutes=10)), id="since-empty"
        ),
        # The watermark, less the look-back.
        pytest.param(
            CONVERSATIONS,
            {},
            WATERMARK,
            reads(WATERMARK - timedelta(minutes=10)),
            id="watermark-conversations",
        ),
        pytest.param(
            MESSAGES, {}, WATERMARK, reads(datetime(2026, 11, 1, 11, 50, tzinfo=UTC)), id="watermark-messages"
        ),
        pytest.param(USERS, {}, WATERMARK, writes(WATERMARK - timedelta(minutes=10)), id="watermark-users"),
        pytest.param(
            DIGITAL_TWINS,
            {},
            WATERMARK,
            writes(WATERMARK - timedelta(minutes=10)),
            id="watermark-digital-twins",
        ),
        pytest.param(
            MESSAGES, {"lookback_minutes": 0}, WATERMARK, reads(WATERMARK), id="watermark-no-lookback"
        ),
        pytest.param(
            USERS,
            {"lookback_minutes": 10_080},
            WATERMARK,
            writes(datetime(2026, 10, 25, 12, 0, tzinfo=UTC)),
            id="watermark-week-lookback",
        ),
        pytest.param(
            CONVERSATIONS,
            {"lookback_minutes": 1},
            datetime(2026, 1, 1, 0, 0, 30, 5000, tzinfo=UTC),
            reads(datetime(2025, 12, 31, 23, 59, 30, 5000, tzinfo=UTC)),
            id="lookback-crosses-year",
        ),
        pytest.param(
            USERS,
            {"mode": "incremental", "dry_run": True},
            WATERMARK,
            writes(WATERMARK - timedelta(minutes=10)),
            id="dry-run-same-plan",
        ),
    ],
)
def test_incremental(
    spec: CollectionSpec, params: dict, watermark: datetime | None, expected: ReadPlan
) -> None:
    assert RunConfig.from_params(params).mode == "incremental"
    assert plan_read(spec, RunConfig.from_params(params), watermark) == expected


@pytest.mark.parametrize("spec", ALL_SPECS)
@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"mode": "incremental", "since": None}, id="since-none"),
        pytest.param({"since": ""}, id="since-empty"),
        pytest.param({"lookback_minutes": 0, "prune": True}, id="other-params"),
    ],
)
def test_incremental_without_watermark_runs_in_full(spec: CollectionSpec, params: dict) -> None:
    assert plan_read(spec, RunConfig.from_params(params), None) == FIRST_RUN


def test_read_plan_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        FULL.mode = "incremental"  # type: ignore[misc]
