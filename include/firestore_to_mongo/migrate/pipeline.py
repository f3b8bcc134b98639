"""Move one collection: read pages, map each document, write each batch, keep the figures."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from include.firestore_to_mongo.contract.mapping import MappedDocument, MappingError, map_document, upsert_key
from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.keys.conflicts import ConflictGuard
from include.firestore_to_mongo.migrate.report import CollectionReport
from include.firestore_to_mongo.source.reader import Page, SourceDocument
from include.firestore_to_mongo.target.writer import INSERT, UNCHANGED, UPDATE, Change, WriteOutcome
from include.firestore_to_mongo.util.prefetch import prefetched
from include.firestore_to_mongo.util.progress import ProgressLog
from include.firestore_to_mongo.util.quoting import shorten

log = logging.getLogger(__name__)

DRY_RUN_SAMPLES = 3


class BatchWriter(Protocol):
    def prepare(self) -> None: ...

    def write(self, documents: list[MappedDocument]) -> WriteOutcome: ...


def changed_since(threshold: datetime) -> Callable[[SourceDocument], bool]:
    """A filter keeping documents whose Firestore update_time is at or after `threshold`."""

    def keep(document: SourceDocument) -> bool:
        return document.update_time is None or document.update_time >= threshold

    return keep


def migrate_collection(
    spec: CollectionSpec,
    pages: Iterable[Page],
    writer: BatchWriter,
    report: CollectionReport,
    progress: ProgressLog | None = None,
    keep: Callable[[SourceDocument], bool] | None = None,
    on_page_written: Callable[[Page, CollectionReport], None] | None = None,
    conflicts: ConflictGuard | None = None,
) -> CollectionReport:
    """Migrate every document `pages` yields, adding to `report`'s figures.

    A document that can't be mapped or written is logged with its path and the
    reason, counted as failed, and the rest carry on. Documents that `keep`
    turns down are read but not written (`skipped`). With `conflicts`, every
    document read claims its key, and only the claimants that win are written.
    `on_page_written` runs once a page is fully written: the place to checkpoint.
    Errors that concern a whole backend (a lost connection, say) propagate: the
    task fails, and its retry resumes from the last checkpoint, which the keyed,
    comparing writes make safe.
    """
    progress = progress or ProgressLog(spec.name, log)
    samples = DrySamples(spec.name) if report.dry_run else None
    writer.prepare()
    with progress.heartbeat():
        _migrate_pages(spec, pages, writer, report, progress, keep, on_page_written, conflicts, samples)
    progress.done(report.read)
    if report.out_of_scope:
        log.info(
            "%s: left out %d documents outside %s",
            spec.name,
            report.out_of_scope,
            "/".join(segment or "{id}" for segment in spec.path_shape),
        )
    return report


@dataclass
class _Prepared:
    """A page read, mapped and claimed, with its read-side figures, ready to be written."""

    page: Page
    batch: list[MappedDocument]
    figures: CollectionReport


def _migrate_pages(spec, pages, writer, report, progress, keep, on_page_written, conflicts, samples) -> None:
    # Two stages, overlapped: the next page is mapped and its keys claimed (in a
    # background thread) while this one is written. `report` only ever holds pages that
    # are written, so a checkpoint never counts a page its retry will read again.
    for prepared in prefetched(_prepare(spec, pages, keep, conflicts, report), name="map-and-claim"):
        report.add_counts(prepared.figures)
        if prepared.batch:
            outcome = writer.write(prepared.batch)
            _record(outcome, report)
            if samples is not None:
                samples.log(outcome.changes)
        if on_page_written is not None:
            on_page_written(prepared.page, report)
        progress.update(report.read, prepared.page.position.path)


def _prepare(spec, pages, keep, conflicts, report: CollectionReport) -> Iterator[_Prepared]:
    for page in pages:
        figures = CollectionReport(collection=report.collection, target=report.target, dry_run=report.dry_run)
        figures.pages = 1
        figures.read = len(page.documents)
        figures.out_of_scope = page.out_of_scope
        wanted, left_alone = _split(page.documents, keep)
        figures.skipped = len(left_alone)
        for document in left_alone:
            # Read, not written this run: their dropped keys are still this run's to report.
            figures.dropped_keys.add(document.path, spec.dropped_keys(document.data))
        batch = _map_documents(spec, wanted, figures)
        if conflicts is not None:
            batch = conflicts.winners(batch, _keys(spec, left_alone))
        yield _Prepared(page, batch, figures)


def _split(
    documents: list[SourceDocument], keep: Callable[[SourceDocument], bool] | None
) -> tuple[list[SourceDocument], list[SourceDocument]]:
    """(to write, to leave alone): `keep` asked once per document."""
    if keep is None:
        return documents, []
    wanted, left_alone = [], []
    for document in documents:
        (wanted if keep(document) else left_alone).append(document)
    return wanted, left_alone


def _keys(spec: CollectionSpec, documents: list[SourceDocument]) -> list[tuple[dict, str]]:
    """(key, path) of documents that are read but not written; those whose key can't be
    worked out claim nothing (they were counted when they were written)."""
    keys = []
    for document in documents:
        try:
            keys.append((upsert_key(spec, document.path, document.data), document.path))
        except MappingError:
            continue
    return keys


class DrySamples:
    """Logs the first few documents a dry run would insert, update, and leave unchanged."""

    def __init__(self, name: str, per_kind: int = DRY_RUN_SAMPLES) -> None:
        self.name = name
        self.left = dict.fromkeys((INSERT, UPDATE, UNCHANGED), per_kind)

    def log(self, changes: list[Change]) -> None:
        for change in changes:
            if not self.left[change.kind]:
                continue
            self.left[change.kind] -= 1
            path = change.document.path
            if change.kind == INSERT:
                log.info(
                    "%s: dry run: would insert %s → %s", self.name, path, _as_json(change.document.fields)
                )
            elif change.kind == UPDATE:
                changed = {name: change.document.fields[name] for name in change.changed}
                log.info(
                    "%s: dry run: would update %s: set %s; remove %s",
                    self.name,
                    path,
                    _as_json(changed),
                    change.removed or "nothing",
                )
            else:
                log.info("%s: dry run: %s is unchanged", self.name, path)


def _map_documents(
    spec: CollectionSpec, documents: list[SourceDocument], report: CollectionReport
) -> list[MappedDocument]:
    batch = []
    for source in documents:
        try:
            mapped = map_document(spec, source.path, source.data)
        except MappingError as error:
            log.error("%s: can't migrate %s: %s", spec.name, source.path, shorten(str(error)))
            report.record_failure(source.path, str(error))
            continue
        for warning in mapped.warnings:
            log.warning("%s: %s: %s", spec.name, source.path, warning)
            report.record_warning(source.path, warning)
        report.dropped_keys.add(source.path, mapped.dropped)
        batch.append(mapped)
    return batch


def _record(outcome: WriteOutcome, report: CollectionReport) -> None:
    report.inserted += outcome.inserted
    report.updated += outcome.updated
    report.unchanged += outcome.unchanged
    for path, reason in outcome.failures:
        log.error("%s: can't write %s: %s", report.collection, path, shorten(reason))
        report.record_failure(path, reason)


def _as_json(fields: dict) -> str:
    return shorten(json.dumps(fields, default=str, ensure_ascii=False, sort_keys=True))
