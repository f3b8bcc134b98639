"""Compare MongoDB with Firestore as the contract maps it, name each difference, repair it.

A partition reads its source documents in pages (the migration's reader), maps each
one (the migration's mapping), claims its key (the migration's conflict rule, on a
ledger on local disk; the page's keys also go to the run's key journal in one
insert), and looks the page's keys up in MongoDB with one find (the migration's
comparer). What compares equal is done. Everything else is a
candidate, kept on local disk, and re-checked once at the end of the partition:
the source is read again by path and MongoDB by key. A candidate whose source
changed after the verify started (its update_time), or changed between the two
reads, or whose MongoDB document changed between the two reads, is
`changed_during_verify`; one that compares equal now is equal; the rest are
`missing` or `different`, and with `repair` they are written by the migration's
writer and compared once more before they count as repaired.

`<name>_done` then folds the journal into a ledger on local disk, settles key
conflicts across partitions, looks for extra documents (MongoDB keys that no source
document claimed in this run), re-checks those, and prunes them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import bson
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from include.firestore_to_mongo.contract.claims import decode_key
from include.firestore_to_mongo.contract.mapping import (
    MappedDocument,
    MappingError,
    encode_key,
    map_document,
    upsert_key,
)
from include.firestore_to_mongo.contract.paths import path_from_ids
from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.keys.conflicts import ConflictGuard
from include.firestore_to_mongo.keys.ledger import LocalKeyLedger
from include.firestore_to_mongo.source.reader import Page, read_by_paths
from include.firestore_to_mongo.target.writer import UNCHANGED, Comparer, compare
from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.scratch import ScratchSqlite
from include.firestore_to_mongo.verify.reasons import count_conflict, count_reason
from include.firestore_to_mongo.verify.report import VerifyReport
from include.firestore_to_mongo.verify.store import (
    CHANGED,
    CONFLICT,
    DIFFERENT,
    EXTRA,
    MISSING,
    RECORD_FIELDS,
    UNMAPPABLE,
    Difference,
    DifferenceStore,
)

log = logging.getLogger(__name__)


def _digest(stored: dict[str, Any] | None) -> str:
    """A fingerprint of a stored MongoDB document, to tell whether it changed between reads."""
    return "" if stored is None else hashlib.sha256(bson.encode(stored)).hexdigest()


def _nanoseconds(value) -> int | None:
    """An update_time (or instant) in nanoseconds since the epoch. Snapshots carry it as a
    datetime or, from some queries, as a protobuf Timestamp; compared as text, the two
    forms of one instant can differ."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if not isinstance(value, DatetimeWithNanoseconds):
            value = DatetimeWithNanoseconds.fromisoformat(value.isoformat())
        value = value.timestamp_pb()
    return value.seconds * 1_000_000_000 + value.nanos


