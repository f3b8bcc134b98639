"""The capture DAG's params: their schema for the trigger form, and the validated
`CaptureConfig` its task works from. What the DAG file needs comes from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from include.firestore_to_mongo.run.params import SHARED_SCHEMAS, dag_params, validated

__all__ = ["CAPTURE_DAG_ID", "CAPTURE_PARAM_SCHEMAS", "CaptureConfig", "trigger_params"]

CAPTURE_DAG_ID = "firestore_to_mongo_capture"

CAPTURE_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "run_minutes": {
        "default": 10,
        "type": "integer",
        "minimum": 1,
        "maximum": 720,
        "title": "Minutes per run",
        "description": "How long one capture run listens and applies before it ends; the next "
        "run (the schedule is continuous) resumes from its checkpoint.",
    },
    "retention_days": {
        "default": 7,
        "type": "integer",
        "minimum": 1,
        "maximum": 365,
        "title": "Change journal retention (days)",
        "description": "How long the change journal keeps each applied path: a verify with "
        "changed_since can look back this far.",
    },
} | {
    name: SHARED_SCHEMAS[name]
    for name in ("mongo_db", "firestore_conn_id", "mongo_conn_id", "timeout_seconds")
}


def trigger_params() -> dict[str, Any]:
    """The DAG's `Param`s, for its trigger form."""
    return dag_params(CAPTURE_PARAM_SCHEMAS)


@dataclass(frozen=True)
class CaptureConfig:
    run_minutes: int
    retention_days: int
    mongo_db: str | None
    firestore_conn_id: str
    mongo_conn_id: str
    timeout_seconds: int

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CaptureConfig:
        """Validate `params` (defaults fill gaps) and raise ParamError naming every bad one."""
        values = validated(CAPTURE_PARAM_SCHEMAS, params)
        return cls(
            run_minutes=values["run_minutes"],
            retention_days=values["retention_days"],
            mongo_db=values["mongo_db"] or None,
            firestore_conn_id=values["firestore_conn_id"],
            mongo_conn_id=values["mongo_conn_id"],
            timeout_seconds=values["timeout_seconds"],
        )
