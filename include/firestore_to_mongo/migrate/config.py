"""The migration DAG's run parameters: their schema for the trigger form, and the
validated `RunConfig` every task works from. What the DAG file needs comes from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES, asset_alias_name
from include.firestore_to_mongo.run.params import MODES, SHARED_SCHEMAS, dag_params, parse_since, validated

# What the DAG file needs, all from here: the DAG files import nothing below migrate/.
__all__ = [
    "COLLECTION_NAMES",
    "DEFAULT_SCHEDULE",
    "PARAM_SCHEMAS",
    "SCHEDULE_ENV",
    "RunConfig",
    "asset_alias_name",
    "trigger_params",
]

# The environment variable that sets the DAG's schedule (read at parse time), and its default.
SCHEDULE_ENV = "FIRESTORE_TO_MONGO_SCHEDULE"
DEFAULT_SCHEDULE = "@hourly"
# Empty, a date, or a date and time with optional seconds, fraction and offset: what
# the trigger form accepts for `since` before the task parses it for real.
ISO_DATETIME_PATTERN = (
    r"^$|^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)

# JSON schema of each param, with the trigger form's title and description.
PARAM_SCHEMAS: dict[str, dict[str, Any]] = (
    {
        "dry_run": {
            "default": False,
            "type": "boolean",
            "title": "Dry run",
            "description": "Read and map everything, write nothing to MongoDB (no collection, no "
            "index). Reports what would be inserted and updated, with 3 sample documents each.",
        },
        "mode": {
            "default": "incremental",
            "type": "string",
            "enum": list(MODES),
            "title": "Mode",
            "description": "incremental (the schedule's mode) reads conversations and messages "
            "changed since the last watermark and writes users and twins changed since theirs; "
            "without a watermark it runs in full. full re-reads and rewrites everything and finds "
            "MongoDB documents deleted in Firestore.",
        },
        "since": {
            "default": None,
            "type": ["null", "string"],
            "pattern": ISO_DATETIME_PATTERN,
            "title": "Since (incremental)",
            "description": "ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z. For this one incremental "
            "run, read changes from this instant instead of from the stored watermark (no "
            "look-back is added). Empty: use the watermark.",
        },
        "lookback_minutes": {
            "default": 10,
            "type": "integer",
            "minimum": 0,
            "maximum": 7 * 24 * 60,
            "title": "Look-back (minutes)",
            "description": "Incremental runs re-read this much before the watermark, to catch "
            "late writes and clock skew. Re-reading is harmless: writes are upserts.",
        },
        "prune": {
            "default": False,
            "type": "boolean",
            "title": "Prune deleted documents",
            "description": "Full runs only: delete MongoDB documents whose source no longer exists "
            "in Firestore. Without it, a full run only reports them. Never done when a document "
            "of the collection failed in this run.",
        },
    }
    | SHARED_SCHEMAS
    | {
        "max_failures": {
            "default": 0,
            "type": "integer",
            "minimum": 0,
            "title": "Failures allowed",
            "description": "Documents per collection that may fail to migrate before the "
            "collection's task fails, key conflicts' losers included. Failed documents are "
            "always logged by path.",
        },
    }
)


def trigger_params() -> dict[str, Any]:
    """The DAG's `Param`s, for its trigger form."""
    return dag_params(PARAM_SCHEMAS)


@dataclass(frozen=True)
class RunConfig:
    dry_run: bool
    mode: str
    since: datetime | None
    lookback_minutes: int
    prune: bool
    collections: tuple[str, ...]
    batch_size: int
    mongo_db: str | None
    firestore_conn_id: str
    mongo_conn_id: str
    timeout_seconds: int
    partitions: int
    max_reads_per_second: int | None
    max_failures: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> RunConfig:
        """Validate `params` (defaults fill gaps) and raise ParamError naming every bad one."""
        values = validated(PARAM_SCHEMAS, params)
        return cls(
            dry_run=values["dry_run"],
            mode=values["mode"],
            since=parse_since(values["since"]),
            lookback_minutes=values["lookback_minutes"],
            prune=values["prune"],
            collections=tuple(values["collections"]),
            batch_size=values["batch_size"],
            mongo_db=values["mongo_db"] or None,
            firestore_conn_id=values["firestore_conn_id"],
            mongo_conn_id=values["mongo_conn_id"],
            timeout_seconds=values["timeout_seconds"],
            partitions=values["partitions"],
            max_reads_per_second=values["max_reads_per_second"],
            max_failures=values["max_failures"],
        )
