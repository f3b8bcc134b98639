"""
# Firestore → MongoDB

Copies an app's Firestore data into MongoDB:

| Firestore | MongoDB collection |
|---|---|
| `users/{uid}` | `users` |
| `digital_twins/{tid}` | `digital_twins` |
| `digital_twins/{tid}/conversations/{cid}` | `conversations` |
| `digital_twins/{tid}/conversations/{cid}/messages/{mid}` | `avatar_conversations` |

One task per collection reads Firestore in pages ordered by document name, maps
each document (see the README's mapping contract) and upserts each batch with an
unordered bulk write keyed by the document's ids. Re-running is safe: nothing is
duplicated, and keys that other processes added in MongoDB are kept.

**Params.** `dry_run` writes nothing and reports what would change; `collections`
picks a subset; `batch_size` bounds memory; `max_failures` is how many documents
per collection may fail before its task fails. Every failed document is logged
with its Firestore path and the reason.

**Summary.** The `summary` task runs even when a collection task failed, logs a
table of read / inserted / updated / unchanged / failed / warnings per
collection, returns the same figures as its XCom, and fails the run when any
collection task failed.

**Connections.** `firestore_conn_id` (Google Cloud, default `google_cloud_default`)
and `mongo_conn_id` (type `mongo`, default `mongo_default`).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import AssetAlias, dag, task

from include.firestore_to_mongo.params import dag_params
from include.firestore_to_mongo.specs import COLLECTION_NAMES, asset_alias_name

# Cron expression or preset, read when the file is parsed; "none" for manual runs only.
SCHEDULE = os.environ.get("FIRESTORE_TO_MONGO_SCHEDULE", "@hourly")


@dag(
    dag_id="firestore_to_mongo",
    schedule=None if SCHEDULE.strip().lower() in ("", "none") else SCHEDULE,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Runs never overlap: two runs writing one collection would race on its watermark.
    max_active_runs=1,
    doc_md=__doc__,
    params=dag_params(),
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    },
    tags=["firestore", "mongodb", "migration"],
)
def firestore_to_mongo():
    # multiple_outputs=False: the report is one XCom, not one per key.
    @task(multiple_outputs=False)
    def migrate(collection: str, params=None, ti=None, outlet_events=None) -> dict:
        """Read one Firestore collection in pages, map it, and upsert it into MongoDB."""
        from include.firestore_to_mongo.tasks import migrate_collection_task

        return migrate_collection_task(collection, params, ti, outlet_events)

    @task(trigger_rule="all_done", multiple_outputs=False)
    def summary(params=None, ti=None) -> dict:
        """Log the per-collection table and fail the run if a collection task failed."""
        from include.firestore_to_mongo.tasks import summary_task

        return summary_task(params, ti)

    collection_tasks = [
        # The alias resolves at run time to mongodb://host:port/db/collection, which
        # only the connection knows; downstream DAGs can schedule on either.
        migrate.override(task_id=name, outlets=[AssetAlias(asset_alias_name(name))])(name)
        for name in COLLECTION_NAMES
    ]
    collection_tasks >> summary()


firestore_to_mongo()
