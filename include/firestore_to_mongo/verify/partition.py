"""The verify's `<name>`, one mapped instance per partition: compare the partition's
documents with MongoDB, re-check what did not match, repair it when asked."""

from __future__ import annotations

import logging
import time
import zlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.run.tasks import (
    PARTITION_REPORT,
    config_for,
    now_iso,
    run_key_of,
    seconds_between,
)
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.report import VerifyReport

log = logging.getLogger(__name__)


def verify_partition_task(
    collection: str, work: dict[str, Any], params: Mapping[str, Any], ti
) -> dict[str, Any]:
    """Compare one partition, re-check what did not match, repair it when asked. With
    `changed_since`, the one partition is the collection's changed documents, verified
    by `verify.changed` (as the cut-over does): its figures are the collection's row."""
    from include.firestore_to_mongo.run.faults import faults_ridden_out
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.source.partitions import Partition
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.target.writer_lease import turn_for

    config = config_for(collection, params, VerifyConfig)
    if config.changed_since is not None:
        from airflow.sdk.exceptions import AirflowFailException

        from include.firestore_to_mongo.verify.changed import verify_changed
        from include.firestore_to_mongo.verify.errors import JournalGapError

        try:
            row = verify_changed(config, collection, config.changed_since, run_key_of(ti))
        except JournalGapError as error:
            # Retention moved the journal's start since the plan checked it: a retry can't help.
            raise AirflowFailException(str(error)) from error
        figures = row | {"partition": 0}
        ti.xcom_push(key=PARTITION_REPORT, value=figures)
        return figures
    partition = Partition.from_dict(work["partition"])
    client, _ = open_source(config.firestore_conn_id)
    started, started_at = time.monotonic(), now_iso()
    holder = f"{run_key_of(ti)}/{collection}[{partition.index}]"
    with (
        TargetSession(config) as target,
        # A repair writes what it read: capture, if it runs, hands over meanwhile.
        turn_for(config.repair, target.database, holder, config.timeout_seconds, log) as ticket,
    ):
        report = _verify_partition(
            SPECS[collection],
            config,
            work["plan"],
            partition,
            client,
            target,
            ti.run_id,
            run_key_of(ti),
            ticket,
        )
        report.retried_faults = faults_ridden_out(client, target)
    report.seconds = round(time.monotonic() - started, 3)
    # A retry starts the partition over: its wall clock too.
    report.started_at, report.ended_at = started_at, now_iso()
    report.wall_seconds = seconds_between(report.started_at, report.ended_at)
    report.status = "ok"
    figures = report.to_dict() | {"partition": partition.index}
    ti.xcom_push(key=PARTITION_REPORT, value=figures)
    return figures


def _verify_partition(
    spec, config: VerifyConfig, plan: dict, partition, client, target, run_id, run_key, ticket
):
    from include.firestore_to_mongo.keys.conflicts import ConflictGuard
    from include.firestore_to_mongo.keys.ledger import JournaledLedger, LocalKeyLedger
    from include.firestore_to_mongo.source.rate_limit import read_limiter
    from include.firestore_to_mongo.source.reader import read_pages
    from include.firestore_to_mongo.source.sampling import sample_pages
    from include.firestore_to_mongo.target.key_journal import KeyJournal
    from include.firestore_to_mongo.target.writer import Comparer, UpsertWriter
    from include.firestore_to_mongo.target.writer_lease import ticketed
    from include.firestore_to_mongo.util.prefetch import prefetched
    from include.firestore_to_mongo.util.progress import ProgressLog
    from include.firestore_to_mongo.verify.store import KEY_JOURNAL, DifferenceStore
    from include.firestore_to_mongo.verify.verifier import PartitionVerifier

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
        writer = ticketed(UpsertWriter(collection, spec), ticket)
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
    limiter = read_limiter(config.max_reads_per_second, partition.count)
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
