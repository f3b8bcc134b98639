"""The verify's `<name>_plan`: split the collection's read into partitions as the
migration does (none at depth `counts`; one for a sample), and start the run clean."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.run.tasks import config_for, run_key_of
from include.firestore_to_mongo.verify.config import VerifyConfig

log = logging.getLogger(__name__)


def plan_verify_task(collection: str, params: Mapping[str, Any], ti) -> list[dict[str, Any]]:
    """Split the collection's read into partitions (none for counts, one for a sample)."""
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.source.partitions import Partition, split
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.target.key_journal import KeyJournal
    from include.firestore_to_mongo.verify.store import KEY_JOURNAL, DifferenceStore

    config = config_for(collection, params, VerifyConfig)
    spec = SPECS[collection]
    now = datetime.now(UTC)
    if config.depth == "counts":
        log.info("%s: depth counts: no documents are read, %s_done counts both sides", collection, collection)
        return []
    client, _ = open_source(config.firestore_conn_id)
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
    partitions = (
        [Partition(0, 1, "sample")]
        if config.sampled
        else split(client, spec, config.partitions, None, now, config.timeout_seconds)
    )
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
