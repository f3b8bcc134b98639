"""Move one collection: read pages, map each document, write each batch, keep the figures."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from include.firestore_to_mongo.firestore_reader import Page, SourceDocument
from include.firestore_to_mongo.mapping import MappedDocument, MappingError, map_document
from include.firestore_to_mongo.mongo_writer import WriteOutcome
from include.firestore_to_mongo.progress import ProgressLog
from include.firestore_to_mongo.report import CollectionReport
from include.firestore_to_mongo.specs import CollectionSpec

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
) -> CollectionReport:
    """Migrate every document `pages` yields, adding to `report`'s figures.

    A document that can't be mapped or written is logged with its path and the
    reason, counted as failed, and the rest carry on. Documents that `keep`
    turns down are read but not written (`skipped`). `on_page_written` runs once a
    page is fully written: the place to checkpoint. Errors that concern a whole
    backend (a lost connection, say) propagate: the task fails, and its retry
    resumes from the last checkpoint, which the upserts make safe.
    """
    progress = progress or ProgressLog(spec.name, log)
    samples_left = DRY_RUN_SAMPLES if report.dry_run else 0
    writer.prepare()
    for page in pages:
        report.pages += 1
        report.read += len(page.documents)
        report.out_of_scope += page.out_of_scope
        wanted = [doc for doc in page.documents if keep is None or keep(doc)]
        report.skipped += len(page.documents) - len(wanted)
        batch = _map_documents(spec, wanted, report)
        if batch:
            _record(writer.write(batch), report)
        for document in batch[:samples_left]:
            log.info("%s: dry-run sample %s → %s", spec.name, document.path, _as_json(document.fields))
        samples_left = max(0, samples_left - len(batch))
        if on_page_written is not None:
            on_page_written(page, report)
        progress.update(report.read)
    progress.done(report.read)
    if report.out_of_scope:
        log.info(
            "%s: left out %d documents outside %s",
            spec.name,
            report.out_of_scope,
            "/".join(segment or "{id}" for segment in spec.path_shape),
        )
    return report


def _map_documents(
    spec: CollectionSpec, documents: list[SourceDocument], report: CollectionReport
) -> list[MappedDocument]:
    batch = []
    for source in documents:
        try:
            mapped = map_document(spec, source.path, source.data)
        except MappingError as error:
            log.error("%s: can't migrate %s: %s", spec.name, source.path, error)
            report.record_failure(source.path, str(error))
            continue
        for warning in mapped.warnings:
            log.warning("%s: %s: %s", spec.name, source.path, warning)
        report.warnings += len(mapped.warnings)
        batch.append(mapped)
    return batch


def _record(outcome: WriteOutcome, report: CollectionReport) -> None:
    report.inserted += outcome.inserted
    report.updated += outcome.updated
    report.unchanged += outcome.unchanged
    for path, reason in outcome.failures:
        log.error("%s: can't write %s: %s", report.collection, path, reason)
        report.record_failure(path, reason)


def _as_json(fields: dict) -> str:
    return json.dumps(fields, default=str, ensure_ascii=False, sort_keys=True)
