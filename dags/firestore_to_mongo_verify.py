"""
# Firestore → MongoDB: verify

Proves that MongoDB equals Firestore under the migration's mapping contract, names
every difference, and repairs it when asked. Run it before cut-over (see
docs/verify.md); it uses the migration's connections, partitions,
reader, mapping and writer.

Per collection, `<name>_plan` splits the read into `partitions` as the migration
does; `<name>`, one mapped instance per partition, reads its documents in pages,
maps each one by the contract and looks the page's keys up in MongoDB with one
find; what doesn't match is read again on both sides at the end of the partition,
so that a document that changed during the verify is reported as
`changed_during_verify`, not as a difference. `<name>_done` finds extra MongoDB
documents (keys no source document has) and counts both sides.

**Depth.** `counts`: count aggregations only. `keys`: also the missing and extra
documents (one read per source document). `full` (default): also every document's
content, with BSON types (`2` ≠ `2.0`). `sample_size` compares only that many
documents per collection, spread over it: reported as `sampled`, never `verified`.

**Changed since.** `changed_since` (an ISO 8601 time) compares only the documents
change capture journaled since then, read by path (one read each), plus one count
per collection; a journaled path whose document is gone must not have its key in
MongoDB (else `extra`). One partition per collection. It needs capture's change
journal to reach back that far (else the plan fails, naming both times), and depth
`keys` or `full` without a sample. A clean collection reads `verified since <time>`.

**Repair.** `repair` writes the mapped source document for every missing or
different one, with the migration's writer (keys the source lost go too), and
checks it again; `prune` also deletes the extra ones.

**Report.** `summary` logs lines of at most 120 characters: a table (status,
depth, source, target, missing, extra, different, changing, repaired, wall
seconds, docs/s), a block per collection (compared, equal, pruned, the rate per
partition, notes, and the top reasons of the differences, moving documents, key
conflicts, unmappable documents and failed repairs), and the first
`max_reported` differences of each; it returns the figures as its XCom (not
printed into the log), and fails the run while differences remain.
Every difference (up to 10,000 per collection and run, last 20 runs) is kept in
`_firestore_to_mongo_verify` in the target database.

Manual unless `FIRESTORE_TO_MONGO_VERIFY_SCHEDULE` sets a schedule (`none`: manual).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from include.firestore_to_mongo.verify.config import COLLECTION_NAMES, VERIFY_SCHEDULE_ENV, trigger_params

SCHEDULE = os.environ.get(VERIFY_SCHEDULE_ENV, "none")
MAX_ACTIVE_PARTITIONS = int(os.environ.get("FIRESTORE_TO_MONGO_MAX_ACTIVE_PARTITIONS", "4"))
# Every task returns figures for XCom (a partition's or a collection's report with its
# reasons and dropped keys, the summary's whole table): kept whole there, not dumped into
# the log, where the summary prints its own table (lines of at most 120 characters).
QUIET = {"show_return_value_in_logs": False}


@dag(
    dag_id="firestore_to_mongo_verify",
    schedule=None if SCHEDULE.strip().lower() in ("", "none") else SCHEDULE,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # One verify at a time: a run's key ledgers are its own, and a new run drops stale ones.
    max_active_runs=1,
    doc_md=__doc__,
    params=trigger_params(),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    tags=["firestore", "mongodb", "migration", "verify"],
)
def firestore_to_mongo_verify():
    @task(**QUIET)
    def plan(collection: str, params=None, ti=None) -> list:
        """Split one collection's read into partitions, as the migration does."""
        from include.firestore_to_mongo.verify.plan import plan_verify_task

        return plan_verify_task(collection, params, ti)

    @task(multiple_outputs=False, max_active_tis_per_dag=MAX_ACTIVE_PARTITIONS, **QUIET)
    def verify(collection: str, work: dict, params=None, ti=None) -> dict:
        """Compare one partition with MongoDB, re-check what differs, repair it when asked."""
        from include.firestore_to_mongo.verify.partition import verify_partition_task

        return verify_partition_task(collection, work, params, ti)

    # all_done: a collection is reported (as failed) even when a partition failed.
    @task(trigger_rule="all_done", multiple_outputs=False, **QUIET)
    def done(collection: str, params=None, ti=None) -> dict:
        """Add the partitions up, settle key conflicts, find extra documents, count both sides."""
        from include.firestore_to_mongo.verify.finish import finish_verify_task

        return finish_verify_task(collection, params, ti)

    @task(trigger_rule="all_done", multiple_outputs=False, **QUIET)
    def summary(params=None, ti=None) -> dict:
        """Log the table and the first differences; fail the run while differences remain."""
        from include.firestore_to_mongo.verify.summary import summary_verify_task

        return summary_verify_task(params, ti)

    finished = []
    for name in COLLECTION_NAMES:
        work = plan.override(task_id=f"{name}_plan")(name)
        parts = verify.override(task_id=name).partial(collection=name).expand(work=work)
        finish = done.override(task_id=f"{name}_done")(name)
        parts >> finish
        finished.append(finish)
    finished >> summary()


firestore_to_mongo_verify()
