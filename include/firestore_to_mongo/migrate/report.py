"""Per-collection run figures, and the summary table built from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from include.firestore_to_mongo.contract.dropped import DroppedKeys
from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.reasons import Reasons, reason_kind
from include.firestore_to_mongo.util.retry import faults_note
from include.firestore_to_mongo.util.table import LINE_WIDTH, SummaryLines, render_summary_log, render_table

FAILED_EXAMPLES = 5
# The reason every key conflict's loser is counted under (its example names the key and
# the winner).
KEY_CONFLICT = "key conflict"
# The reasons a report keeps: each a `util.reasons.Reasons`, as_dict() in to_dict().
REASONS = ("failure_reasons", "warning_reasons", "conflict_reasons")
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
    # The partitions' own time (a resumed partition's attempts added up), added up: what
    # the per-partition rate divides by.
    seconds: float = 0.0
    # CPU seconds of the partitions' own processes (time.process_time), added up: with
    # `seconds`, whether a partition waited on the backends or on itself.
    cpu_seconds: float = 0.0
    # Wall-clock instants (ISO 8601, UTC): the first partition's start (a resumed one's
    # first attempt) and the last one's end; `wall_seconds` is the time between them,
    # what `docs_per_second` divides by.
    started_at: str | None = None
    ended_at: str | None = None
    wall_seconds: float | None = None
    status: str = "running"
    failed_examples: list[str] = field(default_factory=list)
    # Why documents failed, warned (a timestamp kept unparsed) and conflicted: reason →
    # documents and one example path, bounded (`util.reasons`). In to_dict(), as_dict().
    failure_reasons: Reasons = field(default_factory=Reasons)
    warning_reasons: Reasons = field(default_factory=Reasons)
    conflict_reasons: Reasons = field(default_factory=Reasons)
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
        for name in REASONS:
            if not isinstance(getattr(self, name), Reasons):
                setattr(self, name, Reasons.from_dict(getattr(self, name)))

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

    @property
    def written(self) -> int:
        """Inserted and updated (a dry run's: would be)."""
        return self.inserted + self.updated

    def record_failure(self, path: str, reason: str, kind: str | None = None) -> None:
        """A document that failed: counted, its reason grouped by `kind` (by default its
        `reason_kind`), and among the first FAILED_EXAMPLES with its whole reason."""
        self.failed += 1
        self.failure_reasons.add(kind or reason_kind(reason), path)
        if len(self.failed_examples) < FAILED_EXAMPLES:
            self.failed_examples.append(f"{path}: {shorten(reason)}")

    def record_conflict(self, path: str, key: str, winner: str, reason: str) -> None:
        """A key conflict's loser at `path` (`key` as text, `winner` the path migrated
        instead): a conflict, and a failed document."""
        self.conflicts += 1
        self.conflict_reasons.add(KEY_CONFLICT, f"{path} (key {key}, also {winner}'s, which wins)")
        self.record_failure(path, reason, KEY_CONFLICT)

    def record_warning(self, path: str, warning: str) -> None:
        """A warning on the document at `path` ("field: what; kept unchanged"), grouped by
        its `reason_kind`: the field and the kind of problem, whatever the value."""
        self.warnings += 1
        self.warning_reasons.add(reason_kind(warning), path)

    def add_counts(self, other: CollectionReport) -> None:
        """Add `other`'s counts (a page's, a partition's), reasons and failed examples to these."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed_examples = (self.failed_examples + other.failed_examples)[:FAILED_EXAMPLES]
        self.dropped_keys.merge(other.dropped_keys)
        for name in REASONS:
            getattr(self, name).merge(getattr(other, name))

    def to_dict(self) -> dict[str, Any]:
        return (
            asdict(self)
            | {
                "docs_per_second": self.docs_per_second,
                "docs_per_second_per_partition": self.docs_per_second_per_partition,
                "written": self.written,
                "dropped_keys": self.dropped_keys.as_dict(),
            }
            | {name: getattr(self, name).as_dict() for name in REASONS}
        )

    @classmethod
    def from_dict(cls, figures: dict[str, Any]) -> CollectionReport:
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in figures.items() if key in names})


# The summary table's columns: (heading, report key); a tuple of keys shows "a/b". What an
# operator scans; the rest is in each collection's block below the table.
COLUMNS = (
    ("collection", "collection"),
    ("status", "status"),
    ("mode", "mode"),
    ("read", "read"),
    ("written", "written"),
    ("unchanged", "unchanged"),
    ("failed", "failed"),
    ("warnings", "warnings"),
    ("gone/deleted", ("stale", "deleted")),
    ("wall s", "wall_seconds"),
    ("docs/s", "docs_per_second"),
)
# Left-aligned columns; the others are numbers.
TEXT_COLUMNS = {"collection", "status", "mode"}
LEGEND = (
    "written: inserted + updated; gone/deleted: MongoDB documents whose source is gone (- not looked for)",
    "wall s: from the first partition's start to the last one's end; docs/s: read ÷ wall s",
)
# Dropped key names a block lists (the XCom has up to contract.dropped.SHOWN).
DROPPED_SHOWN = 10


def missing_report(collection: str, status: str) -> dict[str, Any]:
    """The summary's row for a collection whose task left no report."""
    keys = [part for _, key in COLUMNS for part in (key if isinstance(key, tuple) else (key,))]
    return dict.fromkeys(keys) | {"collection": collection, "status": status}


def _notes(row: dict[str, Any]) -> list[str]:
    """What neither the table nor the figures' lines show: deleted sources, faults ridden
    out, the incremental gap."""
    notes = []
    if row.get("stale"):
        action = (
            "would be deleted with prune"
            if row.get("dry_run")
            else f"{row['deleted']:,} deleted"
            if row.get("deleted")
            else "kept (pruning needs prune=true in a mode=full run)"
        )
        notes.append(
            f"{row['stale']:,} MongoDB documents have no Firestore source any more, "
            f"{action}; for example {row['stale_samples']}"
        )
    elif row.get("stale_note"):
        notes.append(f"deleted sources not checked: {row['stale_note']}")
    if row.get("retried_faults"):
        notes.append(faults_note(row["collection"], row["retried_faults"]).partition(": ")[2])
    if row.get("without_cursor"):
        notes.append(
            f"{row['without_cursor']:,} documents have a change cursor that is missing, null "
            "or not a Timestamp, epoch number or ISO date string; incremental runs can't see them, "
            "a full run does"
        )
    return notes


def render_notes(rows: list[dict[str, Any]]) -> list[str]:
    """The notes of every collection, each a line of its own, "<name>: ..." (the summary
    wraps them into each collection's block)."""
    return [f"{row['collection']}: {note}" for row in rows for note in _notes(row)]


def render_summary_table(rows: list[dict[str, Any]]) -> str:
    """The migration summary's table: one row per collection, no line over LINE_WIDTH."""
    return render_table(rows, COLUMNS, TEXT_COLUMNS, LINE_WIDTH)


def render_block(row: dict[str, Any], lines: SummaryLines) -> None:
    """One collection's block under the table, for a row with figures (render_summary_log
    writes the others' line): the figures the table leaves out, the watermarks, the time,
    notes, the keys the contract drops, and the top reasons of every non-zero `failed`,
    `warnings` and `conflicts`."""
    name = row["collection"]
    report = CollectionReport.from_dict(row)
    dry = " (dry run: would be)" if report.dry_run else ""
    lines.text(
        f"{name}: inserted {report.inserted:,}, updated {report.updated:,}{dry}; skipped "
        f"{report.skipped:,} (unchanged since the watermark); conflicts {report.conflicts:,}; "
        f"retried faults {report.retried_faults:,}",
        subsequent="  ",
    )
    lines.text(f"watermark: {report.watermark_before or '-'} → {report.watermark_after or '-'}", "  ")
    partitions = f"{report.partitions:,} partition{'' if report.partitions == 1 else 's'}"
    lines.text(
        f"time: {partitions}, {report.seconds:,.1f} s of partition time, "
        f"{report.docs_per_second_per_partition:,.1f} docs/s per partition "
        f"({report.cpu_seconds:,.1f} s CPU)" + (", resumed" if report.resumed else ""),
        "  ",
        "    ",
    )
    for note in _notes(row):
        lines.text(note, "  ", "    ")
    _dropped_lines(report.dropped_keys, lines)
    lines.reasons("failed", report.failed, report.failure_reasons)
    lines.reasons("warnings", report.warnings, report.warning_reasons)
    lines.reasons("conflicts", report.conflicts, report.conflict_reasons)


def _dropped_lines(dropped: DroppedKeys, lines: SummaryLines) -> None:
    if not dropped:
        return
    counted = dropped.counted()
    names = len(counted) + dropped.more
    at_least = "at least " if dropped.more_at_least else ""
    lines.text(f"dropped by the contract: {at_least}{names:,} name{'' if names == 1 else 's'}", "  ")
    for key in counted[:DROPPED_SHOWN]:
        lines.item("    ", f"`{lines.fit(key.name, 40)}` {key.documents_text()}, e.g. ", key.example)
    hidden = len(counted[DROPPED_SHOWN:])
    if hidden or dropped.more:
        more = hidden + dropped.more
        lines.text(
            f"and {more:,} more name{'' if more == 1 else 's'} (the XCom's dropped_keys lists up to "
            f"{len(counted):,} with their counts)",
            "    ",
        )


def render_summary(title: str, rows: list[dict[str, Any]]) -> str:
    """The summary task's log: the title, the table, its legend and a block per collection,
    no line over LINE_WIDTH characters."""
    return render_summary_log(title, render_summary_table(rows), LEGEND, rows, render_block)
