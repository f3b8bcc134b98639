"""The verify's `summary`: the run's table and first differences in the log, the last
runs' records kept, the run recorded for the sync page; it fails the run when
differences remain or a collection task failed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.run.tasks import current_dag_run
from include.firestore_to_mongo.verify.changed import iso
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import VerifyFailedError
from include.firestore_to_mongo.verify.report import (
    FAILED,
    failed_row,
    render_verify_notes,
    render_verify_table,
)

log = logging.getLogger(__name__)


def summary_verify_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Log the table and the first differences, keep the last runs' records, record the
    run for the sync page, and fail the run when differences remain or a collection task
    failed."""
    from include.firestore_to_mongo.target.run_history import VERIFY, record_summary

    config = VerifyConfig.from_params(params)
    rows = []
    for name in COLLECTION_NAMES:
        figures = ti.xcom_pull(task_ids=f"{name}_done")
        if name not in config.collections:
            rows.append(failed_row(name, "skipped"))
        else:
            rows.append(figures or failed_row(name))
    notes = render_verify_notes(rows)
    log.info(
        "Firestore → MongoDB verify, depth %s%s%s%s\n%s%s",
        config.depth,
        f", sample of {config.sample_size:,}" if config.sampled else "",
        f", documents changed since {iso(config.changed_since)}" if config.changed_since else "",
        ", with repair" + (" and prune" if config.prune else "") if config.repair else "",
        render_verify_table(rows),
        "".join(f"\n- {note}" for note in notes),
    )
    figures = {"collections": {row["collection"]: row for row in rows}}
    try:
        _log_differences(config, ti.run_id, [row for row in rows if row.get("depth") not in (None, "counts")])
    except Exception as error:
        # The figures above stand without the findings' details; say why they are missing.
        log.warning("could not read the stored findings: %s", error)
    record_summary(config, VERIFY, ti, rows, getattr(current_dag_run(), "start_date", None))
    failed = [row["collection"] for row in rows if row["status"] == FAILED]
    differing = [row["collection"] for row in rows if row.get("remaining")]
    if failed or differing:
        ti.xcom_push(key="return_value", value=figures)
        problems = [f"differences remain in {', '.join(differing)}"] if differing else []
        problems += [f"collection tasks failed: {', '.join(failed)}"] if failed else []
        raise VerifyFailedError("; ".join(problems))
    return figures


def _log_differences(config: VerifyConfig, run_id: str, rows: list[dict[str, Any]]) -> None:
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.verify.store import VERIFY_RECORDS, DifferenceStore

    with TargetSession(config) as target:
        for row in rows:
            shown = DifferenceStore(target.database, run_id, row["collection"]).first(config.max_reported)
            if shown:
                log.info(
                    "%s: the first %d findings (every one is in %s.%s, run_id %r):\n%s",
                    row["collection"],
                    len(shown),
                    target.database.name,
                    VERIFY_RECORDS,
                    run_id,
                    "\n".join(f"  {difference.describe()}" for difference in shown),
                )
        gone = DifferenceStore.keep_last_runs(target.database)
        if gone:
            log.info("dropped the difference records of %d older verify runs", gone)
