"""The bodies of the DAG's tasks. Hooks and clients are built here, at run time only.

Each collection runs as three tasks:
- `<name>_plan` decides what this run reads (full, or changes since the
  watermark) and splits it into partitions;
- `<name>`, one mapped instance per partition, reads, maps and writes its part,
  checkpointing after every page;
- `<name>_done` adds the parts up, looks for deleted sources (full runs), moves
  the watermark when every part succeeded, and emits the collection's Asset.
`summary` then tabulates the run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from include.firestore_to_mongo.config import RunConfig
from include.firestore_to_mongo.report import missing_report, render_notes, render_table
from include.firestore_to_mongo.specs import (
    COLLECTION_NAMES,
    SPECS,
    CollectionSpec,
    asset_alias_name,
)
from include.firestore_to_mongo.timestamps import fromisoformat_or_none, isoformat_or_none

log = logging.getLogger(__name__)

PARTITION_REPORT = "partition_report"


class TooManyFailuresError(RuntimeError):
    """More documents failed than the run's `max_failures` allows."""


class CollectionTaskFailedError(RuntimeError):
    """A collection (or one of its partitions) did not complete."""


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


def config_for(collection: str, params: Mapping[str, Any], config_class=RunConfig):
    """The run's validated params (a `config_class`), skipping collections it leaves out."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from include.firestore_to_mongo.config import ParamError

    try:
        config = config_class.from_params(params)
    except ParamError as error:
        # A bad param stays bad: fail now, without retries.
        raise AirflowFailException(str(error)) from error
    if collection not in config.collections:
        raise AirflowSkipException(f"{collection} is not in this run's collections")
    return config


def firestore_client(config: RunConfig):
    """The Firestore client, and a name for its project and database."""
    from include.firestore_to_mongo.firestore_hook import FirestoreClientHook

    hook = FirestoreClientHook(gcp_conn_id=config.firestore_conn_id)
    client = hook.get_conn()
    return client, f"{client.project}/{hook._get_field('database') or '(default)'}"


class TargetSession:
    """The Mongo target for one task, with backend errors turned into one clear error."""

    def __init__(self, config: RunConfig) -> None:
        from include.firestore_to_mongo.mongo_target import open_target

        self.config = config
        self.target = open_target(config.mongo_conn_id, config.mongo_db, config.timeout_seconds)

    def __enter__(self):
        return self.target

    def __exit__(self, exc_type, error, traceback) -> None:
        from pymongo.errors import ConnectionFailure, OperationFailure

        from include.firestore_to_mongo.mongo_target import TargetUnavailableError

        self.target.client.close()
        # ConnectionFailure includes the timeouts (NetworkTimeout, ServerSelectionTimeoutError).
        if isinstance(error, ConnectionFailure):
            raise TargetUnavailableError(
                f"MongoDB at {self.target.host}:{self.target.port} failed or did not answer within "
                f"{self.config.timeout_seconds} s: {error}"
            ) from error
        if isinstance(error, OperationFailure):
            raise TargetUnavailableError(f"MongoDB refused an operation: {error}") from error


def read_limiter(config: RunConfig, partitions: int):
    """A reader's limiter: its 1/partitions share of the run's read rate, if one is set."""
    from include.firestore_to_mongo.rate_limit import ReadRateLimiter

    if config.max_reads_per_second is None:
        return None
    return ReadRateLimiter(config.max_reads_per_second, share=1 / partitions)


def run_key_of(ti) -> str:
    return f"{ti.dag_id}/{ti.run_id}"


# --- <name>_plan -------------------------------------------------------------------


def plan_collection_task(collection: str, params: Mapping[str, Any], ti) -> list[dict[str, Any]]:
    """Decide full or incremental for `collection` and split its read into partitions."""
    from include.firestore_to_mongo.run_state import WatermarkStore

    config = config_for(collection, params)
    spec = SPECS[collection]
    client, source = firestore_client(config)
    with TargetSession(config) as target:
        stored = WatermarkStore(target.database).get(collection)
        if not config.dry_run:
            _forget_abandoned_runs(target.database, run_key_of(ti), collection)
    if stored is not None and stored.source != source:
        log.warning(
            "%s: the stored watermark is for Firestore %s, not %s: ignoring it",
            collection,
            stored.source,
            source,
        )
        stored = None
    plan = plan_read(spec, config, stored.value if stored else None)
    now = datetime.now(UTC)
    partitions = split(client, spec, config, plan.read_since, now)
    log.info(
        "%s: %s, %d partition(s) by %s; watermark %s",
        collection,
        _describe(plan, spec),
        len(partitions),
        partitions[0].method,
        isoformat_or_none(stored.value if stored else None) or "none yet",
    )
    shared = {
        "mode": plan.mode,
        "read_since": isoformat_or_none(plan.read_since),
        "write_since": isoformat_or_none(plan.write_since),
        "find_deleted": plan.find_deleted,
        "watermark_before": isoformat_or_none(stored.value if stored else None),
        # The watermark this run stores once every partition has written everything.
        "run_started": now.isoformat(),
        "source": source,
    }
    return [{"plan": shared, "partition": partition.to_dict()} for partition in partitions]


def split(client, spec: CollectionSpec, config, read_since: datetime | None, now: datetime) -> list:
    """The collection's read split into up to `config.partitions` partitions."""
    from google.api_core.exceptions import GoogleAPIError

    from include.firestore_to_mongo.firestore_reader import SourceUnavailableError
    from include.firestore_to_mongo.partitions import plan_partitions

    try:
        return plan_partitions(client, spec, config.partitions, read_since, now, config.timeout_seconds)
    except GoogleAPIError as error:
        raise SourceUnavailableError(
            f"splitting {spec.name} into partitions: Firestore failed within "
            f"{config.timeout_seconds} s: {error}"
        ) from error


