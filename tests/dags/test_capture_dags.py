"""DAG integrity of change capture and the cut-over: their shape, schedule and params, and
a bad param that fails before any work."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.capture.config import CaptureConfig
from include.firestore_to_mongo.cutover.config import CutoverConfig
from include.firestore_to_mongo.run.params import ParamError


def test_capture_is_one_continuous_task_one_run_at_a_time(dagbag):
    dag = dagbag.dags["firestore_to_mongo_capture"]
    assert dag.task_ids == ["capture"]
    assert type(dag.timetable).__name__ == "ContinuousTimetable"
    assert dag.max_active_runs == 1
    assert not dag.catchup
    assert dag.doc_md
    # An operator turns it on by unpausing it: every param has a default that works.
    assert dag.params.validate() == {
        "run_minutes": 10,
        "retention_days": 7,
        "mongo_db": None,
        "firestore_conn_id": "google_cloud_default",
        "mongo_conn_id": "mongo_default",
        "timeout_seconds": 60,
    }


def test_cutover_is_manual_and_its_verdict_runs_whatever_happened_before(dagbag):
    dag = dagbag.dags["firestore_to_mongo_cutover"]
    assert type(dag.timetable).__name__ == "NullTimetable"
    assert dag.get_task("verify_changes").upstream_task_ids == {"catch_up"}
    assert dag.get_task("verdict").upstream_task_ids == {"verify_changes"}
    assert dag.get_task("verdict").trigger_rule == "all_done"
    assert dag.params.validate()["timeout_minutes"] == 10


@pytest.mark.parametrize(
    ("config", "params", "named"),
    [
        (CaptureConfig, {"run_minutes": 0}, "run_minutes"),
        (CaptureConfig, {"run_minutes": 721}, "run_minutes"),
        (CaptureConfig, {"retention_days": 0}, "retention_days"),
        (CaptureConfig, {"timeout_seconds": "soon"}, "timeout_seconds"),
        (CutoverConfig, {"timeout_minutes": 0}, "timeout_minutes"),
        (CutoverConfig, {"repair": "yes"}, "repair"),
        (CutoverConfig, {"prune": True}, "prune needs repair"),
    ],
)
def test_a_bad_param_fails_before_any_work(config, params, named):
    with pytest.raises(ParamError, match=named):
        config.from_params(params)


def test_the_cutover_verifies_in_full_what_changed_since_a_time():
    from datetime import UTC, datetime

    since = datetime(2026, 12, 1, tzinfo=UTC)
    verify = CutoverConfig.from_params({"repair": True, "prune": True}).verify_config(since)
    assert (verify.depth, verify.changed_since, verify.repair, verify.prune) == ("full", since, True, True)
