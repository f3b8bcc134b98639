"""The bodies of the verify DAG's tasks: the migration's connections, partitions, reader,
mapping, comparer, key ledger and writer, put to checking instead of copying.

Each collection runs as three tasks:
- `<name>_plan` splits the collection into partitions as the migration does (none
  at depth `counts`; one for a sample);
- `<name>`, one mapped instance per partition, compares its documents, re-checks
  what did not match, and repairs it when asked;
- `<name>_done` adds the parts up, settles key conflicts, finds (and prunes) extra
  documents, and counts both sides.
`summary` then tabulates the run, logs the first differences, and fails the run
when differences remain.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.specs import COLLECTION_NAMES, SPECS
from include.firestore_to_mongo.tasks import (
    PARTITION_REPORT,
    TargetSession,
    config_for,
    firestore_client,
    partition_reports,
    read_limiter,
    run_key_of,
    split,
)
from include.firestore_to_mongo.verify_config import VerifyConfig
from include.firestore_to_mongo.verify_report import (
    FAILED,
    SUMMED,
    VerifyReport,
    failed_row,
    render_verify_notes,
    render_verify_table,
)

log = logging.getLogger(__name__)


class VerifyFailedError(RuntimeError):
    """Differences remain after the verify (and its repair), or a collection task failed."""


# --- <name>_plan -------------------------------------------------------------------


def plan_verify_task(collection: str, params: Mapping[str, Any], ti) -> list[dict[str, Any]]:
    """Split the collection's read into partitions (none for counts, one for a sample)."""
    from include.firestore_to_mongo.key_conflicts import KeyJournal
    from include.firestore_to_mongo.partitions import Partition
    from include.firestore_to_mongo.verify_store import KEY_JOURNAL, DifferenceStore

    config = config_for(collection, params, VerifyConfig)
    spec = SPECS[collection]
    now = datetime.now(UTC)
    if config.depth == "counts":
        log.info("%s: depth counts: no documents are read, %s_done counts both sides", collection, collection)
        return []
    client, _ = firestore_client(config)
    with TargetSession(config) as target:
        # A run starts clean, even when it is cleared and run again: its findings so far,
        # its key journal, and those that failed runs left (one verify runs at a time,
        # max_active_runs=1).
        store = DifferenceStore(target.database, ti.run_id, collection)
        store.prepare()
        store.clear_run()
        journal = KeyJournal(target.database, KEY_JOURNAL, run_key_of(ti), collection)
        journal.prepare()
        journal.drop()
        KeyJournal.drop_other_runs(target.database, KEY_JOURNAL, run_key_of(ti), collection)
    partitions = [Partition(0, 1, "sample")] if config.sampled else split(client, spec, config, None, now)
    log.info(
        "%s: depth %s%s, %d partition(s) by %s",
        collection,
        config.depth,
        f", a sample of {config.sample_size:,}" if config.sampled else "",
        len(partitions),
        partitions[0].method,
    )
    # A source document whose update_time is after `started` changed during the verify.
    return [{"plan": {"started": now.isoformat()}, "partition": p.to_dict()} for p in partitions]


# --- <name>, one instance per partition ------------------------------------------------


def verify_partition_task(
    collection: str, work: dict[str, Any], params: Mapping[str, Any], ti
) -> dict[str, Any]:
    """Compare one partition, re-check what did not match, repair it when asked."""
    from include.firestore_to_mongo.partitions import Partition

    config = config_for(collection, params, VerifyConfig)
    partition = Partition.from_dict(work["partition"])
    client, _ = firestore_client(config)
    started = time.monotonic()
    with TargetSession(config) as target:
        report = _verify_partition(
            SPECS[collection], config, work["plan"], partition, client, target, ti.run_id, run_key_of(ti)
        )
    report.seconds = round(time.monotonic() - started, 3)
    report.status = "ok"
    figures = report.to_dict() | {"partition": partition.index}
    ti.xcom_push(key=PARTITION_REPORT, value=figures)
    return figures


