"""A scheduled migration run stands aside while change capture runs; a run triggered by
hand goes ahead (capture hands it the writer lease). On the Mongo test server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from include.firestore_to_mongo.migrate import plan
from include.firestore_to_mongo.target.capture_state import LIVE_SECONDS, CaptureState

pytestmark = pytest.mark.integration

# The status's age when the rule is asked, in seconds.
FRESH, STALE = 0, LIVE_SECONDS + 5


@pytest.mark.parametrize(
    ("run_type", "status", "stands_aside"),
    [
        ("scheduled", {"state": "running", "heartbeat_at": FRESH}, True),
        ("scheduled", {"state": "waiting", "heartbeat_at": FRESH}, True),
        ("manual", {"state": "running", "heartbeat_at": FRESH}, False),
        ("asset_triggered", {"state": "running", "heartbeat_at": FRESH}, False),
        ("scheduled", None, False),
        ("scheduled", {"state": "stopped", "heartbeat_at": FRESH}, False),
        ("scheduled", {"state": "running", "heartbeat_at": STALE}, False),
    ],
)
def test_a_scheduled_run_stands_aside_while_capture_runs(
    mongo_db, monkeypatch, run_type, status, stands_aside
):
    if status is not None:
        age = timedelta(seconds=status["heartbeat_at"])
        CaptureState(mongo_db).update_status(
            status | {"run_id": "scheduled__x", "heartbeat_at": datetime.now(UTC) - age}
        )
    monkeypatch.setattr(plan, "current_dag_run", lambda: SimpleNamespace(run_type=run_type))
    reason = plan._stand_aside_for_capture(mongo_db, "users")
    assert (reason is not None) == stands_aside
    if stands_aside:
        assert "change capture (scheduled__x) is keeping MongoDB in sync" in reason
