"""Per-collection run figures, and the summary table built from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from include.firestore_to_mongo.contract.dropped import DroppedKeys
from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.retry import faults_note
from include.firestore_to_mongo.util.table import render_table

FAILED_EXAMPLES = 5
# The counts that add up over pages and over partitions.
COUNTS = (
    "read",
    "inserted",
    "updated",
    "unchanged",
    "skipped",
    "failed",
    "conflicts",
    "warnings",
    "out_of_scope",
    "pages",
    "retried_faults",
)


@dataclass
class CollectionReport:
    """What one collection task did. Small and JSON-safe: it travels through XCom."""

    collection: str
    target: str
    dry_run: bool
    # "full", "incremental", or "full (no watermark)" for an incremental run's first time.
    mode: str = "full"
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Read but not written: not changed since the watermark (users, digital_twins).
    skipped: int = 0
    failed: int = 0
    # Source documents not migrated because another one has the same upsert key (each
    # is also counted in `failed`).
    conflicts: int = 0
    warnings: int = 0
    out_of_scope: int = 0
    pages: int = 0
    # Transient faults (a closed connection, no primary, ...) ridden out inside the task.
    retried_faults: int = 0
    seconds: float = 0.0
    # CPU seconds of the partitions' own processes (time.process_time), added up: with
    # `seconds`, whether a partition waited on the backends or on itself.
    cpu_seconds: float = 0.0
    status: str = "running"
    failed_examples: list[str] = field(default_factory=list)
    watermark_before: str | None = None
    watermark_after: str | None = None
    # Full runs: MongoDB documents whose Firestore source is gone (None: not checked,
    # `stale_note` says why), how many were deleted, and a few of their keys.
    stale: int | None = None
    deleted: int = 0
    stale_samples: list[dict[str, Any]] = field(default_factory=list)
    stale_note: str | None = None
    # Incremental runs: documents whose change cursor no range query can match (missing, null,
    # a map, free text), which only a full run sees.
    without_cursor: int | None = None
    resumed: bool = False
    partitions: int = 1
    # The source keys the contract drops, per key: documents and an example path. In
    # to_dict() and from XCom, its as_dict().
    dropped_keys: DroppedKeys = field(default_factory=DroppedKeys)

    def __post_init__(self) -> None:
        if not isinstance(self.dropped_keys, DroppedKeys):
            self.dropped_keys = DroppedKeys.from_dict(self.dropped_keys)

    @property
    def docs_per_second(self) -> float:
        return round(self.read / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, path: str, reason: str) -> None:
        self.failed += 1
        if len(self.failed_examples) < FAILED_EXAMPLES:
            self.failed_examples.append(f"{path}: {shorten(reason)}")

    def add_counts(self, other: CollectionReport) -> None:
        """Add `other`'s counts (a page's, a partition's) and failed examples to these."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed_examples = (self.failed_examples + other.failed_examples)[:FAILED_EXAMPLES]
        self.dropped_keys.merge(other.dropped_keys)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {
            "docs_per_second": self.docs_per_second,
            "dropped_keys": self.dropped_keys.as_dict(),
        }

    @classmethod
    def from_dict(cls, figures: dict[str, Any]) -> CollectionReport:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in figures.items() if key in names})


# Rows of the summary table: (heading, report key).
COLUMNS = (
    ("collection", "collection"),
    ("status", "status"),
    ("mode", "mode"),
    ("read", "read"),
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("skipped", "skipped"),
    ("failed", "failed"),
    ("conflicts", "conflicts"),
    ("warnings", "warnings"),
    ("gone", "stale"),
    ("deleted", "deleted"),
    ("seconds", "seconds"),
    ("docs/s", "docs_per_second"),
    ("dry run", "dry_run"),
    ("watermark before", "watermark_before"),
    ("watermark after", "watermark_after"),
)
# Left-aligned columns; the others are numbers.
TEXT_COLUMNS = {"collection", "status", "mode", "watermark before", "watermark after"}


def missing_report(collection: str, status: str) -> dict[str, Any]:
    """The summary's row for a collection whose task left no report."""
    return {key: None for _, key in COLUMNS} | {"collection": collection, "status": status}


def render_notes(rows: list[dict[str, Any]]) -> list[str]:
    """What the table can't show: deleted sources, the incremental gap, the keys the
    contract drops, failures."""
    notes = []
    for row in rows:
        name = row["collection"]
        if row.get("stale"):
            action = (
                "would be deleted with prune"
                if row.get("dry_run")
                else f"{row['deleted']:,} deleted"
                if row.get("deleted")
                else "kept (pruning needs prune=true in a mode=full run)"
            )
            notes.append(
                f"{name}: {row['stale']:,} MongoDB documents have no Firestore source any more, "
                f"{action}; for example {row['stale_samples']}"
            )
        elif row.get("stale_note"):
            notes.append(f"{name}: deleted sources not checked: {row['stale_note']}")
        if row.get("retried_faults"):
            notes.append(faults_note(name, row["retried_faults"]))
        if row.get("without_cursor"):
            notes.append(
                f"{name}: {row['without_cursor']:,} documents have a change cursor that is missing, null "
                "or not a Timestamp, epoch number or ISO date string; incremental runs can't see them, "
                "a full run does"
            )
        notes.extend(DroppedKeys.from_dict(row.get("dropped_keys")).notes(name))
        for example in row.get("failed_examples") or []:
            notes.append(f"{name}: failed: {example}")
    return notes


def render_summary_table(rows: list[dict[str, Any]]) -> str:
    """The migration summary's table: one row per collection."""
    return render_table(rows, COLUMNS, TEXT_COLUMNS)
