"""`<name>`, one mapped instance per partition: read, map and write the partition's
documents, checkpointing after every written page, so that a retry resumes there."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.contract.timestamps import fromisoformat_or_none
from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.errors import TooManyFailuresError
from include.firestore_to_mongo.run.tasks import (
    PARTITION_REPORT,
    config_for,
    now_iso,
    run_key_of,
    seconds_between,
)

log = logging.getLogger(__name__)


def migrate_partition_task(
    collection: str, work: dict[str, Any], params: Mapping[str, Any], ti
) -> dict[str, Any]:
    """Read, map and write one partition, checkpointing after every written page."""
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.source.partitions import Partition
    from include.firestore_to_mongo.target.connection import TargetSession

    config = config_for(collection, params, RunConfig)
    partition = Partition.from_dict(work["partition"])
    client, _ = open_source(config.firestore_conn_id)
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
    from include.firestore_to_mongo.keys.conflicts import record_conflicts
    from include.firestore_to_mongo.keys.ledger import JournaledLedger, LocalKeyLedger
    from include.firestore_to_mongo.migrate.report import CollectionReport
    from include.firestore_to_mongo.run.faults import faults_ridden_out
    from include.firestore_to_mongo.source.reader import ReadPosition
    from include.firestore_to_mongo.target.key_journal import MIGRATION_JOURNAL, KeyJournal
    from include.firestore_to_mongo.target.run_state import CheckpointStore
    from include.firestore_to_mongo.target.writer import DryRunPreview, UpsertWriter
    from include.firestore_to_mongo.target.writer_lease import TicketedWriter, writer_turn

    attempt_started = time.monotonic()
    attempt_started_at = now_iso()
    label = f"{spec.name}[{partition.index}]" if partition.count > 1 else spec.name
    checkpoints = CheckpointStore(target.database, run_key, spec.name, partition.index)
    checkpoint = None if config.dry_run else checkpoints.load()
    if checkpoint is not None:
        report = CollectionReport.from_dict(checkpoint["report"])
        report.resumed = True
        # The partition's wall clock runs from its first attempt's start.
        report.started_at = report.started_at or attempt_started_at
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
            started_at=attempt_started_at,
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
    previous_faults = report.retried_faults
    attempt_cpu = time.process_time()

    def clock(report) -> None:
        report.seconds = round(previous_seconds + time.monotonic() - attempt_started, 3)
        report.cpu_seconds = round(previous_cpu + time.process_time() - attempt_cpu, 3)
        report.retried_faults = previous_faults + faults_ridden_out(client, target)
        report.ended_at = now_iso()
        report.wall_seconds = seconds_between(report.started_at, report.ended_at)

    def save_checkpoint(page, report) -> None:
        clock(report)
        if not config.dry_run:
            position = {
                "path": page.position.path,
                "cursor_value": page.position.cursor_value,
                "range_index": page.position.range_index,
            }
            checkpoints.save({"position": position, "report": report.to_dict()})

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
        writer = (DryRunPreview if config.dry_run else UpsertWriter)(target.database[spec.target], spec)
        with contextlib.ExitStack() as turn:
            if not config.dry_run:
                # From before the first read to after the last write: change capture, if it
                # runs, hands over and applies nothing meanwhile (see target.writer_lease).
                ticket = turn.enter_context(
                    writer_turn(target.database, f"{run_key}/{label}", config.timeout_seconds, log)
                )
                writer = TicketedWriter(writer, ticket)
            _migrate(
                spec, config, plan, partition, client, writer, report, resume_after, save_checkpoint, ledger
            )
        if config.dry_run:
            record_conflicts(spec, ledger, report)
    finally:
        ledger.close()
    clock(report)
    report.status = "ok"
    return report


def _migrate(
    spec, config, plan, partition, client, writer, report, resume_after, save_checkpoint, ledger
) -> None:
    from include.firestore_to_mongo.keys.conflicts import ConflictGuard
    from include.firestore_to_mongo.migrate.pipeline import changed_since, migrate_collection
    from include.firestore_to_mongo.source.rate_limit import read_limiter
    from include.firestore_to_mongo.source.reader import read_pages
    from include.firestore_to_mongo.util.prefetch import prefetched

    write_since = fromisoformat_or_none(plan["write_since"])
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
                limiter=read_limiter(config.max_reads_per_second, partition.count),
            )
        ),
        writer,
        report,
        keep=changed_since(write_since) if write_since else None,
        on_page_written=save_checkpoint,
        conflicts=ConflictGuard(spec, ledger),
    )


def _describe_partition(partition) -> str:
    if partition.count <= 1:
        return ""
    bounds = (
        f"until {partition.until.isoformat()}"
        if partition.until
        else f"[{partition.start or '…'}, {partition.end or '…'})"
    )
    return f" (partition {partition.index + 1} of {partition.count}, {partition.method}: {bounds})"
