"""The cut-over DAG: `safe_to_switch` after quiet writes, `blocked` with the reason when
capture is not running or behind, and when a planted difference remains without repair.
The real DAGs (dag.test), capture in a thread as its continuous schedule runs it, the
emulator and the Mongo test server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.target.capture_state import CaptureState
from tests.capture_support import assert_target_equals_source, commit_time
from tests.include.capture.test_session import M, seed
from tests.integration.dag_runner import CUTOVER_DAG_ID, VERIFY_DAG_ID, run_dag

pytestmark = pytest.mark.integration

FAST = {"continuous": True, "lease_seconds": 10, "wait_poll_seconds": 0.2}


@pytest.fixture
def verified(firestore_client, airflow_db, airflow_connections, mongo_db, capture):
    """The checklist up to the freeze: a full migration, capture on and caught up, a full
    verify while the app runs; then the app writes a little more."""
    client = firestore_client
    seeded = seed(client)
    assert run_dag({"mode": "full"}).state == "success"
    running = capture(**FAST)
    running.caught_up(seeded)
    full = run_dag({}, dag_id=VERIFY_DAG_ID)
    assert full.state == "success", full.summary
    last = max(
        commit_time(write)
        for write in [
            client.document(f"{M}/m3").set(
                {"role": "user", "content": "late", "timestamp": datetime.now(UTC)}
            ),
            client.document(f"{M}/m1").update({"content": "edited, no cursor bump"}),
            client.document("users/u2").delete(),
        ]
    )
    running.caught_up(last)
    return client, running


def test_safe_to_switch_after_quiet_writes(verified, mongo_db):
    client, running = verified
    result = run_dag({}, dag_id=CUTOVER_DAG_ID)
    verdict = result.xcoms["verdict"]
    assert result.state == "success", verdict
    assert verdict["verdict"] == "safe_to_switch"
    assert verdict["reasons"] == []
    assert 0 < verdict["freeze_seconds"] < 600
    # Only what changed was read: the three changed messages' and users' paths.
    messages = verdict["collections"]["messages"]
    assert messages["status"].startswith("verified since")
    assert messages["compared"] == 2
    assert_target_equals_source(client, mongo_db)
    running.finish()


def test_blocked_while_a_planted_difference_remains_and_safe_after_repair(verified, mongo_db):
    _, running = verified
    mongo_db.avatar_conversations.update_one({"message_id": "m3"}, {"$set": {"message": "tampered"}})

    blocked = run_dag({}, dag_id=CUTOVER_DAG_ID)
    verdict = blocked.xcoms["verdict"]
    assert blocked.state == "failed"
    assert verdict["verdict"] == "blocked"
    assert any(reason.startswith("messages: 1 differences remain") for reason in verdict["reasons"]), verdict

    repaired = run_dag({"repair": True}, dag_id=CUTOVER_DAG_ID)
    assert repaired.xcoms["verdict"]["verdict"] == "safe_to_switch", repaired.xcoms["verdict"]
    assert mongo_db.avatar_conversations.find_one({"message_id": "m3"})["message"] == "late"
    running.finish()


def test_blocked_when_capture_is_not_running(verified, mongo_db):
    _, running = verified
    running.finish()
    # Its status goes stale as a killed capture's would.
    CaptureState(mongo_db).update_status({"heartbeat_at": datetime(2026, 1, 1, tzinfo=UTC)})
    result = run_dag({}, dag_id=CUTOVER_DAG_ID)
    verdict = result.xcoms["verdict"]
    assert verdict["verdict"] == "blocked"
    assert "change capture is not running" in verdict["reasons"][0]


def test_blocked_when_capture_is_behind(verified, mongo_db):
    _, running = verified
    running.finish()
    # A capture that says it runs (a fresh heartbeat) but applies nothing: stuck, or slow.
    CaptureState(mongo_db).update_status({"state": "running", "heartbeat_at": datetime.now(UTC)})
    result = run_dag({"timeout_minutes": 1}, dag_id=CUTOVER_DAG_ID)
    verdict = result.xcoms["verdict"]
    assert verdict["verdict"] == "blocked"
    assert "did not catch up within 1 minutes" in verdict["reasons"][0]
