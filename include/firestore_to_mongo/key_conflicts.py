"""Catch two source documents that map to one upsert key, and decide which one is migrated.

Two Firestore documents of one collection can name the same key (`users/a` and
`users/b` both holding `user_id: "same"`, or a message whose `message_id` is a
sibling's doc id). Upserting both would merge them into one MongoDB document.
Instead every document read claims its key in a ledger, and exactly one claimant
is migrated, by a rule that doesn't depend on page size, partitioning or read
order:

1. a document that owns its key (no id field, or one equal to its own doc id)
   beats one that names it in a field;
2. otherwise the smallest Firestore path (code-point order) wins.

Losers are never written by a partition that knows of the winner; each one is a
failed document, named with the winner's path. Partitions running side by side may
still write a loser before they learn of the winner, so the collection's `_done`
task rewrites every conflicted key's winner at the end: the outcome in MongoDB is the
winner, and only the winner, on every run.

The ledger of a real run lives in the target database (`_firestore_to_mongo_keys.*`,
one collection per run and collection, dropped when the collection is done) so that
partitions on different workers share it and a retried partition finds its earlier
claims. A dry run writes nothing, so each partition keeps its own ledger on local
disk, and conflicts across partitions are not seen.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from include.firestore_to_mongo.mapping import (
    MappedDocument,
    MappingError,
    encode_key,
    map_document,
    owns_its_key,
)
from include.firestore_to_mongo.report import CollectionReport
from include.firestore_to_mongo.scratch import ScratchSqlite
from include.firestore_to_mongo.specs import CollectionSpec

log = logging.getLogger(__name__)

LEDGER_PREFIX = "_firestore_to_mongo_keys."
DUPLICATE_KEY = 11000


@dataclass(frozen=True)
class Claim:
    """A source document claiming a key."""

    path: str
    # True when the key's id is the document's own id.
    owner: bool

    @property
    def rank(self) -> tuple[bool, str]:
        """Smallest wins: owners first, then by path."""
        return (not self.owner, self.path)


def decode_key(spec: CollectionSpec, encoded: str) -> dict[str, Any]:
    return dict(zip(spec.key_fields, json.loads(encoded), strict=True))


class ClaimLedger(Protocol):
    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        """Record the claims; return every claim made so far on each of their keys."""

    def conflicts(self) -> Iterator[tuple[str, list[Claim]]]:
        """Each key claimed by more than one document, with its claims, best first."""


class MongoKeyLedger:
    """The run's ledger of one collection, in a collection of the target database."""

    def __init__(self, database: Database, run_key: str, collection: str) -> None:
        self.collection = database[ledger_name(run_key, collection)]

    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        if not claims:
            return {}
        requests = [
            UpdateOne({"_id": key}, {"$addToSet": {"c": {"p": claim.path, "o": claim.owner}}}, upsert=True)
            for key, claim in claims
        ]
        try:
            inserted = set(self.collection.bulk_write(requests, ordered=False).upserted_ids)
        except BulkWriteError as error:
            # Two partitions inserting one new key at once: one upsert loses the race
            # on _id. Its retry finds the document and adds to it.
            errors = error.details.get("writeErrors", [])
            if error.details.get("writeConcernErrors") or any(e["code"] != DUPLICATE_KEY for e in errors):
                raise
            self.collection.bulk_write([requests[e["index"]] for e in errors], ordered=False)
            inserted = {item["index"] for item in error.details.get("upserted", [])}
        # A claim that created its key's entry is the only one so far: no need to read it
        # back. Only keys claimed before (a conflict, or a retried page) are looked up, so
        # a run without conflicts costs one write per batch.
        known = {key: [claim] for index, (key, claim) in enumerate(claims) if index in inserted}
        claimed_before = list({key for index, (key, _) in enumerate(claims) if index not in inserted})
        if claimed_before:
            for found in self.collection.find({"_id": {"$in": claimed_before}}):
                known[found["_id"]] = _claims(found)
        return known

    def conflicts(self) -> Iterator[tuple[str, list[Claim]]]:
        for found in self.collection.find({"c.1": {"$exists": True}}).sort("_id", 1):
            yield found["_id"], sorted(_claims(found), key=lambda claim: claim.rank)

    def drop(self) -> None:
        self.collection.drop()


def ledger_name(run_key: str, collection: str) -> str:
    # Hashed: run ids hold characters and lengths a collection name can't.
    return f"{LEDGER_PREFIX}{collection}.{hashlib.sha256(run_key.encode()).hexdigest()[:20]}"


def drop_other_ledgers(database: Database, run_key: str, collection: str) -> list[str]:
    """Drop the ledgers of `collection` left by other runs (which failed and were not
    retried to the end); return their names."""
    own = ledger_name(run_key, collection)
    prefix = f"{LEDGER_PREFIX}{collection}."
    dropped = [name for name in database.list_collection_names() if name.startswith(prefix) and name != own]
    for name in dropped:
        database.drop_collection(name)
    return dropped


def _claims(found: dict[str, Any]) -> list[Claim]:
    return [Claim(item["p"], item["o"]) for item in found["c"]]


