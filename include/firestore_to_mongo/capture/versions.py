"""What capture last applied at each source path, mirrored on local disk.

The durable copy is in the target database (`target.capture_state`); the capture task
loads it once into a temporary SQLite file and keeps both in step, so that a Firestore
reset, which resends every document, is compared path by path on local disk: memory
stays bounded at any collection size, and MongoDB is asked only about what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from include.firestore_to_mongo.target.capture_state import PathVersion, as_utc
from include.firestore_to_mongo.util.scratch import ScratchSqlite


class LocalVersions(ScratchSqlite):
    def __init__(self, versions: Iterable[PathVersion] = ()) -> None:
        super().__init__(
            "versions",
            "CREATE TABLE versions (path TEXT PRIMARY KEY, collection TEXT, key TEXT, "
            "update_time TEXT, deleted INTEGER) WITHOUT ROWID",
        )
        self.db.execute("CREATE INDEX versions_key ON versions (collection, key)")
        self.set(versions)

    def set(self, versions: Iterable[PathVersion]) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?)",
            (
                (
                    version.path,
                    version.collection,
                    version.key,
                    version.update_time.isoformat() if version.update_time else None,
                    int(version.deleted),
                )
                for version in versions
            ),
        )

    def get(self, paths: list[str]) -> dict[str, PathVersion]:
        """The versions known for `paths` (one batch, at most 10,000)."""
        if not paths:
            return {}
        rows = self.where_in("SELECT * FROM versions WHERE path", paths)
        return {row[0]: _version(row) for row in rows}

    def claimants(self, collection: str, key: str) -> list[str]:
        """The live paths of `collection` whose document has `key`."""
        rows = self.db.execute(
            "SELECT path FROM versions WHERE collection = ? AND key = ? AND deleted = 0", (collection, key)
        )
        return [row[0] for row in rows]

    def live(self, collection: str) -> Iterator[list[PathVersion]]:
        """The live versions of `collection`, in batches of 1,000 (by path)."""
        last = ""
        while True:
            rows = self.db.execute(
                "SELECT * FROM versions WHERE collection = ? AND deleted = 0 AND path > ? ORDER BY path LIMIT 1000",
                (collection, last),
            ).fetchall()
            if not rows:
                return
            yield [_version(row) for row in rows]
            last = rows[-1][0]

    def live_keys(self, collection: str) -> Iterator[str]:
        for row in self.db.execute(
            "SELECT DISTINCT key FROM versions WHERE collection = ? AND deleted = 0 AND key IS NOT NULL",
            (collection,),
        ):
            yield row[0]

    def unknown_keys(self, collection: str) -> int:
        """How many live paths of `collection` have no known key (they can't be mapped)."""
        return self.db.execute(
            "SELECT count(*) FROM versions WHERE collection = ? AND deleted = 0 AND key IS NULL",
            (collection,),
        ).fetchone()[0]

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM versions LIMIT 1").fetchone() is None


def _version(row) -> PathVersion:
    path, collection, key, update_time, deleted = row
    return PathVersion(path, collection, key, _parse(update_time), bool(deleted))


def _parse(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None