def _forget_abandoned_runs(database, run_key: str, collection: str) -> None:
    """Drop the key journals and checkpoints that failed, abandoned runs left behind: one
    run of this DAG at a time (max_active_runs=1), so any other run's are stale."""
    from include.firestore_to_mongo.key_conflicts import MIGRATION_JOURNAL, KeyJournal, drop_legacy_ledgers
    from include.firestore_to_mongo.run_state import CheckpointStore

    KeyJournal(database, MIGRATION_JOURNAL, run_key, collection).prepare()
    pages = KeyJournal.drop_other_runs(database, MIGRATION_JOURNAL, run_key, collection)
    pages += len(drop_legacy_ledgers(database, collection))
    checkpoints = CheckpointStore.clear_other_runs(database, run_key, collection)
    if pages or checkpoints:
        log.info(
            "%s: dropped %d key journal page(s) and %d checkpoint(s) of earlier runs that did not finish",
            collection,
            pages,
            checkpoints,
        )


def _describe(plan: ReadPlan, spec: CollectionSpec) -> str:
    if plan.read_since is not None:
        return (
            f"incremental: {spec.cursor_field} ≥ {plan.read_since.isoformat()} "
            "(as a Timestamp, an epoch number, or an ISO string from a day earlier)"
        )
    if plan.write_since is not None:
        return f"incremental: reading all, writing what changed since {plan.write_since.isoformat()}"
    return plan.mode


# --- <name>, one instance per partition ------------------------------------------------


def migrate_partition_task(
    collection: str, work: dict[str, Any], params: Mapping[str, Any], ti
) -> dict[str, Any]:
    """Read, map and write one partition, checkpointing after every written page."""
    from include.firestore_to_mongo.partitions import Partition

    config = config_for(collection, params)
    partition = Partition.from_dict(work["partition"])
    client, _ = firestore_client(config)
    with TargetSession(config) as target:
        report = _migrate_partition(
            SPECS[collection], config, work["plan"], partition, client, target, run_key_of(ti)
        )
    figures = report.to_dict() | {"partition": partition.index}
    too_many = report.failed > config.max_failures
    if too_many:
        figures["status"] = "failed"
    # Under its own key, pushed whether the task succeeds or not: `<name>_done` needs
    # the figures of a failed partition too, and a failing task returns nothing.
    ti.xcom_push(key=PARTITION_REPORT, value=figures)
    if too_many:
        raise TooManyFailuresError(
            f"{collection} partition {partition.index}: {report.failed} documents failed, more than "
            f"max_failures={config.max_failures}; first ones: {'; '.join(report.failed_examples)}"
        )
    return figures


