"""Per-collection run figures, and the summary table built from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FAILED_EXAMPLES = 5


@dataclass
class CollectionReport:
    """What one collection task did. Small and JSON-safe: it travels through XCom."""

    collection: str
    target: str
    dry_run: bool
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    warnings: int = 0
    out_of_scope: int = 0
    seconds: float = 0.0
    status: str = "running"
    failed_examples: list[str] = field(default_factory=list)

    @property
    def docs_per_second(self) -> float:
        return round(self.read / self.seconds, 1) if self.seconds > 0 else 0.0

    def record_failure(self, path: str, reason: str) -> None:
        self.failed += 1
        if len(self.failed_examples) < FAILED_EXAMPLES:
            self.failed_examples.append(f"{path}: {reason}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"docs_per_second": self.docs_per_second}


# Rows of the summary table: (heading, report key).
COLUMNS = (
    ("collection", "collection"),
    ("status", "status"),
    ("read", "read"),
    ("inserted", "inserted"),
    ("updated", "updated"),
    ("unchanged", "unchanged"),
    ("failed", "failed"),
    ("warnings", "warnings"),
    ("seconds", "seconds"),
    ("docs/s", "docs_per_second"),
    ("dry run", "dry_run"),
)


def missing_report(collection: str, status: str) -> dict[str, Any]:
    """The summary's row for a collection whose task left no report."""
    return {key: None for _, key in COLUMNS} | {"collection": collection, "status": status}


def render_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table, readable in a task log."""
    header = [heading for heading, _ in COLUMNS]
    body = [[_cell(row.get(key)) for _, key in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
