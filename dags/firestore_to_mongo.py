"""
# Firestore → MongoDB

Copies an app's Firestore data into MongoDB, and keeps it in sync until cut-over:

| Firestore | MongoDB collection |
|---|---|
| `users/{uid}` | `users` |
| `digital_twins/{tid}` | `digital_twins` |
| `digital_twins/{tid}/conversations/{cid}` | `conversations` |
| `digital_twins/{tid}/conversations/{cid}/messages/{mid}` | `avatar_conversations` |

Per collection, `<name>_plan` decides what to read and splits it into
`partitions` (PartitionQuery on real Firestore, twin ranges where it is missing,
time windows for incremental reads); `<name>`, one mapped instance per
partition, reads its part in pages, maps each document (see the mapping
contract, docs/mapping.md), compares each batch with MongoDB and writes only what differs, as an
unordered bulk write keyed by the document's ids (`$set` of the mapped keys,
`$unset` of contract keys the source lost), reading the next page while it
writes; `<name>_done` adds the parts up and settles key conflicts (two source
documents with one key: one wins, by a fixed rule; the other is a failed
document). Re-running is safe: nothing is duplicated, unchanged documents are not
written, and keys that other processes added in MongoDB are kept.

**Modes.** Scheduled runs (hourly unless `FIRESTORE_TO_MONGO_SCHEDULE` says
otherwise) are `incremental`: conversations and messages are read from their
change cursor (`updated_at`, `timestamp`: a Timestamp, an epoch number or an ISO
string) at or after the stored watermark minus `lookback_minutes`; users and twins are re-read but only documents whose Firestore
`update_time` is that recent are written. Without a watermark, a run is full.
`full` re-reads everything and reports MongoDB documents whose source is gone
(`prune` deletes them). `since` overrides the watermark for one run.

**Watermarks** live in the target database, collection
`_firestore_to_mongo_watermarks`; they move only when a task has written
everything it read (never on a failure or a dry run). Delete a document there to
make that collection's next run full.

**Retries.** A failed task is retried (exponential back-off); a partition resumes
after its last written page (`_firestore_to_mongo_checkpoints`, keyed by this run
and partition).

**Params.** `dry_run` writes nothing and reports what would change; `collections`
picks a subset; `batch_size` bounds memory; `timeout_seconds` bounds every wait on
a backend; `max_failures` is how many documents per collection may fail before
its task fails. Every failed document is logged with its Firestore path and the
reason.

**Summary.** The `summary` task runs even when a collection task failed and logs
lines of at most 120 characters: a table (status, mode, read, written, unchanged,
failed, warnings, gone/deleted, wall seconds, docs/s over the collection's wall
clock), then a block per collection (inserted / updated / skipped / conflicts /
retried faults, watermarks, the rate per partition, notes, dropped keys, and the
top reasons of every non-zero failed, warnings and conflicts, with an example
path each). It returns the same figures as its XCom (not printed into the log),
and fails the run when any collection task failed. Each
`<name>_done` task emits an Asset `mongodb://host:port/db/collection` through the
AssetAlias `firestore_to_mongo.<collection>`.

**Connections.** `firestore_conn_id` (Google Cloud, default `google_cloud_default`)
and `mongo_conn_id` (type `mongo`, default `mongo_default`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import AssetAlias, dag, task

from include.firestore_to_mongo.migrate.config import (
    COLLECTION_NAMES,
    DEFAULT_SCHEDULE,
    SCHEDULE_ENV,
    asset_alias_name,
    trigger_params,
)

# Cron expression or preset, read when the file is parsed; "none" for manual runs only.
SCHEDULE = os.environ.get(SCHEDULE_ENV, DEFAULT_SCHEDULE)
# How many partition tasks of one collection may run at once, across all runs.
# Size it to the workers you have (see docs/scaling.md); a pool can cap it further.
MAX_ACTIVE_PARTITIONS = int(os.environ.get("FIRESTORE_TO_MONGO_MAX_ACTIVE_PARTITIONS", "4"))
# Every task returns figures for XCom (a partition's or a collection's report with its
# reasons and dropped keys, the summary's whole table): kept whole there, not dumped into
# the log, where the summary prints its own table (lines of at most 120 characters).
QUIET = {"show_return_value_in_logs": False}


@dag(
    dag_id="firestore_to_mongo",
    schedule=None if SCHEDULE.strip().lower() in ("", "none") else SCHEDULE,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Runs never overlap: two runs writing one collection would race on its watermark.
    max_active_runs=1,
    doc_md=__doc__,
    params=trigger_params(),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    tags=["firestore", "mongodb", "migration"],
)
def firestore_to_mongo():
    @task(**QUIET)
    def plan(collection: str, params=None, ti=None) -> list:
        """Choose full or incremental for one collection and split its read into partitions."""
        from include.firestore_to_mongo.migrate.plan import plan_collection_task

        return plan_collection_task(collection, params, ti)

    # multiple_outputs=False: a report is one XCom, not one per key.
    @task(multiple_outputs=False, max_active_tis_per_dag=MAX_ACTIVE_PARTITIONS, **QUIET)
    def migrate(collection: str, work: dict, params=None, ti=None) -> dict:
        """Read one partition of a Firestore collection in pages, map it, upsert it into MongoDB."""
        from include.firestore_to_mongo.migrate.partition import migrate_partition_task

        return migrate_partition_task(collection, work, params, ti)

    # all_done: it reports (and fails) even when a partition failed.
    @task(trigger_rule="all_done", multiple_outputs=False, **QUIET)
    def done(collection: str, params=None, ti=None, outlet_events=None) -> dict:
        """Add up the partitions, settle key conflicts, find deleted sources, move the watermark, emit the Asset."""
        from include.firestore_to_mongo.migrate.finish import finish_collection_task

        return finish_collection_task(collection, params, ti, outlet_events)

    @task(trigger_rule="all_done", multiple_outputs=False, **QUIET)
    def summary(params=None, ti=None) -> dict:
        """Log the per-collection table and fail the run if a collection task failed."""
        from include.firestore_to_mongo.migrate.summary import summary_task

        return summary_task(params, ti)

    finished = []
    for name in COLLECTION_NAMES:
        work = plan.override(task_id=f"{name}_plan")(name)
        parts = migrate.override(task_id=name).partial(collection=name).expand(work=work)
        # The alias resolves at run time to mongodb://host:port/db/collection, which
        # only the connection knows; downstream DAGs can schedule on either.
        finish = done.override(task_id=f"{name}_done", outlets=[AssetAlias(asset_alias_name(name))])(name)
        parts >> finish
        finished.append(finish)
    finished >> summary()


firestore_to_mongo()
