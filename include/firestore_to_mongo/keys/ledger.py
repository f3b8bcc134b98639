"""Ledgers of key claims: who claimed which key, on local disk.

Each partition judges its claims on a ledger on local disk (SQLite) and journals
every page's claims into the target database (`target.key_journal.KeyJournal`), so
partitions on different workers, and a partition retried from its checkpoint, add up
to the run's whole key set. `<name>_done` folds the journal into one local ledger
(`journaled_keys`): it names the conflicts across partitions, and it is the run's
record of every key the source has, for finding deleted sources without reading
Firestore again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from include.firestore_to_mongo.contract.claims import Claim
from include.firestore_to_mongo.contract.mapping import encode_key
from include.firestore_to_mongo.target.key_journal import KeyJournal
from include.firestore_to_mongo.util.scratch import ScratchSqlite


class ClaimLedger(Protocol):
    def claim(self, claims: list[tuple[str, Claim]]) -> dict[str, list[Claim]]:
        """Record the claims; return every claim made so far on each of their keys."""

    def conflicts(self) -> Iterator[tuple[str, list[Claim]]]:
        """Each key claimed by more than one document, with its claims, best first."""


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


def journaled_keys(journal: KeyJournal) -> LocalKeyLedger:
    """Every page's claims in `journal`, in a ledger on local disk (the caller closes it).
    A page journaled twice (read again after a retry) adds nothing: claims are a set."""
    ledger = LocalKeyLedger()
    try:
        for claims in journal.pages():
            ledger.record(claims)
    except BaseException:
        ledger.close()
        raise
    return ledger
