"""Per-collection verify figures, their status, and the verify summary's table."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.reasons import Reasons, reason_kind
from include.firestore_to_mongo.util.retry import faults_note
from include.firestore_to_mongo.util.table import LINE_WIDTH, SummaryLines, render_summary_log, render_table

log = logging.getLogger(__name__)

VERIFIED, DIFFERENCES, SAMPLED, COUNTS_ONLY, CHANGING, FAILED = (
    "verified",
    "differences",
    "sampled",
    "counts only",
    "changing",
    "failed",
)
# The reason every key conflict's loser is counted under (its example names the key and
# both paths).
KEY_CONFLICT = "key conflict"
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
# Why documents differ, kept changing, conflicted, can't be mapped, or could not be
# repaired: each a `util.reasons.Reasons` (reason → documents, one example path), merged
# over the partitions; as_dict() in to_dict().
REASONS = (
    "difference_reasons",
    "changing_reasons",
    "conflict_reasons",
    "unmappable_reasons",
    "failed_repair_reasons",
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
    # The partitions' own time, added up: what the per-partition rate divides by.
    seconds: float = 0.0
    # Wall-clock instants (ISO 8601, UTC) of the first partition's start and the last
    # one's end, and the seconds between them: what `docs_per_second` divides by.
    started_at: str | None = None
    ended_at: str | None = None
    wall_seconds: float | None = None
    # `<name>_done`'s own time (conflicts across partitions, extra documents, counts).
    finish_seconds: float = 0.0
    partitions: int = 0
    status: str = "running"
    # Writes of a repair that MongoDB refused (each is logged).
    failed_repairs: int = 0
    difference_reasons: Reasons = field(default_factory=Reasons)
    changing_reasons: Reasons = field(default_factory=Reasons)
    conflict_reasons: Reasons = field(default_factory=Reasons)
    unmappable_reasons: Reasons = field(default_factory=Reasons)
    failed_repair_reasons: Reasons = field(default_factory=Reasons)

    def __post_init__(self) -> None:
        for name in REASONS:
            if not isinstance(getattr(self, name), Reasons):
                setattr(self, name, Reasons.from_dict(getattr(self, name)))

    @property
    def remaining(self) -> int:
        """Differences left after the repair: what fails the run."""
        if self.depth == "counts":
            return int(self.source_count != self.target_count)
        return self.missing + self.extra + self.different - self.repaired - self.pruned

    @property
    def docs_per_second(self) -> float:
        """Documents read per second of wall-clock time (figures without their instants,
        from an older run: per second of the partitions' time)."""
        seconds = self.seconds if self.wall_seconds is None else self.wall_seconds
        return round(self.read / seconds, 1) if seconds > 0 else 0.0

    @property
    def docs_per_second_per_partition(self) -> float:
        """Documents read per second of the partitions' own time: one partition's rate."""
        return round(self.read / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, path: str, reason: str) -> None:
        """A repair write that failed (the migration's writer reports failures this way)."""
        log.error("%s: can't repair %s: %s", self.collection, path, shorten(reason))
        self.failed_repairs += 1
        self.failed_repair_reasons.add(reason_kind(reason), path)

    def merge_reasons(self, other: VerifyReport) -> None:
        """Add `other`'s reasons (a partition's) to these."""
        for name in REASONS:
            getattr(self, name).merge(getattr(other, name))

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
        return (
            asdict(self)
            | {
                "docs_per_second": self.docs_per_second,
                "docs_per_second_per_partition": self.docs_per_second_per_partition,
                "remaining": self.remaining,
            }
            | {name: getattr(self, name).as_dict() for name in REASONS}
        )

    @classmethod
    def from_dict(cls, figures: dict[str, Any]) -> VerifyReport:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in figures.items() if key in names})


# The summary table's columns: what an operator scans; the rest is in each collection's
# block below the table.
COLUMNS = (
    ("collection", "collection"),
    ("status", "status"),
    ("depth", "depth"),
    ("source", "source_count"),
    ("target", "target_count"),
    ("missing", "missing"),
    ("extra", "extra"),
    ("different", "different"),
    ("changing", "changed_during_verify"),
    ("repaired", "repaired"),
    ("wall s", "wall_seconds"),
    ("docs/s", "docs_per_second"),
)
TEXT_COLUMNS = {"collection", "status", "depth"}
LEGEND = (
    "changing: kept changing during the verify (not a difference); repaired: missing or different, written",
    "wall s: from the first partition's start to the last one's end; docs/s: read ÷ wall s",
)


def failed_row(collection: str, status: str = FAILED) -> dict[str, Any]:
    """The table's row for a collection whose task left no figures."""
    return {key: None for _, key in COLUMNS} | {"collection": collection, "status": status}


