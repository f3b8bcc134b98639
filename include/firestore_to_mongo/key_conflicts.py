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

Each partition judges its claims on a ledger on local disk (SQLite) and journals
every page's claims into the target database with one insert (`KeyJournal`), so
partitions on different workers, and a partition retried from its checkpoint, add up
to the run's whole key set. `<name>_done` folds the journal into one local ledger:
it names the conflicts across partitions, and it is the run's record of every key the
source has, for finding deleted sources without reading Firestore again. A dry run
writes nothing, so its partitions keep only their local ledgers, and conflicts across
partitions are not seen.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.database import Database

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

# The migration's key journal; the verify keeps its own (`verify_store.KEY_JOURNAL`).
MIGRATION_JOURNAL = "_firestore_to_mongo_key_journal"
LEGACY_LEDGER_PREFIX = "_firestore_to_mongo_keys."


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


def drop_legacy_ledgers(database: Database, collection: str) -> list[str]:
    """Drop the per-run ledger collections (`_firestore_to_mongo_keys.<collection>.*`)
    that versions before the key journal left when a run failed; return their names."""
    prefix = f"{LEGACY_LEDGER_PREFIX}{collection}."
    dropped = [name for name in database.list_collection_names() if name.startswith(prefix)]
    for name in dropped:
        database.drop_collection(name)
    return dropped


class LocalKeyLedger(ScratchSqlite):
    """A ledger in a temporary SQLite file, for one process: a partition's own claims,
    or a whole run's once `<name>_done` has folded the journal into it."""

    def __init__(self) -> None:
        super().__init__(
            "claims",
            "CREATE TABLE claims (key TEXT, path TEXT, owner INTEGER, PRIMARY KEY (key, path)) WITHOUT ROWID",
        )

    def record(self, claims: list[tuple[str, Claim]]) -> None:
        self.db.executemany(
            "INSERT OR IGNORE INTO claims VALUES (?, ?, ?)",
            ((key, claim.path, claim.owner) for key, claim in claims),
        )

    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        self.record(claims)
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


class KeyJournal:
    """The keys a run's partitions read, one MongoDB document per page.

    Partitions may run on different workers, so the key set lives in the target
    database; but a page costs one insert, not one write per key. `<name>_done` folds
    the journal into a ledger on local disk (`ledger()`).
    """

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

    def ledger(self) -> LocalKeyLedger:
        """Every page's claims, in a ledger on local disk (the caller closes it). A page
        journaled twice (read again after a retry) adds nothing: claims are a set."""
        ledger = LocalKeyLedger()
        try:
            for page in self.journal.find(self._own, {"claims": 1}):
                ledger.record(unpack_claims(page["claims"]))
        except BaseException:
            ledger.close()
            raise
        return ledger

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


class JournaledLedger:
    """A partition's ledger: claims judged on local disk, and journaled for `<name>_done`."""

    def __init__(self, local: LocalKeyLedger, journal: KeyJournal) -> None:
        self.local = local
        self.journal = journal

    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        self.journal.append(claims)
        return self.local.claim(claims)

    def conflicts(self) -> Iterator[tuple[str, list[Claim]]]:
        return self.local.conflicts()

    def close(self) -> None:
        self.local.close()


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
