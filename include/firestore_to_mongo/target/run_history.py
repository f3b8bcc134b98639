"""One record per DAG run, in the target database: what the sync page shows.

The `summary` tasks of both DAGs append their run's figures to `_firestore_to_mongo_runs`
(the last 500 are kept). With the watermarks and the verify findings next to them, the
target database alone says how the sync stands: the page needs no other store and never
reads Airflow's metadata database.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from include.firestore_to_mongo.util.table import wrap

log = logging.getLogger(__name__)

RUNS = "_firestore_to_mongo_runs"
KEEP_RUNS = 500
MIGRATION, VERIFY = "migration", "verify"
# The figures kept per collection, from either DAG's summary row.
FIGURES = (
    "status",
    "mode",
    "dry_run",
    "read",
    "inserted",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "conflicts",
    "stale",
    "deleted",
    "without_cursor",
    "seconds",
    # Wall-clock seconds, the first partition's start to the last one's end: what
    # docs_per_second divides by (seconds is the partitions' time added up).
    "wall_seconds",
    "docs_per_second",
    # Transient faults the run's tasks rode out (util.retry).
    "retried_faults",
    "watermark_after",
    "depth",
    "sampled",
    "compared",
    "equal",
    "missing",
    "extra",
    "different",
    "changed_during_verify",
    "repaired",
    "pruned",
    "remaining",
    "failed_examples",
    # The migration's keys dropped by the contract: DroppedKeys.as_dict(mergeable=False).
    "dropped_keys",
    "changed_since",
    "source_count",
    "target_count",
)


def run_record(
    kind: str,
    dag_id: str,
    run_id: str,
    rows: list[dict[str, Any]],
    ended_at: datetime,
    started_at: datetime | None = None,
) -> dict:
    """The record of one run: its figures per collection, and an overall status."""
    collections = {
        row["collection"]: {name: row.get(name) for name in FIGURES if row.get(name) is not None}
        for row in rows
        if row.get("status") != "skipped"
    }
    statuses = {figures.get("status") for figures in collections.values()}
    failed = "failed" in statuses or any(figures.get("remaining") for figures in collections.values())
    return {
        "_id": f"{dag_id}/{run_id}",
        "kind": kind,
        "dag_id": dag_id,
        "run_id": run_id,
        "started_at": started_at,
        "ended_at": ended_at,
        "status": "failed" if failed else "success",
        "dry_run": any(figures.get("dry_run") for figures in collections.values()),
        "collections": collections,
    }


def record_run(database: Database, record: dict[str, Any], keep: int = KEEP_RUNS) -> None:
    """Store the run's record (a retried summary replaces it) and drop all but the newest `keep`."""
    runs = database[RUNS]
    runs.replace_one({"_id": record["_id"]}, record, upsert=True)
    old = [found["_id"] for found in runs.find({}, {"_id": 1}).sort("ended_at", DESCENDING).skip(keep)]
    if old:
        runs.delete_many({"_id": {"$in": old}})


def record_summary(
    config, kind: str, ti, rows: list[dict[str, Any]], started_at: datetime | None = None
) -> None:
    """From a summary task: store the run's record. A failure to store it is logged, not
    raised: the run's own outcome doesn't depend on the page's history. A dry run writes
    nothing to MongoDB, this record included."""
    from include.firestore_to_mongo.target.connection import TargetSession

    if getattr(config, "dry_run", False):
        log.info("dry run: not recorded in %s", RUNS)
        return
    try:
        with TargetSession(config) as target:
            record = run_record(kind, ti.dag_id, ti.run_id, rows, datetime.now(UTC), started_at)
            record_run(target.database, record)
    except Exception as error:
        # Wrapped within the summary's 120 characters a line.
        log.warning("%s", "\n".join(wrap(f"could not store this run in {RUNS}: {error}", subsequent="  ")))
