"""The bodies of the DAG's tasks. Hooks and clients are built here, at run time only."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.config import RunConfig
from include.firestore_to_mongo.report import missing_report, render_table
from include.firestore_to_mongo.specs import COLLECTION_NAMES, SPECS

log = logging.getLogger(__name__)


class TooManyFailuresError(RuntimeError):
    """More documents failed than the run's `max_failures` allows."""


class CollectionTaskFailedError(RuntimeError):
    """At least one collection task of the run failed."""


def migrate_collection_task(collection: str, params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Migrate one collection, push its report, and fail when too many documents failed."""
    from airflow.sdk.exceptions import AirflowSkipException

    from firestore_hook import FirestoreClientHook
    from include.firestore_to_mongo.firestore_reader import read_pages
    from include.firestore_to_mongo.migration import migrate_collection
    from include.firestore_to_mongo.mongo_target import open_database
    from include.firestore_to_mongo.mongo_writer import DryRunPreview, UpsertWriter

    config = RunConfig.from_params(params)
    if collection not in config.collections:
        raise AirflowSkipException(f"{collection} is not in this run's collections")
    if config.mode == "incremental":
        log.warning("mode=incremental is not built yet: running a full migration")
    spec = SPECS[collection]
    firestore_client = FirestoreClientHook(gcp_conn_id=config.firestore_conn_id).get_conn()
    mongo_client, database = open_database(config.mongo_conn_id, config.mongo_db)
    with mongo_client:
        target = database[spec.target]
        writer_class = DryRunPreview if config.dry_run else UpsertWriter
        log.info(
            "%s: %s → %s.%s, batch size %d%s",
            collection,
            "/".join(segment or "{id}" for segment in spec.path_shape),
            database.name,
            spec.target,
            config.batch_size,
            " (dry run: nothing is written)" if config.dry_run else "",
        )
        report = migrate_collection(
            spec,
            read_pages(firestore_client, spec, config.batch_size),
            writer_class(target, spec.key_fields),
            dry_run=config.dry_run,
        )
    too_many = report.failed > config.max_failures
    report.status = "failed" if too_many else "ok"
    result = report.to_dict()
    if too_many:
        # A failing task returns nothing, so the summary gets the figures this way.
        ti.xcom_push(key="return_value", value=result)
        raise TooManyFailuresError(
            f"{collection}: {report.failed} documents failed, more than max_failures="
            f"{config.max_failures}; first ones: {'; '.join(report.failed_examples)}"
        )
    return result


def summary_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Log the run's table, push the figures, and fail when a collection task failed."""
    config = RunConfig.from_params(params)
    rows = []
    for name in COLLECTION_NAMES:
        report = ti.xcom_pull(task_ids=name)
        if name not in config.collections:
            rows.append(missing_report(name, "skipped"))
        elif report is None:
            # The task ended without a report: it crashed, or its retries ran out.
            rows.append(missing_report(name, "failed"))
        else:
            rows.append(report)
    title = "Firestore → MongoDB" + (" (dry run: nothing was written)" if config.dry_run else "")
    log.info("%s\n%s", title, render_table(rows))
    figures = {"dry_run": config.dry_run, "collections": {row["collection"]: row for row in rows}}
    failed = [row["collection"] for row in rows if row["status"] == "failed"]
    if failed:
        ti.xcom_push(key="return_value", value=figures)
        raise CollectionTaskFailedError(f"collection tasks failed: {', '.join(failed)}")
    return figures
