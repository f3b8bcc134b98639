"""Unit tests for include.firestore_to_mongo.run.tasks: a task's validated config (a bad param
fails once, without retries; a collection the run leaves out is skipped), the run's key, and
the partitions' figures a `<name>_done` task pulls."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.run.tasks import (
    PARTITION_REPORT,
    config_for,
    now_iso,
    partition_reports,
    run_key_of,
    wall_clock,
)
from include.firestore_to_mongo.verify.config import VerifyConfig


class TaskInstance:
    """Stands in for Airflow's task instance: XComs by (task id, key, map index)."""

    dag_id, run_id = "firestore_to_mongo", "manual__2026-12-05T00:00:00+00:00"

    def __init__(self, pushed: dict[int, dict] | None = None) -> None:
        self.pushed = pushed or {}
        self.asked: list[tuple] = []

    def xcom_pull(self, task_ids, key, map_indexes):
        self.asked.append((task_ids, key, map_indexes))
        found = [self.pushed.get(index) for index in map_indexes]
        # Airflow hands back the value itself when one map index is asked for.
        return found[0] if len(map_indexes) == 1 else found


@pytest.mark.parametrize("config_class", [RunConfig, VerifyConfig])
def test_a_valid_run_gives_the_config(config_class) -> None:
    config = config_for("users", {"batch_size": 7}, config_class)
    assert isinstance(config, config_class)
    assert config.batch_size == 7


@pytest.mark.parametrize(
    ("config_class", "params", "named"),
    [
        pytest.param(RunConfig, {"mode": "sometimes"}, "mode", id="migration-bad-enum"),
        pytest.param(RunConfig, {"batch_size": 0}, "batch_size", id="migration-out-of-range"),
        pytest.param(VerifyConfig, {"depth": "deep"}, "depth", id="verify-bad-enum"),
        pytest.param(VerifyConfig, {"prune": True}, "prune", id="verify-bad-combination"),
    ],
)
def test_a_bad_param_fails_the_task_without_retries(config_class, params: dict, named: str) -> None:
    with pytest.raises(AirflowFailException, match=named):
        config_for("users", params, config_class)


def test_a_collection_the_run_leaves_out_is_skipped() -> None:
    with pytest.raises(AirflowSkipException, match="messages is not in this run's collections"):
        config_for("messages", {"collections": ["users"]}, RunConfig)


def test_the_run_key_is_dag_and_run() -> None:
    assert run_key_of(TaskInstance()) == "firestore_to_mongo/manual__2026-12-05T00:00:00+00:00"


@pytest.mark.parametrize(
    ("count", "pushed", "expected"),
    [
        pytest.param(0, {}, [], id="no-partitions-asks-nothing"),
        pytest.param(1, {0: {"partition": 0}}, [{"partition": 0}], id="one-partition-one-value"),
        pytest.param(
            3,
            {0: {"partition": 0}, 2: {"partition": 2}},
            [{"partition": 0}, {"partition": 2}],
            id="a-crashed-partition-pushed-nothing",
        ),
        pytest.param(1, {}, [], id="the-only-partition-crashed"),
    ],
)
def test_partition_reports(count: int, pushed: dict, expected: list) -> None:
    ti = TaskInstance(pushed)
    assert partition_reports(ti, "messages", count) == expected
    assert ti.asked == ([("messages", PARTITION_REPORT, list(range(count)))] if count else [])


T0 = "2026-11-29T12:00:00+00:00"


def at(seconds: float) -> str:
    from datetime import datetime, timedelta

    return (datetime.fromisoformat(T0) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param([], (None, None, None), id="no-partitions"),
        pytest.param([{"started_at": at(0), "ended_at": at(8)}], (at(0), at(8), 8.0), id="one"),
        pytest.param(
            [
                {"started_at": at(3), "ended_at": at(10)},
                {"started_at": at(0), "ended_at": at(4)},
                {"started_at": at(1), "ended_at": at(9.5)},
            ],
            (at(0), at(10), 10.0),
            id="side-by-side-first-start-to-last-end",
        ),
        pytest.param(
            [{"started_at": at(0), "ended_at": at(4)}, {"started_at": at(60), "ended_at": at(61.25)}],
            (at(0), at(61.25), 61.25),
            id="one-after-the-other-the-gap-counts",
        ),
        pytest.param(
            [{"started_at": "2026-11-29T13:00:00+01:00", "ended_at": at(2)}],
            ("2026-11-29T13:00:00+01:00", at(2), 2.0),
            id="offsets-compared-as-instants",
        ),
        pytest.param(
            [{"started_at": at(0), "ended_at": at(4)}, {"seconds": 3.0}],
            (None, None, None),
            id="a-partition-from-an-older-version",
        ),
    ],
)
def test_wall_clock(parts: list[dict], expected: tuple) -> None:
    assert wall_clock(parts) == expected


def test_now_iso_is_utc() -> None:
    assert now_iso().endswith("+00:00")
