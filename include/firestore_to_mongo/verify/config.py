"""The verify DAG's run parameters: the migration's shared ones, and its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.run.params import (
    DEPTHS,
    MAX_SAMPLE_SIZE,
    SHARED_SCHEMAS,
    ParamError,
    dag_params,
    parse_since,
    validated,
)

# What the verify DAG file needs, all from here: the DAG files import nothing below verify/.
__all__ = [
    "COLLECTION_NAMES",
    "VERIFY_PARAM_SCHEMAS",
    "VERIFY_SCHEDULE_ENV",
    "VerifyConfig",
    "trigger_params",
]

# The environment variable that sets the verify DAG's schedule; unset or "none": manual.
VERIFY_SCHEDULE_ENV = "FIRESTORE_TO_MONGO_VERIFY_SCHEDULE"
# Same meaning as in the migration DAG, so the same schema (title, description, limits).
SHARED = (
    "collections",
    "mongo_db",
    "firestore_conn_id",
    "mongo_conn_id",
    "batch_size",
    "partitions",
    "timeout_seconds",
    "max_reads_per_second",
)
INVALID = "invalid params: "
# The migration's pattern for `since` (migrate/config.py, which verify doesn't import): what
# the trigger form accepts before the task parses the value for real.
ISO_DATETIME_PATTERN = (
    r"^$|^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$"
)

VERIFY_PARAM_SCHEMAS: dict[str, dict[str, Any]] = {
    "depth": {
        "default": "full",
        "type": "string",
        "enum": list(DEPTHS),
        "title": "Depth",
        "description": "counts: compare Firestore count aggregations with MongoDB counts (a few "
        "reads). keys: also find documents missing from MongoDB and extra in it (one read per "
        "source document). full: also compare every document's content with its mapping by "
        "the contract (one read per source document).",
    },
    "sample_size": {
        "default": None,
        "type": ["null", "integer"],
        "minimum": 1,
        "maximum": MAX_SAMPLE_SIZE,
        "title": "Sample size",
        "description": "Compare the content of only this many documents per collection, spread "
        "over the collection: a quick check, reported as 'sampled', never as 'verified'. Extra "
        "documents are not looked for. Empty: every document.",
    },
    "changed_since": {
        "default": None,
        "type": ["null", "string"],
        "pattern": ISO_DATETIME_PATTERN,
        "title": "Changed since",
        "description": "ISO 8601 date-time, e.g. 2026-11-01T00:00:00Z (no offset: UTC). Compare "
        "only the documents change capture journaled since then (one read each, plus one count "
        "per collection) instead of every document; reported as 'verified since' that time. "
        "The change journal must reach back that far. Depth keys or full, no sample. Empty: "
        "every document.",
    },
    "repair": {
        "default": False,
        "type": "boolean",
        "title": "Repair",
        "description": "Write the mapped source document for every missing or different "
        "document, with the migration's own writer (keys the source lost are removed too), "
        "then check it again.",
    },
    "prune": {
        "default": False,
        "type": "boolean",
        "title": "Prune extra documents",
        "description": "With repair: also delete MongoDB documents whose key has no source "
        "document in Firestore.",
    },
    "max_reported": {
        "default": 20,
        "type": "integer",
        "minimum": 0,
        "title": "Differences logged",
        "description": "How many differences per collection the summary logs. All of them (up "
        "to 10,000 per collection) are stored in _firestore_to_mongo_verify.",
    },
} | {name: SHARED_SCHEMAS[name] for name in SHARED}


def trigger_params() -> dict[str, Any]:
    """The verify DAG's `Param`s, for its trigger form."""
    return dag_params(VERIFY_PARAM_SCHEMAS)


@dataclass(frozen=True)
class VerifyConfig:
    depth: str
    sample_size: int | None
    # Compare only the documents the change journal lists since then (verify.changed).
    changed_since: datetime | None
    repair: bool
    prune: bool
    max_reported: int
    collections: tuple[str, ...]
    mongo_db: str | None
    firestore_conn_id: str
    mongo_conn_id: str
    batch_size: int
    partitions: int
    timeout_seconds: int
    max_reads_per_second: int | None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> VerifyConfig:
        """Validate `params` (defaults fill gaps) and raise ParamError naming every bad one."""
        values = _validated(params)
        if problems := _combination_problems(values):
            raise ParamError(INVALID + "; ".join(problems))
        return cls(
            **(
                values
                | {
                    "collections": tuple(values["collections"]),
                    "mongo_db": values["mongo_db"] or None,
                    "changed_since": parse_since(values["changed_since"]),
                }
            )
        )

    @property
    def sampled(self) -> bool:
        return self.sample_size is not None


def _validated(params: Mapping[str, Any]) -> dict[str, Any]:
    """`validated`, plus the rule for `changed_since` (run.params knows `since`'s only):
    every bad param named, in schema order."""
    values: dict[str, Any] = {}
    problems = []
    for name, schema in VERIFY_PARAM_SCHEMAS.items():
        try:
            values |= validated({name: schema}, params)
        except ParamError as error:
            problems.append(str(error).removeprefix(INVALID))
            continue
        if name == "changed_since" and not _is_time(values[name]):
            problems.append(
                f"{name}: {values[name]!r} is not an ISO 8601 date-time such as 2026-11-01T00:00:00Z"
            )
    if problems:
        raise ParamError(INVALID + "; ".join(problems))
    return values


def _is_time(value: Any) -> bool:
    """Empty, or an ISO 8601 date-time (read as the migration reads `since`)."""
    if value is None or value == "":
        return True
    if not isinstance(value, str):
        return False
    try:
        parse_since(value)
    except (ValueError, OverflowError):
        return False
    return True


def _combination_problems(values: dict[str, Any]) -> list[str]:
    problems = []
    if values["sample_size"] is not None and values["depth"] != "full":
        problems.append("sample_size: a sample compares content, so it needs depth full")
    if values["repair"] and values["depth"] == "counts":
        problems.append("repair: counts don't say which documents to repair (use depth keys or full)")
    if values["prune"] and not values["repair"]:
        problems.append("prune: deleting extra documents is part of a repair; set repair too")
    if values["prune"] and values["sample_size"] is not None:
        problems.append("prune: a sampled verify doesn't look for extra documents")
    changed = values["changed_since"] not in (None, "")
    if changed and values["depth"] == "counts":
        problems.append("changed_since: counts compare no documents (use depth keys or full)")
    if changed and values["sample_size"] is not None:
        problems.append(
            "changed_since: it compares the changed documents, not a sample (leave sample_size empty)"
        )
    return problems
