"""The verify's `<name>_done`: add the partitions up, settle key conflicts, find (and
prune) extra documents, and count both sides. With `changed_since`, the one partition
did all of it (`verify.changed`): its figures are the collection's row."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.run.tasks import config_for, partition_reports, run_key_of, wall_clock
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import VerifyFailedError
from include.firestore_to_mongo.verify.report import FAILED, SUMMED, VerifyReport

log = logging.getLogger(__name__)


def finish_verify_task(collection: str, params: Mapping[str, Any], ti) -> dict[str, Any]:
    """Add the partitions up, settle key conflicts, find (and prune) extra documents,
    count both sides."""
    from include.firestore_to_mongo.keys.conflicts import rewrite_winners
    from include.firestore_to_mongo.keys.ledger import journaled_keys
    from include.firestore_to_mongo.run.faults import faults_ridden_out
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.source.reader import count_on_paths
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.target.key_journal import KeyJournal
    from include.firestore_to_mongo.target.writer import UpsertWriter
    from include.firestore_to_mongo.target.writer_lease import ticketed, turn_for
    from include.firestore_to_mongo.verify.store import KEY_JOURNAL, DifferenceStore
    from include.firestore_to_mongo.verify.verifier import find_extras, settle_conflicts

    config = config_for(collection, params, VerifyConfig)
    spec = SPECS[collection]
    started = time.monotonic()
    work = ti.xcom_pull(task_ids=f"{collection}_plan")
    report = VerifyReport(collection, spec.target, config.depth, sampled=config.sampled)
    parts = partition_reports(ti, collection, len(work or []))
    for part in parts:
        for name in SUMMED:
            setattr(report, name, getattr(report, name) + part[name])
        report.merge_reasons(VerifyReport.from_dict(part))
    report.partitions = len(parts)
    # The collection's wall clock, first partition's start to last one's end: the rate.
    report.started_at, report.ended_at, report.wall_seconds = wall_clock(parts)
    if work is None or len(parts) < len(work):
        report.status = FAILED
        ti.xcom_push(key="return_value", value=report.to_dict())
        reason = (
            "its plan task failed" if work is None else f"{len(work) - len(parts)} partitions did not finish"
        )
        raise VerifyFailedError(f"{collection}: {reason}")
    if config.changed_since is not None:
        row = {name: value for name, value in parts[0].items() if name != "partition"}
        log.info("%s: %s", collection, row["status"])
        return row
    client, _ = open_source(config.firestore_conn_id)
    holder = f"{run_key_of(ti)}/{collection}_done"
    with (
        TargetSession(config) as target,
        # Rewriting conflicts' winners and pruning write: capture, if it runs, hands over.
        turn_for(config.repair, target.database, holder, config.timeout_seconds, log) as ticket,
    ):
        documents = target.database[spec.target]
        if config.depth == "counts" or config.sampled:
            report.source_count = count_on_paths(client, spec, config.timeout_seconds)
        else:
            report.source_count = report.read
        if config.depth != "counts":
            store = DifferenceStore(target.database, ti.run_id, collection)
            journal = KeyJournal(target.database, KEY_JOURNAL, run_key_of(ti), collection)
            with journaled_keys(journal) as ledger:
                winners = settle_conflicts(spec, ledger, store, report)
                if config.repair and winners:
                    # A partition may have repaired a loser before it heard of the winner.
                    writer = ticketed(UpsertWriter(documents, spec), ticket)
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
        report.retried_faults += faults_ridden_out(client, target)
    report.finish_seconds = round(time.monotonic() - started, 3)
    report.settle()
    log.info("%s: %s", collection, report.status)
    return report.to_dict()
