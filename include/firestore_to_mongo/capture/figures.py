"""Capture's figures: per collection, what it saw and did, and how far behind it was.

Lag is the time from a document's Firestore `update_time` to the moment its write (an
insert or an update) finished, kept as the last `LAG_SAMPLES` values per collection for
the percentiles. Logged every 30 s in the task log, stored in the target database for
the sync page (`target.capture_state`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from include.firestore_to_mongo.contract.dropped import DroppedKeys
from include.firestore_to_mongo.util.table import render_table

LAG_SAMPLES = 10_000
COUNTS = ("seen", "inserted", "updated", "unchanged", "deleted", "failed", "ignored")


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]


@dataclass
class CollectionFigures:
    seen: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0
    # Documents of a collection group outside the migrated paths.
    ignored: int = 0
    last_change_at: datetime | None = None
    lags: deque = field(default_factory=lambda: deque(maxlen=LAG_SAMPLES))
    failed_examples: list[dict[str, str]] = field(default_factory=list)
    # The source keys the contract drops, over the changes seen (bounded: see contract.dropped).
    dropped_keys: DroppedKeys = field(default_factory=DroppedKeys)

    def lag(self) -> dict[str, float | None]:
        values = list(self.lags)
        return {
            "lag_p50": _round(percentile(values, 0.50)),
            "lag_p95": _round(percentile(values, 0.95)),
            "lag_max": _round(max(values) if values else None),
        }

    def as_dict(self) -> dict[str, Any]:
        return (
            {name: getattr(self, name) for name in COUNTS}
            | self.lag()
            | {"last_change_at": self.last_change_at, "failed_examples": self.failed_examples}
            | {"dropped_keys": self.dropped_keys.as_dict(mergeable=False)}
        )


class CaptureFigures:
    def __init__(self, collections: list[str]) -> None:
        self.collections = {name: CollectionFigures() for name in collections}
        self.documents = 0
        self.resets = 0
        # Faults the session rode out (set by it before each report).
        self.retried_faults = 0

    def __getitem__(self, name: str) -> CollectionFigures:
        return self.collections[name]

    def failure(self, collection: str, path: str, reason: str) -> None:
        figures = self.collections[collection]
        figures.failed += 1
        if len(figures.failed_examples) < 5:
            figures.failed_examples.append({"path": path, "reason": reason})

    def lag(self) -> dict[str, float | None]:
        values = [lag for figures in self.collections.values() for lag in figures.lags]
        return {
            "p50": _round(percentile(values, 0.50)),
            "p95": _round(percentile(values, 0.95)),
            "max": _round(max(values) if values else None),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "collections": {name: figures.as_dict() for name, figures in self.collections.items()},
            "documents": self.documents,
            "resets": self.resets,
            "lag": self.lag(),
            "retried_faults": self.retried_faults,
        }

    def table(self, checkpoint: datetime | None) -> str:
        """The figures as the task log shows them."""
        rows = [
            {"collection": name} | {count: getattr(figures, count) for count in COUNTS} | figures.lag()
            for name, figures in self.collections.items()
        ]
        columns = (
            ("collection", "collection"),
            *((count, count) for count in COUNTS),
            ("lag p50 s", "lag_p50"),
            ("lag p95 s", "lag_p95"),
            ("lag max s", "lag_max"),
        )
        footer = (
            f"checkpoint {checkpoint.isoformat() if checkpoint else '-'}; Firestore documents received "
            f"{self.documents:,}, in resets {self.resets:,}; faults ridden out {self.retried_faults:,}"
        )
        footer += "".join(
            f"\n- {note}"
            for name, figures in self.collections.items()
            for note in figures.dropped_keys.notes(name)
        )
        return render_table(rows, columns, {"collection"}) + "\n" + footer


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
