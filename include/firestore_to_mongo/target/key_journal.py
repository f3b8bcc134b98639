"""The keys a run's partitions read, journaled in the target database, one document per page.

Partitions may run on different workers, and a retried partition resumes from its
checkpoint, so the run's whole key set has to live where they all write: the target
database. A page costs one insert of its claims packed as one compressed JSON value,
not one write per key. The migration and the verify keep separate journals.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

from pymongo import ASCENDING
from pymongo.database import Database

from include.firestore_to_mongo.contract.claims import Claim

# The migration's key journal; the verify keeps its own (`verify.store.KEY_JOURNAL`).
MIGRATION_JOURNAL = "_firestore_to_mongo_key_journal"
LEGACY_LEDGER_PREFIX = "_firestore_to_mongo_keys."


def drop_legacy_ledgers(database: Database, collection: str) -> list[str]:
    """Drop the per-run ledger collections (`_firestore_to_mongo_keys.<collection>.*`)
    that versions before the key journal left when a run failed; return their names."""
    prefix = f"{LEGACY_LEDGER_PREFIX}{collection}."
    dropped = [name for name in database.list_collection_names() if name.startswith(prefix)]
    for name in dropped:
        database.drop_collection(name)
    return dropped


class KeyJournal:
    """One run's journal of one collection (of one partition, for appending): `pages()`
    gives the claims back, which `keys.ledger.journaled_keys` folds into a ledger on
    local disk."""

    def __init__(
        self, database: Database, name: str, run_key: str, collection: str, partition: int | None = None
    ) -> None:
        self.journal = database[name]
        self.run_key = run_key
        self.collection = collection
        self.partition = partition

    @property
    def _own(self) -> dict[str, Any]:
        return {"run": self.run_key, "collection": self.collection}

    def prepare(self) -> None:
        self.journal.create_index([("run", ASCENDING), ("collection", ASCENDING), ("partition", ASCENDING)])

    def clear_partition(self) -> None:
        """Forget an earlier attempt's pages: for a partition that starts over."""
        self.journal.delete_many(self._own | {"partition": self.partition})

    def append(self, claims: list[tuple[str, Claim]]) -> None:
        if claims:
            self.journal.insert_one(self._own | {"partition": self.partition, "claims": pack_claims(claims)})

    def pages(self) -> Iterator[list[tuple[str, Claim]]]:
        """Every journaled page's claims, page by page (`keys.ledger.journaled_keys` folds
        them into a ledger on local disk)."""
        # In `_id` order: a scan cut by a fault goes on where it stopped (target.retrying).
        for page in self.journal.find(self._own, {"claims": 1}, sort=[("_id", 1)]):
            yield unpack_claims(page["claims"])

    def drop(self) -> None:
        self.journal.delete_many(self._own)

    @staticmethod
    def drop_other_runs(database: Database, name: str, run_key: str, collection: str) -> int:
        """Delete the pages that earlier runs (which failed) left: one run of a DAG at a time."""
        return database[name].delete_many({"collection": collection, "run": {"$ne": run_key}}).deleted_count


def pack_claims(claims: list[tuple[str, Claim]]) -> bytes:
    """A page's claims as one compressed JSON value: a server parses one binary field, not
    thousands of small arrays, and a page's keys and paths, alike in their prefixes,
    shrink to about a fifth on the wire."""
    entries = [[key, claim.path, claim.owner] for key, claim in claims]
    return zlib.compress(json.dumps(entries, ensure_ascii=False).encode(), 1)


def unpack_claims(packed: bytes) -> list[tuple[str, Claim]]:
    return [(key, Claim(path, owner)) for key, path, owner in json.loads(zlib.decompress(packed))]
