"""`<name>_plan`: decide full or incremental for one collection, and split its read into
partitions (PartitionQuery on real Firestore, twin ranges where it is missing, time
windows for incremental reads)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.contract.timestamps import isoformat_or_none
from include.firestore_to_mongo.migrate.config import RunConfig
from include.firestore_to_mongo.migrate.read_plan import describe, plan_read
from include.firestore_to_mongo.run.tasks import config_for, current_dag_run, run_key_of

log = logging.getLogger(__name__)

# The XCom key under which the plan says why a scheduled run left the collection alone.
STOOD_ASIDE = "stood_aside"


def plan_collection_task(collection: str, params: Mapping[str, Any], ti) -> list[dict[str, Any]]:
    """Decide full or incremental for `collection` and split its read into partitions."""
    from include.firestore_to_mongo.source.hook import open_source
    from include.firestore_to_mongo.source.partitions import split
    from include.firestore_to_mongo.target.connection import TargetSession
    from include.firestore_to_mongo.target.run_state import WatermarkStore

    config = config_for(collection, params, RunConfig)
    spec = SPECS[collection]
    client, source = open_source(config.firestore_conn_id)
    with TargetSession(config) as target:
        if reason := _stand_aside_for_capture(target.database, collection):
            # No partitions (their task is skipped); `<name>_done` skips with the reason.
            log.info(reason)
            ti.xcom_push(key=STOOD_ASIDE, value=reason)
            return []
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
    partitions = split(client, spec, config.partitions, plan.read_since, now, config.timeout_seconds)
    log.info(
        "%s: %s, %d partition(s) by %s; watermark %s",
        collection,
        describe(plan, spec),
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


def _stand_aside_for_capture(database, collection: str) -> str | None:
    """Why a scheduled run skips `collection`: change capture runs, and already keeps
    MongoDB in sync; the run would only make it hand over its writer lease and fall
    behind. A run triggered by hand goes ahead (capture waits for it)."""
    from include.firestore_to_mongo.target.capture_state import CaptureState

    run_type = str(getattr(current_dag_run(), "run_type", "") or "").lower()
    if "scheduled" not in run_type:
        return None
    status = CaptureState(database).live_status()
    if status is None:
        return None
    return (
        f"{collection}: change capture ({status.get('run_id')}) is keeping MongoDB in sync, so this "
        "scheduled run stands aside; trigger a run by hand to run one anyway"
    )


def _forget_abandoned_runs(database, run_key: str, collection: str) -> None:
    """Drop the key journals and checkpoints that failed, abandoned runs left behind: one
    run of this DAG at a time (max_active_runs=1), so any other run's are stale."""
    from include.firestore_to_mongo.target.key_journal import (
        MIGRATION_JOURNAL,
        KeyJournal,
        drop_legacy_ledgers,
    )
    from include.firestore_to_mongo.target.run_state import CheckpointStore

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
