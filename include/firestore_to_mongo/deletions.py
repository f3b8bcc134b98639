"""Find MongoDB documents whose Firestore source is gone, and optionally delete them.

A full run records every key it read in a ledger on local disk (SQLite), so
memory stays bounded however large the collection; afterwards each MongoDB key
is looked up in the ledger. A key that is missing there belongs to a document
that no longer exists in Firestore.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pymongo.collection import Collection

from include.firestore_to_mongo.mapping import encode_key
from include.firestore_to_mongo.scratch import ScratchSqlite

SAMPLE_KEYS = 5


class KeyLedger(ScratchSqlite):
    """A set of upsert keys, kept in a temporary SQLite file."""

    def __init__(self) -> None:
        super().__init__("keys", "CREATE TABLE keys (key TEXT PRIMARY KEY) WITHOUT ROWID")

    def add(self, keys: Iterable[tuple]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO keys VALUES (?)", ((encode_key(k),) for k in keys))

    def missing(self, keys: list[tuple]) -> list[tuple]:
        encoded = [encode_key(key) for key in keys]
        found = {row[0] for row in self.where_in("SELECT key FROM keys WHERE key", encoded)}
        return [key for key, code in zip(keys, encoded, strict=True) if code not in found]


@dataclass
class DeletionResult:
    stale: int = 0
    deleted: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


def stale_keys(
    collection: Collection, key_fields: tuple[str, ...], ledger: KeyLedger, batch_size: int
) -> Iterator[list[tuple]]:
    """Yield, batch by batch, the keys in `collection` that the ledger lacks.

    Documents without a complete key of ours (written by something else) are
    left alone.
    """
    projection = dict.fromkeys(key_fields, 1) | {"_id": 0}
    batch: list[tuple] = []
    for document in collection.find({}, projection, batch_size=batch_size):
        key = tuple(document.get(name) for name in key_fields)
        if not all(isinstance(value, str | int) and not isinstance(value, bool) for value in key):
            continue
        batch.append(key)
        if len(batch) == batch_size:
            if stale := ledger.missing(batch):
                yield stale
            batch = []
    if batch and (stale := ledger.missing(batch)):
        yield stale


def find_and_prune(
    collection: Collection,
    key_fields: tuple[str, ...],
    ledger: KeyLedger,
    batch_size: int,
    prune: bool,
) -> DeletionResult:
    """Count the stale documents (keeping a few sample keys) and, with `prune`, delete them."""
    result = DeletionResult()
    # Deleting while the scan is open is safe: only keys it already returned go.
    for keys in stale_keys(collection, key_fields, ledger, batch_size):
        result.stale += len(keys)
        for key in keys[: SAMPLE_KEYS - len(result.samples)]:
            result.samples.append(dict(zip(key_fields, key, strict=True)))
        if prune:
            filters = [dict(zip(key_fields, key, strict=True)) for key in keys]
            result.deleted += collection.delete_many({"$or": filters}).deleted_count
    return result


def ledger_from_source(client, spec, batch_size: int, timeout: float, limiter=None) -> tuple[KeyLedger, int]:
    """A ledger of every key the source has now, from a names-and-ids-only read.

    Returns the ledger and how many documents' keys could not be worked out (their
    id field can't be a key): while there are any, nothing may be called deleted.
    """
    from include.firestore_to_mongo.firestore_reader import read_pages
    from include.firestore_to_mongo.mapping import MappingError, map_document

    ledger = KeyLedger()
    unknown = 0
    for page in read_pages(client, spec, batch_size, timeout, limiter=limiter, fields=[spec.id_field]):
        keys = []
        for document in page.documents:
            try:
                keys.append(tuple(map_document(spec, document.path, document.data).key.values()))
            except MappingError:
                unknown += 1
        ledger.add(keys)
    return ledger, unknown
