"""Change capture's durable state, in the target database next to the data it describes.

- `_firestore_to_mongo_capture`, one document `{_id: "capture"}`: the checkpoint (the read
  time of the last consistent point whose changes are all written; it never goes back),
  the start of the capture, since when the change journal is complete (`journal_since`),
  and the latest figures (`state`, `run_id`, `heartbeat_at`, `collections`, `lag`,
  `documents`, `resets`), which the sync page shows.
- `_firestore_to_mongo_capture_figures`: the figures every 30 s (`at`, `run_id`,
  `checkpoint`, `collections: {name: {seen, inserted, updated, unchanged, deleted, failed,
  lag_p50, lag_p95, lag_max, last_change_at}}`, `documents`, `resets`), the newest
  `KEEP_FIGURES`: the page's lag over time.
- `_firestore_to_mongo_capture_paths`: per source path, the version capture last applied:
  `{_id: path, collection, key, update_time, deleted, at}` (`key` is the encoded upsert
  key). In reset mode a resent document whose `update_time` equals it is not written
  again, and a path it lists that a consistent resent set lacks was deleted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReplaceOne, ReturnDocument
from pymongo.database import Database

CAPTURE = "_firestore_to_mongo_capture"
CAPTURE_FIGURES = "_firestore_to_mongo_capture_figures"
CAPTURE_PATHS = "_firestore_to_mongo_capture_paths"
STATUS_ID = "capture"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEEP_FIGURES = 2_880  # a day at one record every 30 s
# A capture whose status is older than this is not running (it writes one every 30 s).
LIVE_SECONDS = 120


@dataclass(frozen=True)
class PathVersion:
    """What capture last applied at one source path."""

    path: str
    collection: str
    key: str | None
    update_time: datetime | None
    deleted: bool


class CaptureState:
    def __init__(self, database: Database) -> None:
        self.status = database[CAPTURE]
        self.figures = database[CAPTURE_FIGURES]
        self.paths = database[CAPTURE_PATHS]

    def prepare(self) -> None:
        self.paths.create_index([("collection", ASCENDING), ("key", ASCENDING)], name="collection_key")
        self.figures.create_index([("at", DESCENDING)], name="at")

    # The checkpoint.
    def checkpoint(self) -> datetime | None:
        found = self.status.find_one({"_id": STATUS_ID}, {"checkpoint": 1, "checkpoint_us": 1})
        return _checkpoint_of(found) if found else None

    def save_checkpoint(self, read_time: datetime, holder: str) -> datetime:
        """Store `read_time` unless a later one is stored (a checkpoint never goes back);
        return the one stored. `holder` names the session (DAG run and try) that saved it.

        Kept to the microsecond (`checkpoint_us`, MongoDB's dates hold milliseconds): a
        checkpoint compared with a commit time must not look earlier than it is."""
        stored = self.status.find_one_and_update(
            {"_id": STATUS_ID},
            {
                "$max": {"checkpoint": read_time, "checkpoint_us": to_micros(read_time)},
                "$set": {"checkpoint_saved_at": now(), "checkpoint_by": holder},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _checkpoint_of(stored)

    def journal_since(self) -> datetime | None:
        found = self.status.find_one({"_id": STATUS_ID}, {"journal_since": 1})
        return as_utc(found.get("journal_since")) if found else None

    def set_journal_since(self, value: datetime) -> None:
        """The journal is complete from `value` on: set when capture first starts, and moved
        forward as retention deletes old entries."""
        self.status.update_one({"_id": STATUS_ID}, {"$max": {"journal_since": value}}, upsert=True)

    # Sync points: the cut-over asks for a consistent point at or after a time.
    def request_sync(self, at: datetime) -> None:
        self.status.update_one({"_id": STATUS_ID}, {"$max": {"sync_requested_at": at}}, upsert=True)

    def sync_requested(self) -> datetime | None:
        found = self.status.find_one({"_id": STATUS_ID}, {"sync_requested_at": 1})
        return as_utc(found.get("sync_requested_at")) if found else None

    # The figures.
    def read_status(self) -> dict[str, Any] | None:
        return self.status.find_one({"_id": STATUS_ID})

    def update_status(self, fields: dict[str, Any]) -> None:
        self.status.update_one({"_id": STATUS_ID}, {"$set": fields}, upsert=True)

    def append_figures(self, record: dict[str, Any], keep: int = KEEP_FIGURES) -> None:
        self.figures.insert_one(dict(record))
        old = [found["_id"] for found in self.figures.find({}, {"_id": 1}).sort("at", DESCENDING).skip(keep)]
        if old:
            self.figures.delete_many({"_id": {"$in": old}})

    def figures_history(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` figure records, oldest first."""
        found = list(self.figures.find({}, {"_id": 0}).sort("at", DESCENDING).limit(limit))
        return found[::-1]

    def live_status(self, at: datetime | None = None) -> dict[str, Any] | None:
        """The status of a capture that is running (or waiting for its turn) now, else None."""
        found = self.read_status()
        if not found or found.get("state") not in ("running", "waiting") or not found.get("heartbeat_at"):
            return None
        age = ((at or now()) - as_utc(found["heartbeat_at"])).total_seconds()
        return found if age <= LIVE_SECONDS else None

    # The per-path versions.
    def versions(self) -> Iterator[PathVersion]:
        """Every path's version (capture loads them once, into a local mirror)."""
        # In `_id` order: a scan cut by a fault goes on where it stopped (target.retrying).
        for found in self.paths.find({}, batch_size=5_000, sort=[("_id", 1)]):
            yield PathVersion(
                found["_id"],
                found["collection"],
                found.get("key"),
                as_utc(found.get("update_time")),
                bool(found.get("deleted")),
            )

    def set_versions(self, versions: list[PathVersion]) -> None:
        if not versions:
            return
        at = now()
        self.paths.bulk_write(
            [
                ReplaceOne(
                    {"_id": version.path},
                    {
                        "collection": version.collection,
                        "key": version.key,
                        "update_time": version.update_time,
                        "deleted": version.deleted,
                        "at": at,
                    },
                    upsert=True,
                )
                for version in versions
            ],
            ordered=False,
        )


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch, exactly (no float on the way)."""
    value = as_utc(value)
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def _checkpoint_of(found: dict[str, Any]) -> datetime | None:
    if found.get("checkpoint_us") is not None:
        return from_micros(found["checkpoint_us"])
    return as_utc(found.get("checkpoint"))


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    # Drivers hand back naive UTC datetimes unless the client is tz_aware.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
