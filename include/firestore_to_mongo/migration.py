"""Move one collection: read pages, map each document, write each batch, keep the figures."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Protocol

from include.firestore_to_mongo.firestore_reader import Page
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


def migrate_collection(
    spec: CollectionSpec,
    pages: Iterable[Page],
    writer: BatchWriter,
    dry_run: bool,
    progress: ProgressLog | None = None,
) -> CollectionReport:
    """Migrate every document `pages` yields and return the figures.

    A document that can't be mapped or written is logged with its path and the
    reason, counted as failed, and the rest carry on. Errors that concern the
    whole backend (a lost connection, say) propagate: the task fails and its
    retry starts over, which the upserts make safe.
    """
    report = CollectionReport(collection=spec.name, target=spec.target, dry_run=dry_run)
    progress = progress or ProgressLog(spec.name, log)
    samples_left = DRY_RUN_SAMPLES if dry_run else 0
    writer.prepare()
    for page in pages:
        report.read += len(page.documents)
        report.out_of_scope += page.out_of_scope
        batch = _map_page(spec, page, report)
        if batch:
            _record(writer.write(batch), report)
        for document in batch[:samples_left]:
            log.info("%s: dry-run sample %s → %s", spec.name, document.path, _as_json(document.fields))
        samples_left = max(0, samples_left - len(batch))
        progress.update(report.read)
    progress.done(report.read)
    report.seconds = round(progress.elapsed(), 3)
    if report.out_of_scope:
        log.info(
            "%s: left out %d documents outside %s",
            spec.name,
            report.out_of_scope,
            "/".join(segment or "{id}" for segment in spec.path_shape),
        )
    return report


def _map_page(spec: CollectionSpec, page: Page, report: CollectionReport) -> list[MappedDocument]:
    batch = []
    for source in page.documents:
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
