"""The verify's `summary`: the run's table and first differences in the log, the last
runs' records kept, the run recorded for the sync page; it fails the run when
differences remain or a collection task failed."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.run.tasks import current_dag_run
from include.firestore_to_mongo.util.table import wrap
from include.firestore_to_mongo.verify.changed import iso
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import VerifyFailedError
from include.firestore_to_mongo.verify.report import FAILED, failed_row, render_verify_summary

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
    title = "".join(
        [
            f"Firestore → MongoDB verify, depth {config.depth}",
            f", sample of {config.sample_size:,}" if config.sampled else "",
            f", documents changed since {iso(config.changed_since)}" if config.changed_since else "",
            ", with repair" + (" and prune" if config.prune else "") if config.repair else "",
        ]
    )
    # Every line within 120 characters (util.table.LINE_WIDTH); the XCom has every figure.
    log.info("%s", render_verify_summary(title, rows))
    figures = {"collections": {row["collection"]: row for row in rows}}
    try:
        _log_differences(config, ti.run_id, [row for row in rows if row.get("depth") not in (None, "counts")])
    except Exception as error:
        # The figures above stand without the findings' details; say why they are missing.
        log.warning("%s", "\n".join(wrap(f"could not read the stored findings: {error}", subsequent="  ")))
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
                # Each finding wrapped within 120 characters a line (its values are cut to 120).
                header = (
                    f"{row['collection']}: the first {len(shown)} findings (every one is in "
                    f"{target.database.name}.{VERIFY_RECORDS}, run_id {run_id!r}):"
                )
                lines = wrap(header, subsequent="  ")
                for difference in shown:
                    lines += wrap(difference.describe(), "  ", "      ")
                log.info("%s", "\n".join(lines))
        gone = DifferenceStore.keep_last_runs(target.database)
        if gone:
            log.info("dropped the difference records of %d older verify runs", gone)