def _migrate_partition(spec, config: RunConfig, plan: dict, partition, client, target, run_key: str):
    from include.firestore_to_mongo.firestore_reader import ReadPosition, read_pages
    from include.firestore_to_mongo.key_conflicts import (
        MIGRATION_JOURNAL,
        ConflictGuard,
        JournaledLedger,
        KeyJournal,
        LocalKeyLedger,
        record_conflicts,
    )
    from include.firestore_to_mongo.migration import changed_since, migrate_collection
    from include.firestore_to_mongo.mongo_writer import DryRunPreview, UpsertWriter
    from include.firestore_to_mongo.prefetch import prefetched
    from include.firestore_to_mongo.report import CollectionReport
    from include.firestore_to_mongo.run_state import CheckpointStore

    attempt_started = time.monotonic()
    label = f"{spec.name}[{partition.index}]" if partition.count > 1 else spec.name
    checkpoints = CheckpointStore(target.database, run_key, spec.name, partition.index)
    checkpoint = None if config.dry_run else checkpoints.load()
    if checkpoint is not None:
        report = CollectionReport.from_dict(checkpoint["report"])
        report.resumed = True
        resume_after = ReadPosition(**checkpoint["position"])
        log.info(
            "%s: resuming after %s: %d pages, %d documents already done",
            label,
            resume_after.path,
            report.pages,
            report.read,
        )
    else:
        report = CollectionReport(
            collection=spec.name,
            target=spec.target,
            dry_run=config.dry_run,
            mode=plan["mode"],
            watermark_before=plan["watermark_before"],
        )
        resume_after = None
    log.info(
        "%s: %s%s → %s.%s, batch size %d%s",
        label,
        "/".join(segment or "{id}" for segment in spec.path_shape),
        _describe_partition(partition),
        target.database.name,
        spec.target,
        config.batch_size,
        " (dry run: nothing is written)" if config.dry_run else "",
    )
    previous_seconds, previous_cpu = report.seconds, report.cpu_seconds
    attempt_cpu = time.process_time()

    def clock(report) -> None:
        report.seconds = round(previous_seconds + time.monotonic() - attempt_started, 3)
        report.cpu_seconds = round(previous_cpu + time.process_time() - attempt_cpu, 3)

    def save_checkpoint(page, report) -> None:
        clock(report)
        if not config.dry_run:
            position = {
                "path": page.position.path,
                "cursor_value": page.position.cursor_value,
                "range_index": page.position.range_index,
            }
            checkpoints.save({"position": position, "report": report.to_dict()})

    collection = target.database[spec.target]
    write_since = fromisoformat_or_none(plan["write_since"])
    # A real run journals every page's keys for `<name>_done` (conflicts across
    # partitions, deleted sources); a page it re-reads on a retry adds nothing new. A
    # dry run writes nothing, so its ledger is this partition's own, and counted here.
    if config.dry_run:
        ledger = LocalKeyLedger()
    else:
        journal = KeyJournal(target.database, MIGRATION_JOURNAL, run_key, spec.name, partition.index)
        if checkpoint is None:
            # Starting over: the pages an earlier attempt journaled are read again.
            journal.clear_partition()
        ledger = JournaledLedger(LocalKeyLedger(), journal)
    try:
        migrate_collection(
            spec,
            prefetched(
                read_pages(
                    client,
                    spec,
                    config.batch_size,
                    config.timeout_seconds,
                    since=fromisoformat_or_none(plan["read_since"]),
                    resume_after=resume_after,
                    partition=partition,
                    limiter=read_limiter(config, partition.count),
                )
            ),
            (DryRunPreview if config.dry_run else UpsertWriter)(collection, spec),
            report,
            keep=changed_since(write_since) if write_since else None,
            on_page_written=save_checkpoint,
            conflicts=ConflictGuard(spec, ledger),
        )
        if config.dry_run:
            record_conflicts(spec, ledger, report)
    finally:
        ledger.close()
    clock(report)
    report.status = "ok"
    return report


