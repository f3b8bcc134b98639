"""The bodies of the DAG's tasks. Hooks and clients are built here, at run time only."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from include.firestore_to_mongo.config import RunConfig
from include.firestore_to_mongo.report import missing_report, render_notes, render_table
from include.firestore_to_mongo.specs import COLLECTION_NAMES, SPECS, CollectionSpec, asset_alias_name

log = logging.getLogger(__name__)


class TooManyFailuresError(RuntimeError):
    """More documents failed than the run's `max_failures` allows."""


class CollectionTaskFailedError(RuntimeError):
    """At least one collection task of the run failed."""


@dataclass(frozen=True)
class ReadPlan:
    """What this run reads and writes for one collection."""

    mode: str
    # Read only documents whose change cursor is at or after this (cursor collections).
    read_since: datetime | None
    # Write only documents whose Firestore update_time is at or after this (the others).
    write_since: datetime | None
    find_deleted: bool


def plan_read(spec: CollectionSpec, config: RunConfig, watermark: datetime | None) -> ReadPlan:
    if config.mode == "full":
        return ReadPlan("full", None, None, find_deleted=True)
    if config.since is not None:
        start = config.since
    elif watermark is not None:
        start = watermark - timedelta(minutes=config.lookback_minutes)
    else:
        return ReadPlan("full (no watermark)", None, None, find_deleted=True)
    if spec.cursor_field is not None:
        return ReadPlan("incremental", start, None, find_deleted=False)
    return ReadPlan("incremental", None, start, find_deleted=False)


def migrate_collection_task(
    collection: str, params: Mapping[str, Any], ti, outlet_events=None
) -> dict[str, Any]:
    """Migrate one collection, push its figures, and fail when too many documents failed."""
    from airflow.sdk.exceptions import AirflowSkipException

    config = RunConfig.from_params(params)
    if collection not in config.collections:
        raise AirflowSkipException(f"{collection} is not in this run's collections")
    report, target_uri = _run_collection(SPECS[collection], config, run_key=f"{ti.dag_id}/{ti.run_id}")
    figures = report.to_dict()
    if report.status == "failed":
        # A failing task returns nothing, so the summary gets the figures this way.
        ti.xcom_push(key="return_value", value=figures)
        raise TooManyFailuresError(
            f"{collection}: {report.failed} documents failed, more than max_failures="
            f"{config.max_failures}; first ones: {'; '.join(report.failed_examples)}"
        )
    if outlet_events is not None and not config.dry_run:
        from airflow.sdk import Asset, AssetAlias

        outlet_events[AssetAlias(asset_alias_name(collection))].add(Asset(target_uri))
    return figures


def _run_collection(spec: CollectionSpec, config: RunConfig, run_key: str):
    from pymongo.errors import ConnectionFailure, OperationFailure

    from firestore_hook import FirestoreClientHook
    from include.firestore_to_mongo.mongo_target import TargetUnavailableError, open_target

    firestore_hook = FirestoreClientHook(gcp_conn_id=config.firestore_conn_id)
    firestore_client = firestore_hook.get_conn()
    source = f"{firestore_client.project}/{firestore_hook._get_field('database') or '(default)'}"
    target = open_target(config.mongo_conn_id, config.mongo_db, config.timeout_seconds)
    with target.client:
        try:
            report = _migrate(spec, config, run_key, firestore_client, source, target.database)
        except ConnectionFailure as error:
            # Also the timeouts: NetworkTimeout and ServerSelectionTimeoutError are ConnectionFailures.
            raise TargetUnavailableError(
                f"MongoDB at {target.host}:{target.port} failed or did not answer within "
                f"{config.timeout_seconds} s: {error}"
            ) from error
        except OperationFailure as error:
            raise TargetUnavailableError(f"MongoDB refused an operation: {error}") from error
    return report, target.asset_uri(spec.target)


