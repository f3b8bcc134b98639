"""Per-collection verify figures, their status, and the verify summary's table."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields
from typing import Any

from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.retry import faults_note
from include.firestore_to_mongo.util.table import render_table

log = logging.getLogger(__name__)

VERIFIED, DIFFERENCES, SAMPLED, COUNTS_ONLY, CHANGING, FAILED = (
    "verified",
    "differences",
    "sampled",
    "counts only",
    "changing",
    "failed",
)
# Figures added up over a collection's partitions.
SUMMED = (
    "read",
    "compared",
    "missing",
    "different",
    "changed_during_verify",
    "repaired",
    "unmappable",
    "out_of_scope",
    "pages",
    "seconds",
    "retried_faults",
)


@dataclass
class VerifyReport:
    """What a verify found in one collection. JSON-safe: it travels through XCom."""

    collection: str
    target: str
    depth: str
    sampled: bool = False
    # With `changed_since`: that time (ISO 8601, UTC); only what changed since was compared.
    changed_since: str | None = None
    # Documents on the migrated paths in Firestore, and documents in the MongoDB collection.
    source_count: int | None = None
    target_count: int | None = None
    # Source documents compared with MongoDB (one per key: a key conflict's losers are not).
    compared: int = 0
    equal: int = 0
    missing: int = 0
    extra: int = 0
    different: int = 0
    changed_during_verify: int = 0
    # Missing or different documents written by the repair and seen equal afterwards.
    repaired: int = 0
    # Extra documents deleted by the repair and seen gone afterwards.
    pruned: int = 0
    # Source documents the contract can't map, and key conflicts' losers: the migration
    # fails them, so they are named, not compared.
    unmappable: int = 0
    conflicts: int = 0
    read: int = 0
    out_of_scope: int = 0
    pages: int = 0
    # Transient faults (a closed connection, no primary, ...) ridden out inside the tasks.
    retried_faults: int = 0
    seconds: float = 0.0
    partitions: int = 0
    status: str = "running"
    # Writes of a repair that MongoDB refused (each is logged).
    failed_repairs: int = 0

    @property
    def remaining(self) -> int:
        """Differences left after the repair: what fails the run."""
        if self.depth == "counts":
            return int(self.source_count != self.target_count)
        return self.missing + self.extra + self.different - self.repaired - self.pruned

    @property
    def docs_per_second(self) -> float:
        return round(self.read / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, path: str, reason: str) -> None:
        """A repair write that failed (the migration's writer reports failures this way)."""
        log.error("%s: can't repair %s: %s", self.collection, path, shorten(reason))
        self.failed_repairs += 1

    def settle(self) -> None:
        """Work out `equal` (every compared key that is no kind of difference) and the status."""
        if self.depth != "counts":
            self.equal = self.compared - self.missing - self.different - self.changed_during_verify
        if self.remaining:
            self.status = DIFFERENCES
        elif self.depth == "counts":
            self.status = COUNTS_ONLY
        elif self.changed_during_verify:
            self.status = CHANGING
        elif self.sampled:
            self.status = SAMPLED
        elif self.changed_since:
            self.status = f"{VERIFIED} since {self.changed_since}"
        else:
            self.status = VERIFIED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"docs_per_second": self.docs_per_second, "remaining": self.remaining}

    @classmethod
    def from_dict(cls, figures: dict[str, Any]) -> VerifyReport:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in figures.items() if key in names})


COLUMNS = (
    ("collection", "collection"),
    ("status", "status"),
    ("depth", "depth"),
    ("source", "source_count"),
    ("target", "target_count"),
    ("compared", "compared"),
    ("equal", "equal"),
    ("missing", "missing"),
    ("extra", "extra"),
    ("different", "different"),
    ("changed during verify", "changed_during_verify"),
    ("repaired", "repaired"),
    ("pruned", "pruned"),
    ("seconds", "seconds"),
    ("docs/s", "docs_per_second"),
)
TEXT_COLUMNS = {"collection", "status", "depth"}


def failed_row(collection: str, status: str = FAILED) -> dict[str, Any]:
    """The table's row for a collection whose task left no figures."""
    return {key: None for _, key in COLUMNS} | {"collection": collection, "status": status}


def render_verify_table(rows: list[dict[str, Any]]) -> str:
    return render_table(rows, COLUMNS, TEXT_COLUMNS)


def render_verify_notes(rows: list[dict[str, Any]]) -> list[str]:
    """What the table leaves out: count deltas, documents not compared, moving documents."""
    notes = []
    for row in rows:
        name = row["collection"]
        if row.get("depth") == "counts" and row.get("source_count") is not None:
            delta = row["source_count"] - (row.get("target_count") or 0)
            if delta:
                notes.append(
                    f"{name}: Firestore has {abs(delta):,} {'more' if delta > 0 else 'fewer'} documents "
                    "than MongoDB; depth keys or full names them"
                )
        if row.get("changed_since") and row.get("source_count") is not None:
            delta = row["source_count"] - (row.get("target_count") or 0)
            if delta:
                notes.append(
                    f"{name}: Firestore has {abs(delta):,} {'more' if delta > 0 else 'fewer'} documents "
                    f"than MongoDB; only those changed since {row['changed_since']} were compared "
                    "(unmappable documents and key conflicts count too; a full verify names the rest)"
                )
        if row.get("unmappable"):
            notes.append(
                f"{name}: {row['unmappable']:,} source documents can't be mapped by the contract "
                "(the migration fails them too), so they were not compared"
            )
        if row.get("conflicts"):
            notes.append(
                f"{name}: {row['conflicts']:,} source documents have another document's key (key "
                "conflicts: only the winner is migrated and compared)"
            )
        if row.get("changed_during_verify"):
            notes.append(
                f"{name}: {row['changed_during_verify']:,} documents kept changing during the verify; "
                "stop writes and verify again to check them"
            )
        if row.get("failed_repairs"):
            notes.append(f"{name}: {row['failed_repairs']:,} repair writes failed (see the task log)")
        if row.get("out_of_scope"):
            notes.append(
                f"{name}: {row['out_of_scope']:,} documents outside the migrated paths were left out"
            )
        if row.get("retried_faults"):
            notes.append(faults_note(name, row["retried_faults"]))
    return notes