class Candidates(ScratchSqlite):
    """Documents that did not compare equal on first sight, on local disk until re-checked."""

    def __init__(self) -> None:
        super().__init__(
            "candidates",
            "CREATE TABLE candidates (path TEXT PRIMARY KEY, update_time INTEGER, stored TEXT) WITHOUT ROWID",
        )

    def add(self, path: str, update_time: int | None, stored: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO candidates VALUES (?, ?, ?)", (path, update_time, stored))

    def batches(self, size: int) -> Iterator[list[tuple[str, int | None, str]]]:
        after = ""
        while rows := self.db.execute(
            "SELECT path, update_time, stored FROM candidates WHERE path > ? ORDER BY path LIMIT ?",
            (after, size),
        ).fetchall():
            yield rows
            after = rows[-1][0]


class PartitionVerifier:
    """Verifies one partition's pages, then re-checks (and repairs) what did not match."""

    def __init__(
        self,
        spec: CollectionSpec,
        full: bool,
        comparer: Comparer,
        guard: ConflictGuard,
        started: datetime,
        store: DifferenceStore,
        report: VerifyReport,
        writer=None,
    ) -> None:
        self.spec = spec
        # True: compare content; False: compare keys only (depth `keys`).
        self.full = full
        self.comparer = comparer
        self.guard = guard
        self.started = _nanoseconds(started)
        self.store = store
        self.report = report
        # The migration's UpsertWriter when repairing, else None.
        self.writer = writer
        self.candidates = Candidates()
        self._projection = None if full else dict.fromkeys(spec.key_fields, 1) | {"_id": 0}

    def close(self) -> None:
        """Close what the verifier made itself: the candidates (its ledger is the caller's)."""
        self.candidates.close()

    def check_page(self, page: Page) -> None:
        """First sight: compare the page, keep what doesn't match for the re-check."""
        self.report.pages += 1
        self.report.read += len(page.documents)
        self.report.out_of_scope += page.out_of_scope
        mapped, update_times = [], {}
        for source in page.documents:
            try:
                mapped.append(self._map(source.path, source.data, content=self.full))
            except MappingError as error:
                self.report.unmappable += 1
                unmappable = Difference(UNMAPPABLE, None, source.path, reason=shorten(str(error)))
                self.store.add([count_reason(self.report, unmappable)])
                continue
            update_times[source.path] = _nanoseconds(source.update_time)
        # The guard's ledger journals the keys for `<name>_done` (extra documents,
        # conflicts). Only the best claimant of a key that this partition knows of is
        # compared; `<name>_done` names the others, across partitions.
        winners = self.guard.winners(mapped)
        for document, stored in zip(winners, self._stored(winners), strict=True):
            self.report.compared += 1
            if not self._equal(document, stored):
                self.candidates.add(document.path, update_times[document.path], _digest(stored))

    def recheck(self, client, batch_size: int, timeout: float) -> None:
        """Read every candidate again on both sides; classify it, and repair it if asked."""
        for rows in self.candidates.batches(batch_size):
            snapshots = {
                snapshot.reference.path: snapshot
                for snapshot in read_by_paths(
                    client,
                    [path for path, _, _ in rows],
                    timeout,
                    f"reading {self.spec.name}'s differences again",
                )
            }
            found: list[Difference] = []
            documents, moving, first_stored, repairs = [], set(), {}, {}
            for path, first_update, stored_digest in rows:
                snapshot = snapshots.get(path)
                if snapshot is None or not snapshot.exists:
                    found.append(
                        Difference(CHANGED, None, path, reason="deleted from Firestore during the verify")
                    )
                    continue
                data = snapshot.to_dict() or {}
                try:
                    document = self._map(path, data, self.full)
                except MappingError as error:
                    # It mapped on first sight: it changed.
                    found.append(Difference(CHANGED, None, path, reason=shorten(str(error))))
                    continue
                if self.writer is not None:
                    repairs[path] = self._repairable(document, data)
                if (first_update is not None and first_update > self.started) or _nanoseconds(
                    snapshot.update_time
                ) != first_update:
                    moving.add(path)
                first_stored[path] = stored_digest
                documents.append(document)
            winners = self.guard.winners(documents)
            confirmed: list[tuple[Difference, MappedDocument]] = []
            for document, stored in zip(winners, self._stored(winners), strict=True):
                if self._equal(document, stored):
                    continue
                difference = self._difference(document, stored)
                if document.path in moving or _digest(stored) != first_stored[document.path]:
                    difference.kind = CHANGED
                    difference.reason = "it changed while the verify ran (in Firestore or in MongoDB)"
                    found.append(difference)
                else:
                    confirmed.append((difference, document))
            if self.writer is not None:
                self._repair(confirmed, repairs)
            found += [difference for difference, _ in confirmed]
            for difference in found:
                self._count(difference)
            self.store.add(found)

    def _repairable(self, document: MappedDocument, data: dict[str, Any]) -> MappedDocument | str:
        """What a repair writes: the whole mapping (a keys-depth verify compared the key
        only), or why there is none."""
        if self.full:
            return document
        try:
            return map_document(self.spec, document.path, data)
        except MappingError as error:
            return f"can't be repaired: {shorten(str(error))}"

    def _repair(
        self, confirmed: list[tuple[Difference, MappedDocument]], repairs: dict[str, MappedDocument | str]
    ) -> None:
        writable = []
        for difference, document in confirmed:
            repair = repairs[document.path]
            if isinstance(repair, str):
                difference.reason = repair
            else:
                writable.append((difference, document, repair))
        if not writable:
            return
        outcome = self.writer.write([repair for _, _, repair in writable])
        for path, reason in outcome.failures:
            log.error("%s: can't repair %s: %s", self.spec.name, path, shorten(reason))
        # Counted as repaired only once MongoDB is seen to hold the mapping.
        documents = [document for _, document, _ in writable]
        for (difference, document, _), stored in zip(writable, self._stored(documents), strict=True):
            difference.repaired = self._equal(document, stored)

    def _count(self, difference: Difference) -> None:
        field = {MISSING: "missing", DIFFERENT: "different", CHANGED: "changed_during_verify"}[
            difference.kind
        ]
        setattr(self.report, field, getattr(self.report, field) + 1)
        count_reason(self.report, difference)
        if difference.repaired:
            self.report.repaired += 1

    def _map(self, path: str, data: dict[str, Any], content: bool) -> MappedDocument:
        """The mapped document, or only its key unless `content`. Raises MappingError."""
        if content:
            return map_document(self.spec, path, data)
        key = upsert_key(self.spec, path, data)
        return MappedDocument(path, key, dict(key))

    def _stored(self, documents: list[MappedDocument]) -> list[dict[str, Any] | None]:
        return self.comparer.stored(documents, self._projection)

    def _equal(self, document: MappedDocument, stored: dict[str, Any] | None) -> bool:
        if not self.full:
            return stored is not None
        return compare(self.spec, document, stored).kind == UNCHANGED

    def _difference(self, document: MappedDocument, stored: dict[str, Any] | None) -> Difference:
        if stored is None:
            return Difference(MISSING, document.key, document.path)
        return Difference.of_change(DIFFERENT, compare(self.spec, document, stored), stored)


def settle_conflicts(
    spec: CollectionSpec, ledger: LocalKeyLedger, store: DifferenceStore, report: VerifyReport
) -> list:
    """Name each key conflict's losers (not compared: the contract migrates the winner),
    and take back what a partition recorded for a loser before it heard of the winner.
    Returns the winners, one per conflicted key."""
    winners = []
    for encoded, claims in ledger.conflicts():
        winner, *losers = claims
        winners.append(winner)
        key = decode_key(spec, encoded)
        for loser in losers:
            record = store.remove(loser.path)
            if record is not None and record["kind"] in (MISSING, DIFFERENT, CHANGED):
                field = "changed_during_verify" if record["kind"] == CHANGED else record["kind"]
                setattr(report, field, getattr(report, field) - 1)
                report.repaired -= bool(record.get("repaired"))
                count_reason(report, Difference(**{name: record.get(name) for name in RECORD_FIELDS}), -1)
            count_conflict(report, loser.path, key, winner.path)
            store.add(
                [
                    Difference(
                        CONFLICT,
                        key,
                        loser.path,
                        reason=f"same key as {winner.path}, which the migration writes instead",
                    )
                ]
            )
    return winners


def find_extras(
    spec: CollectionSpec,
    collection,
    ledger: LocalKeyLedger,
    client,
    store: DifferenceStore,
    report: VerifyReport,
    batch_size: int,
    timeout: float,
    prune: bool,
) -> None:
    """MongoDB documents whose key no source document claimed in this run: every key of
    the collection looked up in the ledger, and the missing ones judged (`judge_extras`)."""
    from include.firestore_to_mongo.keys.deletions import stale_keys

    for keys in stale_keys(collection, spec.key_fields, ledger, batch_size):
        # One key twice means MongoDB holds two documents with it (only possible without
        # the migration's unique index): look it up once.
        keys = [dict(zip(spec.key_fields, key, strict=True)) for key in dict.fromkeys(keys)]
        judge_extras(spec, collection, keys, client, store, report, timeout, prune)


def judge_extras(
    spec: CollectionSpec,
    collection,
    keys: list[dict[str, Any]],
    client,
    store: DifferenceStore,
    report: VerifyReport,
    timeout: float,
    prune: bool,
) -> None:
    """Keys (distinct) that no source document claims, re-checked: a key whose source
    document exists now, or whose MongoDB document is gone now, moved during the verify;
    the rest are extra. With `prune`, the extra ones are deleted, and counted as pruned
    once a look-up no longer finds them."""
    comparer = Comparer(collection, spec)
    appeared = _sources_now(spec, client, keys, timeout)
    still = present_keys(comparer, spec, keys)
    differences = []
    for key in keys:
        encoded = encode_key(key.values())
        if encoded in appeared:
            appearing = Difference(
                CHANGED, key, appeared[encoded], reason="its source appeared during the verify"
            )
            differences.append(count_reason(report, appearing))
            report.changed_during_verify += 1
        elif encoded in still:
            differences.append(count_reason(report, Difference(EXTRA, key, None)))
            report.extra += 1
    extras = [difference for difference in differences if difference.kind == EXTRA]
    if prune and extras:
        collection.delete_many({"$or": [difference.key for difference in extras]})
        remaining = present_keys(comparer, spec, [difference.key for difference in extras])
        for difference in extras:
            difference.repaired = encode_key(difference.key.values()) not in remaining
            report.pruned += difference.repaired
    store.add(differences)


def present_keys(comparer: Comparer, spec: CollectionSpec, keys: list[dict[str, Any]]) -> set[str]:
    """The keys (as JSON) that MongoDB holds now, in one find."""
    documents = [MappedDocument("", key, {}) for key in keys]
    projection = dict.fromkeys(spec.key_fields, 1) | {"_id": 0}
    return {
        encode_key(key.values())
        for key, stored in zip(keys, comparer.stored(documents, projection), strict=True)
        if stored is not None
    }


def _sources_now(spec: CollectionSpec, client, keys: list[dict[str, Any]], timeout: float) -> dict[str, str]:
    """Key (as JSON) → path, for the keys whose own source document exists now (the
    document at the path the key names, and it names that key)."""
    paths = {}
    for key in keys:
        ids = (*(key[name] for name in spec.path_fields), key[spec.id_field])
        if (path := path_from_ids(ids, spec.path_shape)) is not None:
            paths[path] = encode_key(key.values())
    if not paths:
        return {}
    found = {}
    for snapshot in read_by_paths(client, list(paths), timeout, f"reading {spec.name}'s extra keys' sources"):
        if not snapshot.exists:
            continue
        path = snapshot.reference.path
        try:
            key = upsert_key(spec, path, snapshot.to_dict() or {})
        except MappingError:
            continue
        if encode_key(key.values()) == paths[path]:
            found[paths[path]] = path
    return found
