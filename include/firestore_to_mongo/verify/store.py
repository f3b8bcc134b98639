"""What a verify found, document by document, kept in the target database.

`_firestore_to_mongo_verify` holds one record per difference,
`{run_id, collection, kind, key, path, fields, ...}`: up to 10,000 per collection
and run, for the last 20 runs. Figures are counted apart from the records, so a run
with more differences than that still reports them all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from include.firestore_to_mongo.util.quoting import quote

VERIFY_RECORDS = "_firestore_to_mongo_verify"
# The verify's key journal (`target.key_journal.KeyJournal`), apart from the migration's.
KEY_JOURNAL = "_firestore_to_mongo_verify_keys"
MAX_RECORDS = 10_000
KEEP_RUNS = 20
# How much of a value a record or a log line shows.
VALUE_CHARS = 120

# Differences: what a repair fixes, and what fails the run while it remains.
MISSING, EXTRA, DIFFERENT = "missing", "extra", "different"
# Not differences: a document still moving (re-checked, and it kept changing), and
# source documents the contract can't migrate (the migration fails them too).
CHANGED, UNMAPPABLE, CONFLICT = "changed_during_verify", "unmappable", "conflict"
ABSENT = "(absent)"
REPORT_ORDER = (MISSING, EXTRA, DIFFERENT, CHANGED, CONFLICT, UNMAPPABLE)
RECORD_FIELDS = ("kind", "key", "path", "fields", "reason", "repaired")


def show(value: Any) -> str:
    """A value as the report shows it: its repr (so 2 and 2.0, or a string and a
    datetime, look different), shortened."""
    return ABSENT if value is _ABSENT else quote(value, VALUE_CHARS)


_ABSENT = object()


@dataclass
class Difference:
    kind: str
    # The upsert key, or None when the source document has none.
    key: dict[str, Any] | None
    # The Firestore path, or None for an extra document.
    path: str | None
    # For `different`: [{"field", "firestore", "mongodb"}], values shortened.
    fields: list[dict[str, str]] = field(default_factory=list)
    reason: str | None = None
    repaired: bool = False

    @classmethod
    def of_change(cls, kind: str, change, stored: dict[str, Any] | None) -> Difference:
        """A `missing` or `different` from the comparer's Change."""
        document = change.document
        fields = []
        if kind == DIFFERENT:
            stored = stored or {}
            fields = [
                {
                    "field": name,
                    "firestore": show(document.fields.get(name, _ABSENT)),
                    "mongodb": show(stored.get(name, _ABSENT)),
                }
                for name in [*change.changed, *change.removed]
            ]
        return cls(kind, document.key, document.path, fields)

    def describe(self) -> str:
        """One log line."""
        where = f" {self.path}" if self.path else ""
        key = "" if self.key is None else f" {self.key}"
        text = f"{self.kind}{key}{where}"
        if self.fields:
            text += ": " + "; ".join(
                f"{item['field']}: Firestore {item['firestore']}, MongoDB {item['mongodb']}"
                for item in self.fields
            )
        if self.reason:
            text += f": {self.reason}"
        if self.repaired:
            text += " (repaired)"
        return text


class DifferenceStore:
    """One collection's records for one verify run (and one partition, when writing)."""

    def __init__(self, database: Database, run_id: str, collection: str, partition: int | None = None):
        self.records = database[VERIFY_RECORDS]
        self.run_id = run_id
        self.collection = collection
        self.partition = partition

    @property
    def _own(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "collection": self.collection}

    def prepare(self) -> None:
        self.records.create_index([("run_id", ASCENDING), ("collection", ASCENDING), ("path", ASCENDING)])

    def clear_run(self) -> None:
        """Forget what an earlier attempt of this run stored for the collection."""
        self.records.delete_many(self._own)

    def clear_partition(self) -> None:
        """Forget what an earlier attempt of this partition stored: a retry starts over."""
        self.records.delete_many(self._own | {"partition": self.partition})

    def add(self, differences: list[Difference]) -> None:
        if not differences:
            return
        room = MAX_RECORDS - self.records.count_documents(self._own)
        at = datetime.now(UTC)
        records = [
            self._own | {"partition": self.partition, "at": at} | asdict(difference)
            for difference in differences[: max(room, 0)]
        ]
        if records:
            self.records.insert_many(records)

    def remove(self, path: str) -> dict[str, Any] | None:
        """Delete the record of the document at `path`; return it, if there was one."""
        return self.records.find_one_and_delete(
            self._own | {"path": path}, projection=dict.fromkeys(RECORD_FIELDS, 1) | {"_id": 0}
        )

    def first(self, count: int) -> list[Difference]:
        """The first `count` records: differences first, each kind by path."""
        found: list[Difference] = []
        for kind in REPORT_ORDER:
            if len(found) >= count:
                break
            records = self.records.find(self._own | {"kind": kind}).sort([("path", 1), ("_id", 1)])
            found += [
                Difference(**{name: record.get(name) for name in RECORD_FIELDS})
                for record in records.limit(count - len(found))
            ]
        return found

    @staticmethod
    def keep_last_runs(database: Database, keep: int = KEEP_RUNS) -> int:
        """Delete the records of all but the `keep` latest runs; return how many runs went."""
        records = database[VERIFY_RECORDS]
        runs = records.aggregate(
            [{"$group": {"_id": "$run_id", "at": {"$max": "$at"}}}, {"$sort": {"at": DESCENDING}}]
        )
        old = [run["_id"] for index, run in enumerate(runs) if index >= keep]
        if old:
            records.delete_many({"run_id": {"$in": old}})
        return len(old)