def _describe_partition(partition) -> str:
    if partition.count <= 1:
        return ""
    bounds = (
        f"until {partition.until.isoformat()}"
        if partition.until
        else f"[{partition.start or '…'}, {partition.end or '…'})"
    )
    return f" (partition {partition.index + 1} of {partition.count}, {partition.method}: {bounds})"


# --- <name>_done ---------------------------------------------------------------------


def finish_collection_task(
    collection: str, params: Mapping[str, Any], ti, outlet_events=None
) -> dict[str, Any]:
    """Add the partitions up, settle key conflicts, find deleted sources, move the
    watermark, emit the Asset."""
    config = config_for(collection, params)
    spec = SPECS[collection]
    work = ti.xcom_pull(task_ids=f"{collection}_plan") or []
    parts = partition_reports(ti, collection, len(work))
    report = combine_partitions(collection, config, work[0]["plan"] if work else None, parts)
    missing = len(work) - len(parts)
    if not work or missing > 0:
        _fail_collection(
            ti,
            report,
            "its plan task failed" if not work else f"{missing} of {len(work)} partitions did not finish",
        )
    plan = work[0]["plan"]
    client, _ = firestore_client(config)
    with TargetSession(config) as target, _run_keys(config, target, run_key_of(ti), collection) as keys:
        if keys is not None:
            _settle_conflicts(spec, config, client, target, keys, report)
        if any(part["status"] != "ok" for part in parts) or report.failed > config.max_failures:
            _fail_collection(
                ti, report, f"{report.failed} documents failed, more than max_failures={config.max_failures}"
            )
        _finish(spec, config, plan, report, client, target, keys, run_key_of(ti))
    if outlet_events is not None and not config.dry_run:
        from airflow.sdk import Asset, AssetAlias

        outlet_events[AssetAlias(asset_alias_name(collection))].add(Asset(target.asset_uri(spec.target)))
    return report.to_dict()


def _fail_collection(ti, report, reason: str) -> None:
    report.status = "failed"
    ti.xcom_push(key="return_value", value=report.to_dict())
    raise CollectionTaskFailedError(f"{report.collection}: {reason}")


@contextlib.contextmanager
def _run_keys(config: RunConfig, target, run_key: str, collection: str):
    """Every key the run's partitions read, folded from the key journal into a ledger on
    local disk; None for a dry run, which journals nothing."""
    from include.firestore_to_mongo.key_conflicts import MIGRATION_JOURNAL, KeyJournal

    if config.dry_run:
        yield None
        return
    with KeyJournal(target.database, MIGRATION_JOURNAL, run_key, collection).ledger() as ledger:
        yield ledger


def _settle_conflicts(spec, config: RunConfig, client, target, keys, report) -> None:
    """Count the run's key conflicts as failures and write each winner once more, so
    that a loser written by a partition that had not yet heard of it never stays."""
    from include.firestore_to_mongo.key_conflicts import record_conflicts, rewrite_winners
    from include.firestore_to_mongo.mongo_writer import UpsertWriter

    winners = record_conflicts(spec, keys, report)
    if winners:
        rewrite_winners(
            spec,
            winners,
            client,
            UpsertWriter(target.database[spec.target], spec),
            report,
            config.batch_size,
            config.timeout_seconds,
        )


def partition_reports(ti, collection: str, count: int) -> list[dict]:
    """The figures each partition pushed, leaving out those that pushed none (crashed)."""
    if count == 0:
        return []
    pulled = ti.xcom_pull(task_ids=collection, key=PARTITION_REPORT, map_indexes=list(range(count)))
    if isinstance(pulled, dict):  # one map index asked for, one value back
        pulled = [pulled]
    return [part for part in pulled or [] if part]


