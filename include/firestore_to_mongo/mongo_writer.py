"""Write mapped documents to a Mongo collection as idempotent upserts, or preview them."""

from __future__ import annotations

from dataclasses import dataclass, field

from pymongo import ASCENDING, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from include.firestore_to_mongo.mapping import MappedDocument

KEY_INDEX_NAME = "firestore_to_mongo_key"


@dataclass
class WriteOutcome:
    """What one batch did: counts, and (path, reason) for each document that failed."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)


class UpsertWriter:
    """`$set` each document's mapped keys, with upsert, keyed by the collection's upsert key.

    `$set` rather than a replacement, so keys that other processes added to a
    Mongo document survive a re-run.
    """

    def __init__(self, collection: Collection, key_fields: tuple[str, ...]) -> None:
        self.collection = collection
        self.key_fields = key_fields

    def prepare(self) -> None:
        """Create the unique index on the upsert key unless an equivalent one exists."""
        wanted = [(name, ASCENDING) for name in self.key_fields]
        for index in self.collection.list_indexes():
            if list(index["key"].items()) == wanted and index.get("unique"):
                return
        self.collection.create_index(wanted, unique=True, name=KEY_INDEX_NAME)

    def write(self, documents: list[MappedDocument]) -> WriteOutcome:
        requests = [UpdateOne(doc.key, {"$set": doc.fields}, upsert=True) for doc in documents]
        try:
            result = self.collection.bulk_write(requests, ordered=False)
            counts = result.bulk_api_result
            failures = []
        except BulkWriteError as error:
            # Unordered: every other document of the batch was still written.
            if error.details.get("writeConcernErrors"):
                raise
            counts = error.details
            failures = [
                (documents[item["index"]].path, item.get("errmsg", "write failed"))
                for item in counts.get("writeErrors", [])
            ]
        matched, modified = counts.get("nMatched", 0), counts.get("nModified", 0)
        return WriteOutcome(
            inserted=counts.get("nUpserted", 0),
            updated=modified,
            unchanged=matched - modified,
            failures=failures,
        )


class DryRunPreview:
    """Count what an upsert would insert or update, by looking the keys up. Writes nothing.

    Looking keys up with find() creates no collection and no index.
    """

    def __init__(self, collection: Collection, key_fields: tuple[str, ...]) -> None:
        self.collection = collection
        self.key_fields = key_fields

    def prepare(self) -> None:
        """Nothing to prepare: a dry run must leave the database untouched."""

    def write(self, documents: list[MappedDocument]) -> WriteOutcome:
        keys = [doc.key for doc in documents]
        if len(self.key_fields) == 1:
            (name,) = self.key_fields
            query = {name: {"$in": [key[name] for key in keys]}}
        else:
            query = {"$or": keys}
        projection = dict.fromkeys(self.key_fields, 1) | {"_id": 0}
        existing = {
            tuple(found.get(name) for name in self.key_fields)
            for found in self.collection.find(query, projection)
        }
        # A key repeated in the batch would be inserted once, then updated.
        seen = set(existing)
        inserted = 0
        for key in keys:
            as_tuple = tuple(key[name] for name in self.key_fields)
            if as_tuple not in seen:
                inserted += 1
                seen.add(as_tuple)
        return WriteOutcome(inserted=inserted, updated=len(keys) - inserted)
