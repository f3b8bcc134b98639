"""
# Firestore → MongoDB: cut-over

Trigger it once the app has stopped writing to Firestore, with change capture
(`firestore_to_mongo_capture`) running, after a full verify of every collection
(`firestore_to_mongo_verify`) that ended `verified` or `changing` while the app ran.

1. `catch_up` waits until capture has applied everything up to a read time taken
   after the trigger (at most `timeout_minutes`), and blocks if capture is not
   running or not caught up.
2. `verify_changes` verifies, at full depth, only what the change journal lists since
   the start of that full verify (and repairs it with `repair`, prunes with `prune`).
3. `verdict` says `safe_to_switch` or `blocked`, with the reasons, and
   `freeze_seconds`: from the trigger to the verdict, the time the app had to wait.
   It returns both with the figures, and fails the run when blocked.

See docs/cutover.md, with the cut-over checklist.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from include.firestore_to_mongo.cutover.config import CUTOVER_DAG_ID, trigger_params


@dag(
    dag_id=CUTOVER_DAG_ID,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    params=trigger_params(),
    # No retries: a cut-over that blocks says why, and the operator decides.
    default_args={"retries": 0},
    tags=["firestore", "mongodb", "migration", "cutover"],
)
def firestore_to_mongo_cutover():
    @task
    def catch_up(params=None, ti=None) -> dict:
        """Wait until change capture has applied everything up to a read time after the trigger."""
        from include.firestore_to_mongo.cutover.tasks import catch_up_task

        return catch_up_task(params, ti)

    @task
    def verify_changes(params=None, ti=None) -> dict:
        """Verify what changed since the last full verify; repair it when asked."""
        from include.firestore_to_mongo.cutover.tasks import verify_changes_task

        return verify_changes_task(params, ti)

    @task(trigger_rule="all_done")
    def verdict(params=None, ti=None) -> dict:
        """safe_to_switch or blocked, the reasons, and freeze_seconds."""
        from include.firestore_to_mongo.cutover.tasks import verdict_task

        return verdict_task(params, ti)

    catch_up() >> verify_changes() >> verdict()


firestore_to_mongo_cutover()