def combine_partitions(collection: str, config: RunConfig, plan: dict | None, parts: list[dict]):
    """One collection's report from its partitions' figures."""
    from include.firestore_to_mongo.report import CollectionReport

    spec = SPECS[collection]
    report = CollectionReport(
        collection=collection,
        target=spec.target,
        dry_run=config.dry_run,
        mode=plan["mode"] if plan else "-",
        watermark_before=plan["watermark_before"] if plan else None,
        watermark_after=plan["watermark_before"] if plan else None,
    )
    for part in parts:
        report.add_counts(CollectionReport.from_dict(part))
        # The partitions' own time, added up: the work done, whatever ran side by side.
        report.seconds = round(report.seconds + part["seconds"], 3)
        report.cpu_seconds = round(report.cpu_seconds + part.get("cpu_seconds", 0.0), 3)
        report.resumed = report.resumed or part["resumed"]
    report.partitions = len(parts)
    report.status = "ok"
    return report


def _finish(spec, config: RunConfig, plan: dict, report, client, target, keys, run_key: str) -> None:
    from include.firestore_to_mongo.firestore_reader import count_without_cursor
    from include.firestore_to_mongo.key_conflicts import MIGRATION_JOURNAL, KeyJournal
    from include.firestore_to_mongo.run_state import CheckpointStore, WatermarkStore

    if plan["find_deleted"]:
        # A key conflict's loser has the winner's key, which is known.
        if failed := report.failed - report.conflicts:
            report.stale_note = f"{failed} documents failed, so their keys are unknown"
        else:
            _find_deleted(spec, config, report, client, target, keys)
    if plan["mode"] == "incremental":
        report.without_cursor = count_without_cursor(client, spec, config.timeout_seconds)
    if not config.dry_run:
        # Everything read is written: changes from the plan's start on are the next run's.
        stored = WatermarkStore(target.database).advance(
            spec.name,
            datetime.fromisoformat(plan["run_started"]),
            plan["source"],
            run_key,
            plan["mode"],
        )
        report.watermark_after = stored.isoformat()
        CheckpointStore.clear_collection(target.database, run_key, spec.name)
        KeyJournal(target.database, MIGRATION_JOURNAL, run_key, spec.name).drop()


def _find_deleted(spec, config: RunConfig, report, client, target, keys) -> None:
    """Count (and with `prune`, delete) the MongoDB documents whose key no source document
    has: `keys` are the ones this run read, so Firestore is not read again. A dry run
    journals nothing, so it reads the source's ids once more for its preview."""
    from include.firestore_to_mongo.deletions import find_and_prune, ledger_from_source

    with contextlib.ExitStack() as stack:
        if keys is None:
            keys = stack.enter_context(
                ledger_from_source(
                    client, spec, config.batch_size, config.timeout_seconds, read_limiter(config, 1)
                )
            )
        result = find_and_prune(
            target.database[spec.target],
            spec.key_fields,
            keys,
            config.batch_size,
            prune=config.prune and config.mode == "full" and not config.dry_run,
        )
    report.stale, report.deleted, report.stale_samples = result.stale, result.deleted, result.samples


# --- summary -------------------------------------------------------------------------


def summary_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Log the run's table, push the figures, record the run for the sync page
    (`_firestore_to_mongo_runs`), and fail when a collection task failed."""
    from include.firestore_to_mongo.run_history import MIGRATION, record_summary

    config = RunConfig.from_params(params)
    rows = []
    for name in COLLECTION_NAMES:
        report = ti.xcom_pull(task_ids=f"{name}_done")
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
    record_summary(config, MIGRATION, ti, rows)
    failed = [row["collection"] for row in rows if row["status"] == "failed"]
    if failed:
        ti.xcom_push(key="return_value", value=figures)
        raise CollectionTaskFailedError(f"collection tasks failed: {', '.join(failed)}")
    return figures