def render_verify_table(rows: list[dict[str, Any]]) -> str:
    """The verify's table: one row per collection, no line over LINE_WIDTH. A status
    `verified since <time>` shows as `verified since` (the title names the time)."""
    shown = [_short_status(row) for row in rows]
    return render_table(shown, COLUMNS, TEXT_COLUMNS, LINE_WIDTH)


def _short_status(row: dict[str, Any]) -> dict[str, Any]:
    status = row.get("status")
    if isinstance(status, str) and status.startswith(f"{VERIFIED} since "):
        return row | {"status": f"{VERIFIED} since"}
    return row


def _notes(row: dict[str, Any]) -> list[str]:
    """What the table leaves out: count deltas, moving documents, faults ridden out."""
    notes = []
    if row.get("depth") == "counts" and row.get("source_count") is not None:
        delta = row["source_count"] - (row.get("target_count") or 0)
        if delta:
            notes.append(
                f"Firestore has {abs(delta):,} {'more' if delta > 0 else 'fewer'} documents "
                "than MongoDB; depth keys or full names them"
            )
    if row.get("changed_since") and row.get("source_count") is not None:
        delta = row["source_count"] - (row.get("target_count") or 0)
        if delta:
            notes.append(
                f"Firestore has {abs(delta):,} {'more' if delta > 0 else 'fewer'} documents "
                f"than MongoDB; only those changed since {row['changed_since']} were compared "
                "(unmappable documents and key conflicts count too; a full verify names the rest)"
            )
    if row.get("unmappable"):
        notes.append(
            f"{row['unmappable']:,} source documents can't be mapped by the contract "
            "(the migration fails them too), so they were not compared"
        )
    if row.get("conflicts"):
        notes.append(
            f"{row['conflicts']:,} source documents have another document's key (key "
            "conflicts: only the winner is migrated and compared)"
        )
    if row.get("changed_during_verify"):
        notes.append(
            f"{row['changed_during_verify']:,} documents kept changing during the verify; "
            "stop writes and verify again to check them"
        )
    if row.get("failed_repairs"):
        notes.append(f"{row['failed_repairs']:,} repair writes failed (see the task log)")
    if row.get("out_of_scope"):
        notes.append(f"{row['out_of_scope']:,} documents outside the migrated paths were left out")
    if row.get("retried_faults"):
        notes.append(faults_note(row["collection"], row["retried_faults"]).partition(": ")[2])
    return notes


def render_verify_notes(rows: list[dict[str, Any]]) -> list[str]:
    """The notes of every collection, each a line of its own, "<name>: ..." (the summary
    wraps them into each collection's block)."""
    return [f"{row['collection']}: {note}" for row in rows for note in _notes(row)]


def render_verify_block(row: dict[str, Any], lines: SummaryLines) -> None:
    """One collection's block under the table, for a row with figures (render_summary_log
    writes the others' line): the figures the table leaves out, the time, notes, and the top
    reasons of the differences, moving documents, key conflicts,
    unmappable documents and failed repairs."""
    name = row["collection"]
    report = VerifyReport.from_dict(row)
    since = f"; changed since {report.changed_since}" if report.changed_since else ""
    compared = (
        "counted only"
        if report.depth == "counts"
        else f"compared {report.compared:,}, equal {report.equal:,}, pruned {report.pruned:,}"
    )
    lines.text(
        f"{name}: {compared}, remaining {report.remaining:,}; retried faults {report.retried_faults:,}{since}",
        subsequent="  ",
    )
    partitions = f"{report.partitions:,} partition{'' if report.partitions == 1 else 's'}"
    lines.text(
        f"time: {partitions}, {report.seconds:,.1f} s of partition time, "
        f"{report.docs_per_second_per_partition:,.1f} docs/s per partition; "
        f"{report.finish_seconds:,.1f} s to finish",
        "  ",
        "    ",
    )
    for note in _notes(row):
        lines.text(note, "  ", "    ")
    differences = report.missing + report.extra + report.different
    lines.reasons("differences", differences, report.difference_reasons)
    lines.reasons("changing", report.changed_during_verify, report.changing_reasons)
    lines.reasons("conflicts", report.conflicts, report.conflict_reasons)
    lines.reasons("unmappable", report.unmappable, report.unmappable_reasons)
    lines.reasons("failed repairs", report.failed_repairs, report.failed_repair_reasons)


def render_verify_summary(title: str, rows: list[dict[str, Any]]) -> str:
    """The verify summary's log: the title, the table, its legend and a block per
    collection, no line over LINE_WIDTH characters."""
    return render_summary_log(title, render_verify_table(rows), LEGEND, rows, render_verify_block)