def _migrate(spec, config: RunConfig, run_key: str, firestore_client, source: str, database):
    from include.firestore_to_mongo.deletions import KeyLedger, find_and_prune
    from include.firestore_to_mongo.firestore_reader import ReadPosition, count_without_cursor, read_pages
    from include.firestore_to_mongo.migration import changed_since, migrate_collection
    from include.firestore_to_mongo.mongo_writer import DryRunPreview, UpsertWriter
    from include.firestore_to_mongo.prefetch import prefetched
    from include.firestore_to_mongo.report import CollectionReport
    from include.firestore_to_mongo.run_state import CheckpointStore, WatermarkStore

    name = spec.name
    attempt_started = time.monotonic()
    watermarks = WatermarkStore(database)
    stored = watermarks.get(name)
    if stored is not None and stored.source != source:
        log.warning(
            "%s: the stored watermark is for Firestore %s, not %s: ignoring it", name, stored.source, source
        )
        stored = None
    plan = plan_read(spec, config, stored.value if stored else None)

    checkpoints = CheckpointStore(database, run_key, name)
    checkpoint = None if config.dry_run else checkpoints.load()
    if checkpoint is not None:
        report = CollectionReport.from_dict(checkpoint["report"])
        report.resumed = True
        run_started = checkpoint["started_at"]
        resume_after = ReadPosition(**checkpoint["position"])
        log.info(
            "%s: resuming this run after %s: %d pages, %d documents already done",
            name,
            resume_after.path,
            report.pages,
            report.read,
        )
    else:
        report = CollectionReport(
            collection=name,
            target=spec.target,
            dry_run=config.dry_run,
            mode=plan.mode,
            watermark_before=stored.value.isoformat() if stored else None,
        )
        run_started = datetime.now(UTC)
        resume_after = None
    log.info(
        "%s: %s → %s.%s, %s, batch size %d%s",
        name,
        "/".join(segment or "{id}" for segment in spec.path_shape),
        database.name,
        spec.target,
        _describe(plan, spec),
        config.batch_size,
        " (dry run: nothing is written)" if config.dry_run else "",
    )

    previous_seconds = report.seconds

    def save_checkpoint(page, report) -> None:
        report.seconds = round(previous_seconds + time.monotonic() - attempt_started, 3)
        if not config.dry_run:
            checkpoints.save(
                {
                    "started_at": run_started,
                    "position": {"path": page.position.path, "cursor_value": page.position.cursor_value},
                    "report": report.to_dict(),
                }
            )

    target = database[spec.target]
    writer = (DryRunPreview if config.dry_run else UpsertWriter)(target, spec.key_fields)
    pages = prefetched(
        read_pages(
            firestore_client,
            spec,
            config.batch_size,
            config.timeout_seconds,
            since=plan.read_since,
            resume_after=resume_after,
        )
    )
    with KeyLedger() as ledger:
        check_deleted = plan.find_deleted and not report.resumed
        migrate_collection(
            spec,
            pages,
            writer,
            report,
            keep=changed_since(plan.write_since) if plan.write_since else None,
            ledger=ledger if check_deleted else None,
            on_page_written=save_checkpoint,
        )
        if not plan.find_deleted:
            pass  # incremental runs never look for deleted sources (the README says why)
        elif report.resumed:
            report.stale_note = "this run resumed after a failure, so not every key was seen by this attempt"
        elif report.failed:
            report.stale_note = f"{report.failed} documents failed, so their keys are unknown"
        else:
            result = find_and_prune(
                target,
                spec.key_fields,
                ledger,
                config.batch_size,
                prune=config.prune and config.mode == "full" and not config.dry_run,
            )
            report.stale, report.deleted, report.stale_samples = result.stale, result.deleted, result.samples
    if plan.mode == "incremental":
        report.without_cursor = count_without_cursor(firestore_client, spec, config.timeout_seconds)
    report.seconds = round(previous_seconds + time.monotonic() - attempt_started, 3)
    report.status = "failed" if report.failed > config.max_failures else "ok"
    if report.status == "ok" and not config.dry_run:
        # Everything read is written: changes from here on are the next run's.
        watermarks.advance(name, run_started, source, run_key, report.mode)
        report.watermark_after = watermarks.get(name).value.isoformat()
        checkpoints.clear()
    else:
        # On too many failures the last page's checkpoint stays: a retry resumes
        # at the end, keeps these figures and fails again, without re-reading.
        report.watermark_after = report.watermark_before
    return report


def _describe(plan: ReadPlan, spec: CollectionSpec) -> str:
    if plan.read_since is not None:
        return f"incremental: {spec.cursor_field} ≥ {plan.read_since.isoformat()}"
    if plan.write_since is not None:
        return f"incremental: reading all, writing what changed since {plan.write_since.isoformat()}"
    return plan.mode


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
    notes = render_notes(rows)
    log.info("%s\n%s%s", title, render_table(rows), "".join(f"\n- {note}" for note in notes))
    figures = {"dry_run": config.dry_run, "collections": {row["collection"]: row for row in rows}}
    failed = [row["collection"] for row in rows if row["status"] == "failed"]
    if failed:
        ti.xcom_push(key="return_value", value=figures)
        raise CollectionTaskFailedError(f"collection tasks failed: {', '.join(failed)}")
    return figures
