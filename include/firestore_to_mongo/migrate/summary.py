"""`summary`: the run's table in the log, its figures in XCom, its record for the sync
page; it fails the run when a collection task failed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.contract.dropped import DroppedKeys
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.errors import CollectionTaskFailedError
from include.firestore_to_mongo.migrate.plan import STOOD_ASIDE
from include.firestore_to_mongo.migrate.report import missing_report, render_summary
from include.firestore_to_mongo.run.tasks import current_dag_run

log = logging.getLogger(__name__)


def summary_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Log the run's table, push the figures, record the run for the sync page
    (`_firestore_to_mongo_runs`), and fail when a collection task failed."""
    from include.firestore_to_mongo.target.run_history import MIGRATION, record_summary

    config = RunConfig.from_params(params)
    rows = []
    for name in COLLECTION_NAMES:
        report = ti.xcom_pull(task_ids=f"{name}_done")
        if name not in config.collections or ti.xcom_pull(task_ids=f"{name}_plan", key=STOOD_ASIDE):
            # Left out of this run, or a scheduled run that stood aside for change capture.
            rows.append(missing_report(name, "skipped"))
        elif report is None:
            # The task ended without a report: it crashed, or its retries ran out.
            rows.append(missing_report(name, "failed"))
        else:
            # The names past the cap of dropped keys travel as digests, for `_done` to merge;
            # the summary and the runs record need only their number.
            dropped = DroppedKeys.from_dict(report.get("dropped_keys")).as_dict(mergeable=False)
            rows.append(report | {"dropped_keys": dropped})
    title = "Firestore → MongoDB" + (" (dry run: nothing was written)" if config.dry_run else "")
    # Every line within 120 characters (util.table.LINE_WIDTH); the XCom has every figure.
    log.info("%s", render_summary(title, rows))
    figures = {"dry_run": config.dry_run, "collections": {row["collection"]: row for row in rows}}
    record_summary(config, MIGRATION, ti, rows, getattr(current_dag_run(), "start_date", None))
    failed = [row["collection"] for row in rows if row["status"] == "failed"]
    if failed:
        ti.xcom_push(key="return_value", value=figures)
        raise CollectionTaskFailedError(f"collection tasks failed: {', '.join(failed)}")
    return figures
