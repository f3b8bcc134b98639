"""The cut-over DAG's params: their schema for the trigger form, and the validated
`CutoverConfig` its tasks work from. What the DAG file needs comes from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.run.params import SHARED_SCHEMAS, dag_params, validated
from include.firestore_to_mongo.verify.config import VerifyConfig

__all__ = ["CUTOVER_DAG_ID", "CUTOVER_PARAM_SCHEMAS", "CutoverConfig", "trigger_params"]

CUTOVER_DAG_ID = "firestore_to_mongo_cutover"

CUTOVER_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "timeout_minutes": {
        "default": 10,
        "type": "integer",
        "minimum": 1,
        "maximum": 240,
        "title": "Catch-up timeout (minutes)",
        "description": "How long to wait for change capture to apply everything up to a read "
        "time after this run started. Longer, and the cut-over is blocked.",
    },
    "repair": {
        "default": False,
        "type": "boolean",
        "title": "Repair",
        "description": "Write the mapped source document for every changed document that "
        "differs (with the migration's writer), then check it again.",
    },
    "prune": {
        "default": False,
        "type": "boolean",
        "title": "Prune",
        "description": "With repair: also delete MongoDB documents whose Firestore source was "
        "deleted since the last full verify.",
    },
} | {
    name: SHARED_SCHEMAS[name]
    for name in (
        "mongo_db",
        "firestore_conn_id",
        "mongo_conn_id",
        "batch_size",
        "timeout_seconds",
        "max_reads_per_second",
    )
}


def trigger_params() -> dict[str, Any]:
    """The DAG's `Param`s, for its trigger form."""
    return dag_params(CUTOVER_PARAM_SCHEMAS)


@dataclass(frozen=True)
class CutoverConfig:
    timeout_minutes: int
    repair: bool
    prune: bool
    mongo_db: str | None
    firestore_conn_id: str
    mongo_conn_id: str
    batch_size: int
    timeout_seconds: int
    max_reads_per_second: int | None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CutoverConfig:
        """Validate `params` (defaults fill gaps) and raise ParamError naming every bad one."""
        from include.firestore_to_mongo.run.params import ParamError

        values = validated(CUTOVER_PARAM_SCHEMAS, params)
        if values["prune"] and not values["repair"]:
            raise ParamError("bad params: prune needs repair")
        return cls(**(values | {"mongo_db": values["mongo_db"] or None}))

    def verify_config(self, since: datetime) -> VerifyConfig:
        """The verify of what changed since `since`, at full depth, as this run asks."""
        return VerifyConfig.from_params(
            {
                "depth": "full",
                "changed_since": since.isoformat(),
                "repair": self.repair,
                "prune": self.prune,
                "mongo_db": self.mongo_db,
                "firestore_conn_id": self.firestore_conn_id,
                "mongo_conn_id": self.mongo_conn_id,
                "batch_size": self.batch_size,
                "timeout_seconds": self.timeout_seconds,
                "max_reads_per_second": self.max_reads_per_second,
            }
        )
