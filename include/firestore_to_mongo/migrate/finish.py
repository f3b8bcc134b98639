"""`<name>_done`: add a collection's partitions up, settle key conflicts across them,
find deleted sources (full runs), move the watermark when every part succeeded, and
emit the collection's Asset."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS, asset_alias_name
from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.errors import CollectionTaskFailedError
from include.firestore_to_mongo.migrate.plan import STOOD_ASIDE
from include.firestore_to_mongo.migrate.report import CollectionReport
from include.firestore_to_mongo.run.tasks import config_for, partition_reports, run_key_of, wall_clock


def finish_collection_task(
    collection: str, params: Mapping[str, Any], ti, outlet_events=None
) -> dict[str, Any]:
    """Add the partitions up, settle key conflicts, find deleted sources, move the
    watermark, emit the Asset."""
    from include.firestore_to_mongo.run.faults import faults_ridden_out
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.target.connection import TargetSession

    config = config_for(collection, params, RunConfig)
    spec = SPECS[collection]
    if reason := ti.xcom_pull(task_ids=f"{collection}_plan", key=STOOD_ASIDE):
        from airflow.sdk.exceptions import AirflowSkipException

        raise AirflowSkipException(reason)
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
    client, _ = open_source(config.firestore_conn_id)
    with (
        TargetSession(config) as target,
        _run_keys(config, target, run_key_of(ti), collection) as keys,
        _turn(config, target, f"{run_key_of(ti)}/{collection}_done"),
    ):
        if keys is not None:
            _settle_conflicts(spec, config, client, target, keys, report)
        if any(part["status"] != "ok" for part in parts) or report.failed > config.max_failures:
            _fail_collection(
                ti, report, f"{report.failed} documents failed, more than max_failures={config.max_failures}"
            )
        _finish(spec, config, plan, report, client, target, keys, run_key_of(ti))
        report.retried_faults += faults_ridden_out(client, target)
    if outlet_events is not None and not config.dry_run:
        from airflow.sdk import Asset, AssetAlias

        outlet_events[AssetAlias(asset_alias_name(collection))].add(Asset(target.asset_uri(spec.target)))
    return report.to_dict()


def _turn(config: RunConfig, target, holder: str):
    """The writer's turn for rewriting conflicts' winners and pruning (see
    `target.writer_lease`); a dry run writes nothing, and needs none."""
    from include.firestore_to_mongo.target.writer_lease import writer_turn

    if config.dry_run:
        return contextlib.nullcontext()
    return writer_turn(target.database, holder, config.timeout_seconds)


def _fail_collection(ti, report, reason: str) -> None:
    report.status = "failed"
    ti.xcom_push(key="return_value", value=report.to_dict())
    raise CollectionTaskFailedError(f"{report.collection}: {reason}")


@contextlib.contextmanager
def _run_keys(config: RunConfig, target, run_key: str, collection: str):
    """Every key the run's partitions read, folded from the key journal into a ledger on
    local disk; None for a dry run, which journals nothing."""
    from include.firestore_to_mongo.keys.ledger import journaled_keys
    from include.firestore_to_mongo.target.key_journal import MIGRATION_JOURNAL, KeyJournal

    if config.dry_run:
        yield None
        return
    with journaled_keys(KeyJournal(target.database, MIGRATION_JOURNAL, run_key, collection)) as ledger:
        yield ledger


def _settle_conflicts(spec, config: RunConfig, client, target, keys, report) -> None:
    """Count the run's key conflicts as failures and write each winner once more, so
    that a loser written by a partition that had not yet heard of it never stays."""
    from include.firestore_to_mongo.keys.conflicts import record_conflicts, rewrite_winners
    from include.firestore_to_mongo.target.writer import UpsertWriter

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


def combine_partitions(collection: str, config: RunConfig, plan: dict | None, parts: list[dict]):
    """One collection's report from its partitions' figures."""
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
        # The partitions' own time, added up: the work done, whatever ran side by side
        # (the per-partition rate).
        report.seconds = round(report.seconds + part["seconds"], 3)
        report.cpu_seconds = round(report.cpu_seconds + part.get("cpu_seconds", 0.0), 3)
        report.resumed = report.resumed or part["resumed"]
    report.partitions = len(parts)
    # The collection's wall clock, first partition's start to last one's end: the rate.
    report.started_at, report.ended_at, report.wall_seconds = wall_clock(parts)
    report.status = "ok"
    return report


def _finish(spec, config: RunConfig, plan: dict, report, client, target, keys, run_key: str) -> None:
    from include.firestore_to_mongo.source.reader import count_without_cursor
    from include.firestore_to_mongo.target.key_journal import MIGRATION_JOURNAL, KeyJournal
    from include.firestore_to_mongo.target.run_state import CheckpointStore, WatermarkStore

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
    from include.firestore_to_mongo.keys.deletions import find_and_prune, ledger_from_source
    from include.firestore_to_mongo.source.rate_limit import read_limiter

    with contextlib.ExitStack() as stack:
        if keys is None:
            keys = stack.enter_context(
                ledger_from_source(
                    client,
                    spec,
                    config.batch_size,
                    config.timeout_seconds,
                    read_limiter(config.max_reads_per_second, 1),
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
