"""Apply a micro-batch of Listen events to MongoDB, as the migration would write them.

Each changed document goes through the contract's mapping, the key-conflict rule and
the migration's comparing writer (`$set`/`$unset` upserts, inserts); a deleted one is
deleted by the key capture last wrote for it. What capture applied at each path (its
`update_time`, its key) is kept (`capture.versions`), so that a document Firestore
resends unchanged, as a reset does, is not written again, and a path that a complete
resent set lacks can be deleted. Every path applied is journaled (`target.change_journal`).

The order of the writes within a batch doesn't matter: a batch holds at most one event
per path (the last), and claims are judged against what every path holds once the whole
batch is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from include.firestore_to_mongo.capture.figures import CaptureFigures
from include.firestore_to_mongo.capture.versions import LocalVersions
from include.firestore_to_mongo.contract.claims import Claim, decode_key, encoded_key_text
from include.firestore_to_mongo.contract.mapping import (
    MappedDocument,
    MappingError,
    encode_key,
    map_document,
    owns_its_key,
)
from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import SPECS, CollectionSpec
from include.firestore_to_mongo.source.listen import DocumentChanged, DocumentGone, PathSet
from include.firestore_to_mongo.target.capture_state import CaptureState, PathVersion
from include.firestore_to_mongo.target.change_journal import (
    DELETED,
    FAILED,
    INSERTED,
    UNCHANGED,
    UPDATED,
    ChangeJournal,
    JournalEntry,
)
from include.firestore_to_mongo.target.writer import INSERT, UPDATE, UpsertWriter
from include.firestore_to_mongo.util.quoting import shorten

log = logging.getLogger(__name__)

Change = DocumentChanged | DocumentGone
# Reads documents by path from Firestore again: only when a key conflict's winner must be
# rewritten (its claimant was deleted or moved to another key).
Reread = Callable[[str, list[str]], list[Change]]


class Applier:
    def __init__(
        self,
        database,
        versions: LocalVersions,
        state: CaptureState,
        journal: ChangeJournal,
        figures: CaptureFigures,
        reread: Reread,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.database = database
        self.versions = versions
        self.state = state
        self.journal = journal
        self.figures = figures
        self.reread = reread
        self.clock = clock or (lambda: datetime.now(UTC))
        self.writers = {name: UpsertWriter(database[spec.target], spec) for name, spec in SPECS.items()}
        # Collections whose MongoDB keys were swept against a complete set in this task.
        self.swept: set[str] = set()

    def prepare(self) -> None:
        for writer in self.writers.values():
            writer.prepare()
        self.state.prepare()
        self.journal.prepare()

    def apply(self, events: list[Change]) -> None:
        """Apply one micro-batch, in stream order (the last event of each path counts)."""
        latest: dict[tuple[str, str], Change] = {}
        for event in events:
            latest.pop((event.collection, event.path), None)
            latest[(event.collection, event.path)] = event
        by_collection: dict[str, list[Change]] = {}
        for event in latest.values():
            by_collection.setdefault(event.collection, []).append(event)
        for name, changes in by_collection.items():
            self._apply(SPECS[name], changes)

    def close_set(self, collection: str, paths: PathSet, batch_size: int = 500) -> None:
        """A complete resent set of `collection`: every path capture holds live that the
        set lacks was deleted. The first complete set of each task also sweeps MongoDB for
        keys no live path claims (documents deleted before capture knew of them)."""
        spec = SPECS[collection]
        for live in self.versions.live(collection):
            gone = set(paths.missing([version.path for version in live]))
            for start in range(0, len(gone), batch_size):
                chunk = sorted(gone)[start : start + batch_size]
                self._apply(spec, [DocumentGone(collection, path) for path in chunk])
        if collection not in self.swept:
            self.swept.add(collection)
            self._sweep(spec, batch_size)

    def _apply(self, spec: CollectionSpec, changes: list[Change], rereading: bool = False) -> None:
        name = spec.name
        figures = self.figures[name]
        known = self.versions.get([change.path for change in changes])
        now = self.clock()
        updates: dict[str, PathVersion] = {}
        mapped: dict[str, tuple[MappedDocument, DocumentChanged]] = {}
        entries: list[JournalEntry] = []
        for change in changes:
            before = known.get(change.path)
            if ids_from_path(change.path, spec.path_shape) is None:
                figures.ignored += isinstance(change, DocumentChanged)
                continue
            if isinstance(change, DocumentGone):
                if before is not None and not before.deleted:
                    updates[change.path] = PathVersion(change.path, name, before.key, None, True)
                continue
            if (
                not rereading
                and before is not None
                and not before.deleted
                and before.update_time == change.update_time
            ):
                continue  # resent unchanged (a reset): written already (a loser read again was not)
            figures.seen += 1
            figures.last_change_at = max(filter(None, (figures.last_change_at, change.update_time)))
            try:
                document = map_document(spec, change.path, change.data)
            except MappingError as error:
                self._failed(name, change.path, str(error))
                entries.append(JournalEntry(name, change.path, change.update_time, FAILED, now))
                # The key is unknown: the MongoDB document under the old one stays, and is reported.
                updates[change.path] = PathVersion(change.path, name, None, change.update_time, False)
                continue
            for warning in document.warnings:
                log.warning("%s: %s: %s", name, change.path, warning)
            figures.dropped_keys.add(change.path, document.dropped)
            key = encode_key(document.key.values())
            mapped[change.path] = (document, change)
            updates[change.path] = PathVersion(change.path, name, key, change.update_time, False)
        winners, orphaned, rereads = self._judge(spec, known, updates, mapped, entries, now)
        self._write(spec, winners, entries)
        self._delete(spec, updates, orphaned, entries)
        self.journal.record(entries)
        self.state.set_versions(list(updates.values()))
        self.versions.set(updates.values())
        if rereads and not rereading:
            self._apply(spec, self.reread(name, sorted(rereads)), rereading=True)

    def _judge(self, spec, known, updates, mapped, entries, now):
        """The documents to write (those that win their key), the keys no path claims any
        more (to delete), and the paths that now win a key another path left (to read
        again and write)."""
        name = spec.name
        winners: list[tuple[MappedDocument, DocumentChanged]] = []
        for path, (document, change) in mapped.items():
            key = updates[path].key
            best = self._best(spec, key, updates)
            if best != path:
                reason = f"key conflict: {encoded_key_text(spec, key)} is also the key of {best}, which is migrated instead"
                self._failed(name, path, reason)
                entries.append(JournalEntry(name, path, change.update_time, FAILED, now))
                continue
            winners.append((document, change))
            displaced = self._best(spec, key, {})
            if displaced not in (None, path) and displaced not in updates:
                # The key's document so far, now beaten by this one: it stops being migrated.
                self._failed(
                    name,
                    displaced,
                    f"key conflict: {encoded_key_text(spec, key)} is also the key of {path}, which is migrated instead",
                )
        orphaned: set[str] = set()
        rereads: set[str] = set()
        for path, version in updates.items():
            before = known.get(path)
            if before is None or before.deleted or before.key is None:
                continue
            if before.key == version.key and not version.deleted:
                continue
            # The path left its key (deleted, or moved to another key): the key goes, unless
            # another path claims it, whose document is then migrated in its place.
            best = self._best(spec, before.key, updates)
            if best is None:
                orphaned.add(before.key)
            elif best not in mapped:
                rereads.add(best)
        return winners, orphaned, rereads

    def _best(self, spec: CollectionSpec, key: str, updates: dict[str, PathVersion]) -> str | None:
        """The path that wins `key` once this batch is applied (None: nobody claims it)."""
        claimants = {path for path in self.versions.claimants(spec.name, key) if path not in updates} | {
            path for path, version in updates.items() if version.key == key and not version.deleted
        }
        if not claimants:
            return None
        key_values = decode_key(spec, key)
        return min(claimants, key=lambda path: Claim(path, owns_its_key(spec, path, key_values)).rank)

    def _write(self, spec, winners, entries) -> None:
        if not winners:
            return
        name = spec.name
        figures = self.figures[name]
        outcome = self.writers[name].write([document for document, _ in winners])
        written = self.clock()
        times = {document.path: change.update_time for document, change in winners}
        failed = dict(outcome.failures)
        figures.inserted += outcome.inserted
        figures.updated += outcome.updated
        figures.unchanged += outcome.unchanged
        for write in outcome.changes:
            path = write.document.path
            if path in failed:
                self._failed(name, path, failed[path])
                entries.append(JournalEntry(name, path, times[path], FAILED, written))
                continue
            kind = {INSERT: INSERTED, UPDATE: UPDATED}.get(write.kind, UNCHANGED)
            entries.append(JournalEntry(name, path, times[path], kind, written))
            if kind != UNCHANGED and times[path] is not None:
                figures.lags.append(max(0.0, (written - times[path]).total_seconds()))

    def _delete(self, spec, updates, orphaned: set[str], entries) -> None:
        """Delete the documents of the keys no path claims any more; journal the deletes."""
        now = self.clock()
        entries.extend(
            JournalEntry(spec.name, path, None, DELETED, now)
            for path, version in updates.items()
            if version.deleted
        )
        collection = self.database[spec.target]
        for key in sorted(orphaned):
            self.figures[spec.name].deleted += collection.delete_one(decode_key(spec, key)).deleted_count

    def _sweep(self, spec: CollectionSpec, batch_size: int) -> None:
        from include.firestore_to_mongo.keys.deletions import find_and_prune
        from include.firestore_to_mongo.keys.ledger import LocalKeyLedger

        unknown = self.versions.unknown_keys(spec.name)
        if unknown:
            log.warning(
                "%s: %d documents can't be mapped, so their keys are unknown: MongoDB is not swept "
                "for documents deleted before capture knew them",
                spec.name,
                unknown,
            )
            return
        with LocalKeyLedger() as ledger:
            ledger.record([(key, Claim("", True)) for key in self.versions.live_keys(spec.name)])
            result = find_and_prune(
                self.database[spec.target], spec.key_fields, ledger, batch_size, prune=True
            )
        self.figures[spec.name].deleted += result.deleted
        if result.deleted:
            log.info(
                "%s: deleted %d MongoDB documents no live Firestore document has (e.g. %s)",
                spec.name,
                result.deleted,
                result.samples[:3],
            )

    def _failed(self, name: str, path: str, reason: str) -> None:
        log.error("%s: can't migrate %s: %s", name, path, shorten(reason))
        self.figures.failure(name, path, reason)
