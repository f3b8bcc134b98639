"""Find MongoDB documents whose Firestore source is gone, and optionally delete them.

A full run's partitions journal every key they read (`target.key_journal.KeyJournal`);
`<name>_done` folds the journal into a ledger on local disk (SQLite), so memory
stays bounded however large the collection, and looks each MongoDB key up in it. A
key that is missing there belongs to a document that no longer exists in Firestore.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pymongo.collection import Collection

from include.firestore_to_mongo.keys.ledger import LocalKeyLedger

SAMPLE_KEYS = 5


@dataclass
class DeletionResult:
    stale: int = 0
    deleted: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


def stale_keys(
    collection: Collection, key_fields: tuple[str, ...], ledger: LocalKeyLedger, batch_size: int
) -> Iterator[list[tuple]]:
    """Yield, batch by batch, the keys in `collection` that the ledger lacks.

    Documents without a complete key of ours (written by something else) are
    left alone.
    """
    projection = dict.fromkeys(key_fields, 1) | {"_id": 0}
    batch: list[tuple] = []
    # In `_id` order, so that a scan cut by a fault goes on where it stopped (target.retrying).
    for document in collection.find({}, projection, batch_size=batch_size, sort=[("_id", 1)]):
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
    ledger: LocalKeyLedger,
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


def ledger_from_source(client, spec, batch_size: int, timeout: float, limiter=None) -> LocalKeyLedger:
    """A ledger of every key the source has now, from a names-and-ids-only read: a
    dry run's, which journals nothing. Documents whose key can't be worked out are
    left out; the partitions counted them as failed, which stops any deletion check."""
    from include.firestore_to_mongo.contract.mapping import MappingError, map_document
    from include.firestore_to_mongo.keys.conflicts import ConflictGuard
    from include.firestore_to_mongo.source.reader import read_pages

    ledger = LocalKeyLedger()
    guard = ConflictGuard(spec, ledger)
    try:
        for page in read_pages(client, spec, batch_size, timeout, limiter=limiter, fields=[spec.id_field]):
            mapped = []
            for document in page.documents:
                try:
                    mapped.append(map_document(spec, document.path, document.data))
                except MappingError:
                    continue
            ledger.record(guard.claims(mapped))
    except BaseException:
        ledger.close()
        raise
    return ledger
