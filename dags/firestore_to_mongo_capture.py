"""
# Firestore → MongoDB: change capture

Keeps MongoDB following Firestore within seconds. Unpause this DAG to turn capture on;
pause it to turn it off (the running run ends within `run_minutes`; to stop it at once, also
mark that run failed: capture writes what it holds, checkpoints and hands over). Nothing
else to set.

One task, `capture`, listens to Firestore's Listen API over `users`, `digital_twins`
and the `conversations` and `messages` collection groups, and applies every create,
update and delete through the migration's own mapping, writer and key-conflict rule,
in micro-batches (every 2 s or 500 changes). After every consistent point of the
stream it stores a checkpoint (a read time) in the target database; the task runs
for `run_minutes`, then ends, and the next run (the schedule is continuous) resumes
from the checkpoint: one worker slot, and a readable log per run.

Figures every 30 s in the log and on the sync page: changes seen, inserted, updated,
unchanged, deleted and failed per collection, lag (p50, p95, max), checkpoint, and
Firestore documents received. Every path applied goes to the change journal
(`_firestore_to_mongo_changes`), which a verify with `changed_since` and the cut-over
read.

Capture and the migration's runs (and verify repairs) take turns writing: a run asks
for its turn, capture writes what it holds, checkpoints and waits until the run is
done. See docs/operations/capture.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from include.firestore_to_mongo.capture.config import CAPTURE_DAG_ID, trigger_params


@dag(
    dag_id=CAPTURE_DAG_ID,
    schedule="@continuous",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Continuous: one run at a time, each resuming from the last one's checkpoint.
    max_active_runs=1,
    # Off until an operator unpauses it, whatever the deployment's default.
    is_paused_upon_creation=True,
    doc_md=__doc__,
    params=trigger_params(),
    default_args={"retries": 1, "retry_delay": timedelta(seconds=10)},
    tags=["firestore", "mongodb", "migration", "capture"],
)
def firestore_to_mongo_capture():
    @task
    def capture(params=None, ti=None) -> dict:
        """Listen and apply for `run_minutes` from the checkpoint, then end."""
        from include.firestore_to_mongo.capture.task import capture_task

        return capture_task(params, ti)

    capture()


firestore_to_mongo_capture()
