"""Capture and the other writers race, and the newest version wins: a full run, and a
verify repair, read a document, Firestore changes it, and the run writes the version it
read. Capture, which would have applied the newer one first, hands over its writer lease
and applies it after the run instead. The real DAGs (dag.test), capture in a thread (as
the continuous schedule runs it), the emulator and the Mongo test server."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.writer_lease import TicketedWriter
from tests.capture_support import assert_target_equals_source, commit_time
from tests.include.capture.test_session import seed
from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag

pytestmark = pytest.mark.integration

# A short lease, so that capture notices a run's request within seconds (it checks at a
# quarter of it).
FAST = {"continuous": True, "lease_seconds": 10, "wait_poll_seconds": 0.2}


def change_before_the_write(monkeypatch, client, running, path: str, fields: dict) -> list:
    """Just before a run writes the batch holding `path` (read at the version before),
    Firestore changes it; then the run writes only once capture has either applied the
    change (as it would without turns: then the run's older write lands last) or been
    seen waiting for its turn since the change."""
    write = TicketedWriter.write
    commits = []

    def racing_write(self, documents):
        if not commits and any(document.path == path for document in documents):
            commits.append(commit_time(client.document(path).update(fields)))
            state = CaptureState(running.database)

            def capture_applied_or_waits() -> bool:
                checkpoint, status = state.checkpoint(), state.read_status() or {}
                waiting = status.get("state") == "waiting" and status["heartbeat_at"] > commits[0]
                return (checkpoint is not None and checkpoint >= commits[0]) or waiting

            running.wait_for(capture_applied_or_waits, "apply the change, or wait for its turn")
        return write(self, documents)

    monkeypatch.setattr(TicketedWriter, "write", racing_write)
    return commits


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    return firestore_client


def test_capture_against_a_full_run(seeded, mongo_db, capture, monkeypatch):
    client = seeded
    running = capture(**FAST)
    running.caught_up(seed(client))
    commits = change_before_the_write(monkeypatch, client, running, "users/u1", {"username": "newest"})

    result = run_dag({"mode": "full", "collections": ["users"]})

    assert result.state == "success", result.task_states
    assert commits, "the run never wrote users/u1"
    running.caught_up(commits[0])
    running.finish()
    assert mongo_db.users.find_one({"user_id": "u1"})["username"] == "newest"
    assert_target_equals_source(client, mongo_db)


def test_capture_against_a_verify_repair(seeded, mongo_db, capture, monkeypatch):
    client = seeded
    running = capture(**FAST)
    running.caught_up(seed(client))
    # A difference for the repair to write: u1 changed in MongoDB by hand.
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"username": "tampered"}})
    commits = change_before_the_write(monkeypatch, client, running, "users/u1", {"username": "newest"})

    run_dag({"collections": ["users"], "repair": True}, dag_id=VERIFY_DAG_ID)

    assert commits, "the repair never wrote users/u1"
    running.caught_up(commits[0])
    running.finish()
    assert mongo_db.users.find_one({"user_id": "u1"})["username"] == "newest"
    assert_target_equals_source(client, mongo_db)
