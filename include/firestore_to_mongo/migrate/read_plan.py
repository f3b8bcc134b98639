"""What a run reads and writes for one collection: full, or what changed since the watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.migrate.config import RunConfig


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
    """Full for full runs and when no watermark is stored; else from `since` or the
    watermark less the look-back, read by cursor (cursor collections) or written by
    update_time (the others)."""
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


def describe(plan: ReadPlan, spec: CollectionSpec) -> str:
    """What the plan reads and writes, in words, for the plan task's log."""
    if plan.read_since is not None:
        return (
            f"incremental: {spec.cursor_field} ≥ {plan.read_since.isoformat()} "
            "(as a Timestamp, an epoch number, or an ISO string from a day earlier)"
        )
    if plan.write_since is not None:
        return f"incremental: reading all, writing what changed since {plan.write_since.isoformat()}"
    return plan.mode