class LocalKeyLedger(ScratchSqlite):
    """A ledger in a temporary SQLite file, for one process (dry runs)."""

    def __init__(self) -> None:
        super().__init__(
            "claims",
            "CREATE TABLE claims (key TEXT, path TEXT, owner INTEGER, PRIMARY KEY (key, path)) WITHOUT ROWID",
        )

    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        self.db.executemany(
            "INSERT OR IGNORE INTO claims VALUES (?, ?, ?)",
            ((key, claim.path, claim.owner) for key, claim in claims),
        )
        found: dict[str, list[Claim]] = {}
        keys = list({key for key, _ in claims})
        for key, path, owner in self.where_in("SELECT key, path, owner FROM claims WHERE key", keys):
            found.setdefault(key, []).append(Claim(path, bool(owner)))
        return found

    def key_count(self) -> int:
        """How many distinct keys were claimed."""
        return self.db.execute("SELECT count(DISTINCT key) FROM claims").fetchone()[0]

    def missing(self, keys: list[tuple]) -> list[tuple]:
        """The keys (value tuples) nobody claimed."""
        encoded = [encode_key(key) for key in keys]
        found = {row[0] for row in self.where_in("SELECT DISTINCT key FROM claims WHERE key", encoded)}
        return [key for key, code in zip(keys, encoded, strict=True) if code not in found]

    def conflicts(self) -> Iterator[tuple[str, list[Claim]]]:
        rows = self.db.execute(
            "SELECT key, path, owner FROM claims WHERE key IN "
            "(SELECT key FROM claims GROUP BY key HAVING count(*) > 1) ORDER BY key"
        )
        current, claims = None, []
        for key, path, owner in rows:
            if key != current and claims:
                yield current, sorted(claims, key=lambda claim: claim.rank)
                claims = []
            current = key
            claims.append(Claim(path, bool(owner)))
        if claims:
            yield current, sorted(claims, key=lambda claim: claim.rank)


class ConflictGuard:
    """Claims each batch's keys and lets through only the documents that win so far."""

    def __init__(self, spec: CollectionSpec, ledger: ClaimLedger) -> None:
        self.spec = spec
        self.ledger = ledger

    def winners(
        self, batch: list[MappedDocument], others: list[tuple[dict[str, Any], str]] = ()
    ) -> list[MappedDocument]:
        """The documents of `batch` that no better claimant is known to beat.

        `others` are (key, path) of documents read but not written (unchanged since
        the watermark): they claim their keys too, so a changed loser can't
        overwrite an unchanged winner.
        """
        claims = self.claims(batch)
        claims += [(encode_key(key.values()), self._claim(key, path)) for key, path in others]
        known = self.ledger.claim(claims)
        kept = []
        for (key, claim), document in zip(claims, batch, strict=False):
            best = min(known.get(key, [claim]), key=lambda c: c.rank)
            if best == claim:
                kept.append(document)
        return kept

    def claims(self, batch: list[MappedDocument]) -> list[tuple[str, Claim]]:
        """(encoded key, claim) of each document."""
        return [(encode_key(doc.key.values()), self._claim(doc.key, doc.path)) for doc in batch]

    def _claim(self, key: dict[str, Any], path: str) -> Claim:
        return Claim(path, owns_its_key(self.spec, path, key))


def record_conflicts(spec: CollectionSpec, ledger: ClaimLedger, report: CollectionReport) -> list[Claim]:
    """Count every losing claimant as a failed document, naming the key and the winner's
    path; return the winners, one per conflicted key."""
    winners = []
    for encoded, claims in ledger.conflicts():
        winner, *losers = claims
        winners.append(winner)
        for loser in losers:
            reason = f"key conflict: {encoded_key_text(spec, encoded)} is also the key of {winner.path}, which is migrated instead"
            log.error("%s: can't migrate %s: %s", spec.name, loser.path, reason)
            report.conflicts += 1
            report.record_failure(loser.path, reason)
    return winners


def rewrite_winners(
    spec: CollectionSpec,
    winners: list[Claim],
    client,
    writer,
    report: CollectionReport,
    batch_size: int,
    timeout: float,
) -> None:
    """Read each winner from Firestore again and write it, comparing as always: a no-op
    unless a loser overwrote it. One Firestore read per conflicted key."""
    from google.api_core.retry import Retry

    rewritten = changed = 0
    for start in range(0, len(winners), batch_size):
        references = [client.document(winner.path) for winner in winners[start : start + batch_size]]
        batch = []
        for snapshot in client.get_all(references, retry=Retry(timeout=timeout), timeout=timeout):
            path = snapshot.reference.path
            if not snapshot.exists:
                log.warning("%s: %s, which won a key conflict, is gone from Firestore", spec.name, path)
                continue
            try:
                batch.append(map_document(spec, path, snapshot.to_dict() or {}))
            except MappingError as error:
                report.record_failure(path, str(error))
        outcome = writer.write(batch)
        rewritten += len(batch)
        changed += outcome.inserted + outcome.updated
        for path, reason in outcome.failures:
            report.record_failure(path, reason)
    log.info(
        "%s: %d key conflicts; wrote their %d winners again (%d had been overwritten by a loser)",
        spec.name,
        report.conflicts,
        rewritten,
        changed,
    )


def encoded_key_text(spec: CollectionSpec, encoded: str) -> str:
    return json.dumps(decode_key(spec, encoded), ensure_ascii=False)
