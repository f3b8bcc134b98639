"""The params of both DAGs: the rule each one is checked by, the schemas they share, and
their `Param`s for Airflow's trigger form. A bad param fails the task before any work."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.contract.timestamps import to_bson_datetime

MODES = ("full", "incremental")
# The verify DAG's depths, cheapest first.
DEPTHS = ("counts", "keys", "full")
MAX_SAMPLE_SIZE = 1_000_000
MAX_BATCH_SIZE = 10_000
MAX_TIMEOUT_SECONDS = 3_600
MAX_PARTITIONS = 64
MAX_CAPTURE_RUN_MINUTES = 720
MAX_RETENTION_DAYS = 365
MAX_CUTOVER_MINUTES = 240

# The params both DAGs take, with the same meaning, so the same schema (title,
# description, limits): JSON schema of each, with the trigger form's title and description.
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    "collections": {
        "default": list(COLLECTION_NAMES),
        "type": "array",
        "items": {"type": "string", "enum": list(COLLECTION_NAMES)},
        "uniqueItems": True,
        "minItems": 1,
        "title": "Collections",
        "description": "Which collections to migrate: any of "
        + ", ".join(COLLECTION_NAMES)
        + ". The others are skipped.",
    },
    "batch_size": {
        "default": 500,
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_BATCH_SIZE,
        "title": "Batch size",
        "description": "Documents per Firestore page and per MongoDB bulk write (1 to 10,000). "
        "Memory use grows with it.",
    },
    "mongo_db": {
        "default": None,
        "type": ["null", "string"],
        "title": "MongoDB database",
        "description": "Target database. Empty: the Mongo connection's schema, else 'app'.",
    },
    "firestore_conn_id": {
        "default": "google_cloud_default",
        "type": "string",
        "minLength": 1,
        "title": "Firestore connection",
        "description": "A Google Cloud connection id: its project (and optional extra "
        "'database') is the source.",
    },
    "mongo_conn_id": {
        "default": "mongo_default",
        "type": "string",
        "minLength": 1,
        "title": "MongoDB connection",
        "description": "A connection of type mongo; its schema is the default database.",
    },
    "timeout_seconds": {
        "default": 60,
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_TIMEOUT_SECONDS,
        "title": "Backend timeout (seconds)",
        "description": "Longest wait for one Firestore page or one MongoDB operation, retries "
        "included. A backend that doesn't answer in time fails the task (and Airflow retries "
        "it) instead of hanging.",
    },
    "partitions": {
        "default": 4,
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_PARTITIONS,
        "title": "Partitions",
        "description": "Conversations and messages are split into up to this many parts, each "
        "its own mapped task instance, so several workers can share the work. Real Firestore "
        "splits with PartitionQuery; the emulator by ranges of parent twins.",
    },
    "max_reads_per_second": {
        "default": None,
        "type": ["null", "integer"],
        "minimum": 1,
        "title": "Read rate limit",
        "description": "Optional cap on Firestore document reads per second for the whole run, "
        "shared by the partitions. Follows Firestore's ramp-up guidance: starts at 500/s at "
        "most and grows by 50% every 5 minutes up to this cap. Empty: no limit.",
    },
}


class ParamError(ValueError):
    """A run parameter out of its allowed range."""


def validated(schemas: Mapping[str, dict[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    """The values of `schemas`' params (defaults fill gaps); ParamError names every bad one."""
    values = {name: params.get(name, schema["default"]) for name, schema in schemas.items()}
    problems = [f"{name}: {problem}" for name, value in values.items() if (problem := _problem(name, value))]
    if problems:
        raise ParamError("invalid params: " + "; ".join(problems))
    return values


def parse_since(value: str | None) -> datetime | None:
    """`since` as a UTC datetime; a value without an offset is UTC."""
    if value is None or value == "":
        return None
    from dateutil.parser import isoparse

    return to_bson_datetime(isoparse(value))


def _parses_as_iso(value: str) -> bool:
    try:
        parse_since(value)
    except (ValueError, OverflowError):
        return False
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problem(name: str, value: Any) -> str | None:
    match name:
        case "dry_run" | "prune" | "repair":
            ok = isinstance(value, bool)
            expected = "true or false"
        case "since":
            ok = value is None or value == "" or (isinstance(value, str) and _parses_as_iso(value))
            expected = "an ISO 8601 date-time such as 2026-11-01T00:00:00Z"
        case "lookback_minutes":
            ok = _is_int(value) and 0 <= value <= 7 * 24 * 60
            expected = "an integer number of minutes from 0 to 10,080"
        case "partitions":
            ok = _is_int(value) and 1 <= value <= MAX_PARTITIONS
            expected = f"an integer from 1 to {MAX_PARTITIONS}"
        case "max_reads_per_second":
            ok = value is None or (_is_int(value) and value >= 1)
            expected = "empty or an integer ≥ 1"
        case "timeout_seconds":
            ok = _is_int(value) and 1 <= value <= MAX_TIMEOUT_SECONDS
            expected = f"an integer from 1 to {MAX_TIMEOUT_SECONDS:,}"
        case "mode":
            ok = value in MODES
            expected = f"one of {', '.join(MODES)}"
        case "collections":
            ok = (
                isinstance(value, list | tuple)
                and len(value) > 0
                and all(isinstance(item, str) and item in COLLECTION_NAMES for item in value)
                and len(set(value)) == len(value)
            )
            expected = f"a non-empty list of distinct names from {', '.join(COLLECTION_NAMES)}"
        case "batch_size":
            ok = _is_int(value) and 1 <= value <= MAX_BATCH_SIZE
            expected = f"an integer from 1 to {MAX_BATCH_SIZE:,}"
        case "mongo_db":
            ok = value is None or isinstance(value, str)
            expected = "a database name or empty"
        case "firestore_conn_id" | "mongo_conn_id":
            ok = isinstance(value, str) and bool(value)
            expected = "a connection id"
        case "max_failures" | "max_reported":
            ok = _is_int(value) and value >= 0
            expected = "an integer ≥ 0"
        case "depth":
            ok = value in DEPTHS
            expected = f"one of {', '.join(DEPTHS)}"
        case "sample_size":
            ok = value is None or (_is_int(value) and 1 <= value <= MAX_SAMPLE_SIZE)
            expected = f"empty or an integer from 1 to {MAX_SAMPLE_SIZE:,}"
        case "run_minutes":
            ok = _is_int(value) and 1 <= value <= MAX_CAPTURE_RUN_MINUTES
            expected = f"an integer number of minutes from 1 to {MAX_CAPTURE_RUN_MINUTES}"
        case "retention_days":
            ok = _is_int(value) and 1 <= value <= MAX_RETENTION_DAYS
            expected = f"an integer number of days from 1 to {MAX_RETENTION_DAYS}"
        case "timeout_minutes":
            ok = _is_int(value) and 1 <= value <= MAX_CUTOVER_MINUTES
            expected = f"an integer number of minutes from 1 to {MAX_CUTOVER_MINUTES}"
        case _:
            return None
    return None if ok else f"{value!r} is not {expected}"


def dag_params(schemas: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """`schemas` as Airflow `Param`s, so the trigger form explains and checks them."""
    from airflow.sdk import Param

    return {
        name: Param(schema["default"], **{k: v for k, v in schema.items() if k != "default"})
        for name, schema in schemas.items()
    }
