"""The change journal: every path capture applied, when, and at which source version.

`_firestore_to_mongo_changes` holds one entry per document capture applied (inserted,
updated, left unchanged, deleted or failed): `{collection, path, update_time, outcome,
written_at}` (`update_time` is the Firestore version written; None for a delete). A verify
with `changed_since` compares only the paths listed since then, and the cut-over uses it.

It stays bounded: entries older than the retention (days) are deleted as capture goes, and
the capture's status records since when the journal is complete (`journal_since`), so a
verify never trusts it for a time it can no longer vouch for.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

CHANGES = "_firestore_to_mongo_changes"
DEFAULT_RETENTION_DAYS = 7
INSERTED, UPDATED, UNCHANGED, DELETED, FAILED = "inserted", "updated", "unchanged", "deleted", "failed"


@dataclass(frozen=True)
class JournalEntry:
    collection: str
    path: str
    update_time: datetime | None
    outcome: str
    written_at: datetime

    def as_document(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "path": self.path,
            "update_time": self.update_time,
            "outcome": self.outcome,
            "written_at": self.written_at,
        }


class ChangeJournal:
    def __init__(self, database: Database, retention_days: float = DEFAULT_RETENTION_DAYS) -> None:
        self.collection = database[CHANGES]
        self.retention = timedelta(days=retention_days)

    def prepare(self) -> None:
        """The indexes: by time (retention, `changed_since`), and by path within a collection."""
        self.collection.create_index([("written_at", ASCENDING)], name="written_at")
        self.collection.create_index(
            [("collection", ASCENDING), ("written_at", ASCENDING), ("path", ASCENDING)],
            name="collection_written_at_path",
        )

    def record(self, entries: list[JournalEntry]) -> None:
        if entries:
            self.collection.insert_many([entry.as_document() for entry in entries], ordered=False)

    def changed_paths(self, collection: str, since: datetime, batch_size: int = 500) -> Iterator[list[str]]:
        """The distinct paths of `collection` journaled at or after `since`, in batches
        (each path once over all batches: those already yielded are remembered on local
        disk, not in memory)."""
        from include.firestore_to_mongo.util.scratch import ScratchSqlite

        seen = ScratchSqlite("seen", "CREATE TABLE seen (path TEXT PRIMARY KEY) WITHOUT ROWID")
        try:
            batch: list[str] = []
            cursor = self.collection.find(
                {"collection": collection, "written_at": {"$gte": since}},
                {"path": 1, "_id": 0},
                batch_size=batch_size,
            ).sort([("written_at", ASCENDING)])
            for entry in cursor:
                if seen.db.execute("INSERT OR IGNORE INTO seen VALUES (?)", (entry["path"],)).rowcount:
                    batch.append(entry["path"])
                if len(batch) == batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            seen.close()

    def prune(self, now: datetime) -> int:
        """Delete the entries older than the retention; return how many went."""
        return self.collection.delete_many({"written_at": {"$lt": now - self.retention}}).deleted_count

    def horizon(self, now: datetime) -> datetime:
        """The oldest time the journal still covers after pruning."""
        return now - self.retention