def _verify_partition(spec, config: VerifyConfig, plan: dict, partition, client, target, run_id, run_key):
    from include.firestore_to_mongo.firestore_reader import read_pages
    from include.firestore_to_mongo.key_conflicts import (
        ConflictGuard,
        JournaledLedger,
        KeyJournal,
        LocalKeyLedger,
    )
    from include.firestore_to_mongo.mongo_writer import Comparer, UpsertWriter
    from include.firestore_to_mongo.prefetch import prefetched
    from include.firestore_to_mongo.progress import ProgressLog
    from include.firestore_to_mongo.sampling import sample_pages
    from include.firestore_to_mongo.verify import PartitionVerifier
    from include.firestore_to_mongo.verify_store import KEY_JOURNAL, DifferenceStore

    label = f"{spec.name}[{partition.index}]" if partition.count > 1 else spec.name
    full = config.depth == "full"
    store = DifferenceStore(target.database, run_id, spec.name, partition.index)
    journal = KeyJournal(target.database, KEY_JOURNAL, run_key, spec.name, partition.index)
    # A retry starts the partition over.
    store.clear_partition()
    journal.clear_partition()
    collection = target.database[spec.target]
    writer = None
    if config.repair:
        writer = UpsertWriter(collection, spec)
        writer.prepare()
    report = VerifyReport(spec.name, spec.target, config.depth, sampled=config.sampled)
    # Judged on local disk, journaled for `<name>_done` (conflicts, extra documents).
    ledger = JournaledLedger(LocalKeyLedger(), journal)
    verifier = PartitionVerifier(
        spec,
        full,
        Comparer(collection, spec),
        ConflictGuard(spec, ledger),
        datetime.fromisoformat(plan["started"]),
        store,
        report,
        writer,
    )
    limiter = read_limiter(config, partition.count)
    if config.sampled:
        pages = sample_pages(
            client,
            spec,
            config.sample_size,
            config.batch_size,
            config.timeout_seconds,
            # Another part of the collection on each run; the same on a retry.
            offset=zlib.crc32(run_id.encode()) / 2**32,
            limiter=limiter,
        )
    else:
        pages = read_pages(
            client,
            spec,
            config.batch_size,
            config.timeout_seconds,
            partition=partition,
            limiter=limiter,
            # Keys only: the id field is all a key needs.
            fields=None if full else [spec.id_field],
        )
    log.info(
        "%s: verifying %s against %s.%s, depth %s%s",
        label,
        "/".join(segment or "{id}" for segment in spec.path_shape),
        target.database.name,
        spec.target,
        config.depth,
        " with repair" if config.repair else "",
    )
    progress = ProgressLog(label, log)
    try:
        with progress.heartbeat():
            for page in prefetched(pages):
                verifier.check_page(page)
                progress.update(report.read, page.position.path)
        progress.done(report.read)
        verifier.recheck(client, config.batch_size, config.timeout_seconds)
    finally:
        verifier.close()
        ledger.close()
    return report


# --- <name>_done ---------------------------------------------------------------------


def finish_verify_task(collection: str, params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Add the partitions up, settle key conflicts, find (and prune) extra documents,
    count both sides."""
    from include.firestore_to_mongo.firestore_reader import count_on_paths
    from include.firestore_to_mongo.key_conflicts import KeyJournal, rewrite_winners
    from include.firestore_to_mongo.mongo_writer import UpsertWriter
    from include.firestore_to_mongo.verify import find_extras, settle_conflicts
    from include.firestore_to_mongo.verify_store import KEY_JOURNAL, DifferenceStore

    config = config_for(collection, params, VerifyConfig)
    spec = SPECS[collection]
    started = time.monotonic()
    work = ti.xcom_pull(task_ids=f"{collection}_plan")
    report = VerifyReport(collection, spec.target, config.depth, sampled=config.sampled)
    parts = partition_reports(ti, collection, len(work or []))
    for part in parts:
        for name in SUMMED:
            setattr(report, name, getattr(report, name) + part[name])
    report.partitions = len(parts)
    if work is None or len(parts) < len(work):
        report.status = FAILED
        ti.xcom_push(key="return_value", value=report.to_dict())
        reason = (
            "its plan task failed" if work is None else f"{len(work) - len(parts)} partitions did not finish"
        )
        raise VerifyFailedError(f"{collection}: {reason}")
    client, _ = firestore_client(config)
    with TargetSession(config) as target:
        documents = target.database[spec.target]
        if config.depth == "counts" or config.sampled:
            report.source_count = count_on_paths(client, spec, config.timeout_seconds)
        else:
            report.source_count = report.read
        if config.depth != "counts":
            store = DifferenceStore(target.database, ti.run_id, collection)
            journal = KeyJournal(target.database, KEY_JOURNAL, run_key_of(ti), collection)
            with journal.ledger() as ledger:
                winners = settle_conflicts(spec, ledger, store, report)
                if config.repair and winners:
                    # A partition may have repaired a loser before it heard of the winner.
                    writer = UpsertWriter(documents, spec)
                    rewrite_winners(
                        spec, winners, client, writer, report, config.batch_size, config.timeout_seconds
                    )
                report.compared = ledger.key_count()
                if not config.sampled:
                    find_extras(
                        spec,
                        documents,
                        ledger,
                        client,
                        store,
                        report,
                        config.batch_size,
                        config.timeout_seconds,
                        prune=config.prune,
                    )
            journal.drop()
        report.target_count = documents.count_documents({})
    report.seconds = round(report.seconds + time.monotonic() - started, 3)
    report.settle()
    log.info("%s: %s", collection, report.status)
    return report.to_dict()


# --- summary -------------------------------------------------------------------------


def summary_verify_task(params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Log the table and the first differences, keep the last runs' records, record the
    run for the sync page, and fail the run when differences remain or a collection task
    failed."""
    from include.firestore_to_mongo.run_history import VERIFY, record_summary

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
        "Firestore → MongoDB verify, depth %s%s%s\n%s%s",
        config.depth,
        f", sample of {config.sample_size:,}" if config.sampled else "",
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
    record_summary(config, VERIFY, ti, rows)
    failed = [row["collection"] for row in rows if row["status"] == FAILED]
    differing = [row["collection"] for row in rows if row.get("remaining")]
    if failed or differing:
        ti.xcom_push(key="return_value", value=figures)
        problems = [f"differences remain in {', '.join(differing)}"] if differing else []
        problems += [f"collection tasks failed: {', '.join(failed)}"] if failed else []
        raise VerifyFailedError("; ".join(problems))
    return figures


def _log_differences(config: VerifyConfig, run_id: str, rows: list[dict[str, Any]]) -> None:
    from include.firestore_to_mongo.verify_store import VERIFY_RECORDS, DifferenceStore

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
