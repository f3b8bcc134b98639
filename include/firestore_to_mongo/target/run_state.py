"""Durable run state in the target MongoDB database: watermarks and checkpoints.

Watermarks live next to the data they describe, so dropping the target
database also forgets them, and the next run starts over in full instead of
trusting a watermark for data that is gone.

- `_firestore_to_mongo_watermarks`: one document per collection,
  `{_id: "messages", watermark: <UTC datetime>, source: "project/database", ...}`.
  The next incremental run reads changes from `watermark - lookback`.
- `_firestore_to_mongo_checkpoints`: one document per (DAG run, collection,
  partition) while a task is under way: where its read stopped and its figures
  so far. A retry of the same run resumes there; a new run has a new key and
  starts clean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database

WATERMARKS = "_firestore_to_mongo_watermarks"
CHECKPOINTS = "_firestore_to_mongo_checkpoints"


@dataclass(frozen=True)
class Watermark:
    value: datetime
    source: str


class WatermarkStore:
    def __init__(self, database: Database) -> None:
        self.collection = database[WATERMARKS]

    def get(self, name: str) -> Watermark | None:
        found = self.collection.find_one({"_id": name})
        if not found:
            return None
        return Watermark(value=_as_utc(found["watermark"]), source=found.get("source", ""))

    def advance(self, name: str, value: datetime, source: str, run_id: str, mode: str) -> datetime:
        """Store `value` unless a later watermark is already stored (a watermark never goes
        back), and return the watermark now stored."""
        stored = self.collection.find_one_and_update(
            {"_id": name},
            {
                "$max": {"watermark": value},
                "$set": {"source": source, "run_id": run_id, "mode": mode, "updated_at": _now()},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _as_utc(stored["watermark"])


class CheckpointStore:
    def __init__(self, database: Database, run_key: str, name: str, partition: int) -> None:
        self.collection = database[CHECKPOINTS]
        self.key = f"{run_key}/{name}/{partition}"

    @staticmethod
    def clear_collection(database: Database, run_key: str, name: str) -> None:
        """Drop every partition's checkpoint of `name` in this run."""
        database[CHECKPOINTS].delete_many({"_id": {"$regex": f"^{re.escape(f'{run_key}/{name}/')}"}})

    @staticmethod
    def clear_other_runs(database: Database, run_key: str, name: str) -> int:
        """Drop the checkpoints of `name` that other runs of the same DAG left behind (they
        failed and were abandoned), so that clearing such a run later starts it clean;
        return how many went."""
        dag_id = run_key.split("/", 1)[0]
        pattern = f"^{re.escape(dag_id)}/.+/{re.escape(name)}/[0-9]+$"
        own = f"{run_key}/{name}/"
        stale = [
            found["_id"]
            for found in database[CHECKPOINTS].find({"_id": {"$regex": pattern}}, {"_id": 1})
            if not found["_id"].startswith(own)
        ]
        if stale:
            database[CHECKPOINTS].delete_many({"_id": {"$in": stale}})
        return len(stale)

    def load(self) -> dict[str, Any] | None:
        found = self.collection.find_one({"_id": self.key})
        if found:
            found.pop("_id")
            found.pop("saved_at", None)
        return found

    def save(self, state: dict[str, Any]) -> None:
        self.collection.replace_one({"_id": self.key}, {**state, "saved_at": _now()}, upsert=True)

    def clear(self) -> None:
        self.collection.delete_one({"_id": self.key})


def _now() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # Drivers hand back naive UTC datetimes unless the client is tz_aware.
    return value if value.tzinfo else value.replace(tzinfo=UTC)
