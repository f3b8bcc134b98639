"""Catch two source documents that map to one upsert key, and decide which one is migrated.

Every document read claims its key in a ledger (`keys.ledger`), and exactly one
claimant is migrated, by the contract's rule (`contract.claims`). Losers are never
written by a partition that knows of the winner; each one is a failed document, named
with the winner's path. Partitions running side by side may still write a loser
before they learn of the winner, so the collection's `_done` task rewrites every
conflicted key's winner at the end: the outcome in MongoDB is the winner, and only the
winner, on every run. A dry run writes nothing, so its partitions keep only their
local ledgers, and conflicts across partitions are not seen.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from include.firestore_to_mongo.contract.claims import Claim, encoded_key_text
from include.firestore_to_mongo.contract.mapping import (
    MappedDocument,
    MappingError,
    encode_key,
    map_document,
    owns_its_key,
)
from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.keys.ledger import ClaimLedger

log = logging.getLogger(__name__)


class FailureReport(Protocol):
    """What failures are counted in: a migration's or a verify's figures."""

    conflicts: int

    def record_failure(self, path: str, reason: str) -> None: ...


class ConflictReport(Protocol):
    """What a migration's key conflicts are counted in (`migrate.report.CollectionReport`)."""

    def record_conflict(self, path: str, key: str, winner: str, reason: str) -> None: ...


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


def record_conflicts(spec: CollectionSpec, ledger: ClaimLedger, report: ConflictReport) -> list[Claim]:
    """Count every losing claimant as a conflict and a failed document, naming the key and
    the winner's path; return the winners, one per conflicted key."""
    winners = []
    for encoded, claims in ledger.conflicts():
        winner, *losers = claims
        winners.append(winner)
        key = encoded_key_text(spec, encoded)
        for loser in losers:
            reason = f"key conflict: {key} is also the key of {winner.path}, which is migrated instead"
            log.error("%s: can't migrate %s: %s", spec.name, loser.path, reason)
            report.record_conflict(loser.path, key, winner.path, reason)
    return winners


def rewrite_winners(
    spec: CollectionSpec,
    winners: list[Claim],
    client,
    writer,
    report: FailureReport,
    batch_size: int,
    timeout: float,
) -> None:
    """Read each winner from Firestore again and write it, comparing as always: a no-op
    unless a loser overwrote it. One Firestore read per conflicted key."""
    from include.firestore_to_mongo.source.reader import read_by_paths

    rewritten = changed = 0
    for start in range(0, len(winners), batch_size):
        paths = [winner.path for winner in winners[start : start + batch_size]]
        batch = []
        for snapshot in read_by_paths(
            client, paths, timeout, f"reading {spec.name}'s conflict winners again"
        ):
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
