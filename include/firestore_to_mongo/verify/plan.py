"""The verify's `<name>_plan`: split the collection's read into partitions as the
migration does (none at depth `counts`; one for a sample, and one for the changed
documents with `changed_since`, once the change journal is seen to vouch for that time),
and start the run clean."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.run.tasks import config_for, run_key_of
from include.firestore_to_mongo.verify.changed import CHANGED_METHOD, iso, journal_covers
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import JournalGapError

log = logging.getLogger(__name__)


def plan_verify_task(collection: str, params: Mapping[str, Any], ti) -> list[dict[str, Any]]:
    """Split the collection's read into partitions (none for counts, one for a sample or
    for the changed documents)."""
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
        if config.changed_since is not None:
            _journal_vouches(target.database, config.changed_since)
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
    if config.changed_since is not None:
        # verify.changed does the whole collection in one process, as the cut-over runs it.
        partitions = [Partition(0, 1, CHANGED_METHOD)]
    elif config.sampled:
        partitions = [Partition(0, 1, "sample")]
    else:
        partitions = split(client, spec, config.partitions, None, now, config.timeout_seconds)
    log.info(
        "%s: depth %s%s%s, %d partition(s) by %s",
        collection,
        config.depth,
        f", a sample of {config.sample_size:,}" if config.sampled else "",
        f", changed since {iso(config.changed_since)}" if config.changed_since else "",
        len(partitions),
        partitions[0].method,
    )
    # A source document whose update_time is after `started` changed during the verify.
    return [{"plan": {"started": now.isoformat()}, "partition": p.to_dict()} for p in partitions]


def _journal_vouches(database, since: datetime) -> None:
    """Fail the run, without retries, unless the change journal is complete since `since`."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        journal_covers(database, since)
    except JournalGapError as error:
        raise AirflowFailException(str(error)) from error
