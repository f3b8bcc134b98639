"""Read a Firestore collection, or a collection group, one bounded page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.cloud import firestore

from include.firestore_to_mongo.paths import ids_from_path
from include.firestore_to_mongo.specs import CollectionSpec

# Seconds one page request may take before it fails; bounded so an unreachable
# backend turns into a task failure (and a retry), not a hang.
DEFAULT_PAGE_TIMEOUT = 60.0


@dataclass(frozen=True)
class SourceDocument:
    path: str
    data: dict[str, Any]
    update_time: datetime | None


@dataclass(frozen=True)
class Page:
    documents: list[SourceDocument]
    # Documents the query returned outside the migrated paths, such as
    # users/{uid}/conversations/{cid} in the `conversations` collection group.
    out_of_scope: int


def base_query(client: firestore.Client, spec: CollectionSpec):
    source = (
        client.collection_group(spec.source_collection)
        if spec.is_group
        else client.collection(spec.source_collection)
    )
    return source.order_by("__name__")


def read_pages(
    client: firestore.Client,
    spec: CollectionSpec,
    page_size: int,
    timeout: float = DEFAULT_PAGE_TIMEOUT,
) -> Iterator[Page]:
    """Yield the collection's documents in pages of at most `page_size`.

    Each page is its own short query ordered by document name and resumed after
    the previous page's last snapshot: no stream stays open for the whole
    collection, no offsets are used, and memory holds one page at a time.
    """
    query = base_query(client, spec)
    cursor = None
    while True:
        page_query = query.limit(page_size)
        if cursor is not None:
            page_query = page_query.start_after(cursor)
        snapshots = list(page_query.stream(timeout=timeout))
        if not snapshots:
            return
        documents = [
            SourceDocument(snap.reference.path, snap.to_dict() or {}, snap.update_time)
            for snap in snapshots
            if ids_from_path(snap.reference.path, spec.path_shape) is not None
        ]
        yield Page(documents, out_of_scope=len(snapshots) - len(documents))
        if len(snapshots) < page_size:
            return
        cursor = snapshots[-1]
