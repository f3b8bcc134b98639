"""Read a Firestore collection, or a collection group, one bounded page at a time."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.source.cursor_ranges import ISO_DOMAIN, CursorRange, plan_cursor_ranges
from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.source.faults import ONE_TRY, read_through_faults
from include.firestore_to_mongo.source.partitions import Partition
from include.firestore_to_mongo.source.rate_limit import ReadRateLimiter

# The earliest instant Firestore stores: `cursor >= FIRST_INSTANT` matches every
# Timestamp-typed cursor value and nothing else (`>= -inf` does the same for numbers).
FIRST_INSTANT = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class SourceDocument:
    path: str
    data: dict[str, Any]
    update_time: datetime | None


@dataclass(frozen=True)
class ReadPosition:
    """Where a read stopped: the last document returned, its cursor value when the read
    is ordered by one, and which of the read's cursor ranges it was in. Enough to resume
    the same read after it."""

    path: str
    cursor_value: Any = None
    range_index: int = 0


@dataclass(frozen=True)
class Page:
    documents: list[SourceDocument]
    # Documents the query returned outside the migrated paths, such as
    # users/{uid}/conversations/{cid} in the `conversations` collection group.
    out_of_scope: int
    position: ReadPosition


def source_of(client: firestore.Client, spec: CollectionSpec):
    """The collection, or for subcollections the collection group, that `spec` reads."""
    if spec.is_group:
        return client.collection_group(spec.source_collection)
    return client.collection(spec.source_collection)


def build_queries(
    client: firestore.Client,
    spec: CollectionSpec,
    since: datetime | None = None,
    partition: Partition | None = None,
    fields: list[str] | None = None,
) -> list:
    """The ordered queries that read `spec` (within `partition`, when given), in order.

    Without `since`: one query, every document ordered by name, within the partition's
    name range. With `since`: one query per cursor range (see cursor_ranges: a Firestore
    range filter matches one value type, so Timestamps, epoch numbers and ISO strings
    each need their own), each ordered by cursor then name, bounded by the partition's
    time window when it has one. `fields` projects the documents (an empty list: names only).
    """
    source = source_of(client, spec)
    if fields is not None:
        source = source.select(fields)
    if since is None:
        query = source.order_by("__name__")
        if partition is not None and partition.start is not None:
            query = query.start_at({"__name__": client.document(partition.start)})
        if partition is not None and partition.end is not None:
            query = query.end_before({"__name__": client.document(partition.end)})
        return [query]
    if spec.cursor_field is None:
        raise ValueError(f"{spec.name} has no change cursor to read from {since}")
    until = None
    first = True
    if partition is not None and partition.since is not None:
        since, until, first = partition.since, partition.until, partition.index == 0
    return [
        cursor_query(source, spec.cursor_field, cursor_range)
        for cursor_range in plan_cursor_ranges(since, until, first)
    ]


def cursor_query(source, field: str, cursor_range: CursorRange):
    """`source` filtered to one cursor range, ordered by cursor then name."""
    query = source.where(filter=FieldFilter(field, ">=", cursor_range.lower))
    if cursor_range.upper is not None:
        operator = "<=" if cursor_range.upper_inclusive else "<"
        query = query.where(filter=FieldFilter(field, operator, cursor_range.upper))
    return query.order_by(field).order_by("__name__")


def read_pages(
    client: firestore.Client,
    spec: CollectionSpec,
    page_size: int,
    timeout: float,
    since: datetime | None = None,
    resume_after: ReadPosition | None = None,
    partition: Partition | None = None,
    limiter: ReadRateLimiter | None = None,
    fields: list[str] | None = None,
) -> Iterator[Page]:
    """Yield the collection's documents in pages of at most `page_size`.

    Each page is its own short query, ordered by document name (or by change
    cursor, then name, when reading `since` an instant) and resumed after the
    previous page's last document: no stream stays open for the whole
    collection, no offsets are used, and memory holds one page at a time.
    An incremental read runs its cursor ranges one after another.
    `resume_after` continues a read that stopped there. A page is read again on
    transient faults (from the same position: safe to repeat) for up to `timeout`
    seconds; a page that can't be read raises SourceUnavailableError.
    """
    queries = build_queries(client, spec, since, partition, fields)
    first = resume_after.range_index if resume_after is not None else 0
    for index in range(first, len(queries)):
        yield from _pages(
            client,
            spec,
            queries[index],
            index,
            page_size,
            timeout,
            ordered_by_cursor=since is not None,
            resume_after=resume_after if index == first else None,
            limiter=limiter,
        )


def _data_of(snapshot) -> dict:
    """A snapshot's data without `to_dict()`'s deep copy, which took a third of a page's
    client CPU. Safe: the page's snapshots are dropped once their data is taken, and the
    mapping changes nothing it is given."""
    data = getattr(snapshot, "_data", None)
    return data if isinstance(data, dict) else snapshot.to_dict() or {}


def _pages(
    client,
    spec,
    query,
    index: int,
    page_size: int,
    timeout: float,
    ordered_by_cursor: bool,
    resume_after,
    limiter,
) -> Iterator[Page]:
    position = resume_after
    while True:
        page_query = query.limit(page_size)
        if position is not None:
            page_query = page_query.start_after(_cursor(client, spec, ordered_by_cursor, position))
        if limiter is not None:
            limiter.acquire(page_size)
        try:
            snapshots = read_through_faults(
                client,
                f"reading a page of {spec.name}",
                timeout,
                lambda page_query=page_query: list(page_query.stream(timeout=timeout, retry=ONE_TRY)),
            )
        except google_exceptions.GoogleAPIError as error:
            raise SourceUnavailableError(
                f"reading {spec.name} from Firestore failed within {timeout:g} s: {error}"
            ) from error
        if not snapshots:
            return
        documents = [
            SourceDocument(snap.reference.path, _data_of(snap), snap.update_time)
            for snap in snapshots
            if ids_from_path(snap.reference.path, spec.path_shape) is not None
        ]
        last = snapshots[-1]
        position = ReadPosition(
            path=last.reference.path,
            cursor_value=last.get(spec.cursor_field) if ordered_by_cursor else None,
            range_index=index,
        )
        yield Page(documents, out_of_scope=len(snapshots) - len(documents), position=position)
        if len(snapshots) < page_size:
            return


def _cursor(
    client: firestore.Client, spec: CollectionSpec, ordered_by_cursor: bool, position: ReadPosition
) -> dict:
    cursor: dict[str, Any] = {"__name__": client.document(position.path)}
    if ordered_by_cursor:
        cursor = {spec.cursor_field: position.cursor_value, **cursor}
    return cursor


def count_without_cursor(client: firestore.Client, spec: CollectionSpec, timeout: float) -> int | None:
    """How many documents an incremental read can never see: those whose change cursor is
    missing, null, or of a form no cursor range matches (a free-text date, a map, ...).
    Count aggregations only, so cheap (Firestore bills one read per 1,000 index
    entries). For a collection group the figure includes same-named subcollections
    outside the migrated paths. None when counting fails."""
    if spec.cursor_field is None:
        return None
    source = source_of(client, spec)
    field = spec.cursor_field
    visible = [
        source.where(filter=FieldFilter(field, ">=", FIRST_INSTANT)),
        source.where(filter=FieldFilter(field, ">=", -math.inf)),
        source.where(filter=FieldFilter(field, ">=", ISO_DOMAIN[0])).where(
            filter=FieldFilter(field, "<", ISO_DOMAIN[1])
        ),
    ]
    try:
        total, *seen = (
            read_through_faults(
                client,
                f"counting {spec.name}'s documents without a cursor",
                timeout,
                lambda query=query: query.count().get(retry=ONE_TRY, timeout=timeout)[0][0].value,
            )
            for query in [source, *visible]
        )
    except (google_exceptions.GoogleAPIError, SourceUnavailableError):
        return None
    # int(): the emulator answers some counts as doubles (14.0).
    return int(total - sum(seen))


# Bounds of every name under a top-level collection, for a collection group's count:
# Firestore sorts numeric ids (`__id<n>__`) before string ids, and a collection named
# "<parent>\0" right after "<parent>".
SMALLEST_ID = "__id-9223372036854775808__"


def count_on_paths(client: firestore.Client, spec: CollectionSpec, timeout: float) -> int:
    """How many documents the migration reads, from one count aggregation (Firestore
    bills one read per 1,000 index entries counted). A collection group is counted
    under its top-level parent (`digital_twins/...`), so same-named subcollections
    elsewhere (`users/{uid}/conversations`) are left out, as the reader leaves them out;
    those at other depths under the parent, which no app writes, would be counted."""
    source = source_of(client, spec)
    if spec.is_group:
        parent = spec.path_shape[0]
        source = source.where(
            filter=FieldFilter("__name__", ">=", client.document(parent, SMALLEST_ID))
        ).where(filter=FieldFilter("__name__", "<", client.document(f"{parent}\0", "_")))
    try:
        result = read_through_faults(
            client,
            f"counting {spec.name}",
            timeout,
            lambda: source.count().get(retry=ONE_TRY, timeout=timeout),
        )
    except google_exceptions.GoogleAPIError as error:
        raise SourceUnavailableError(
            f"counting {spec.name} in Firestore failed within {timeout:g} s: {error}"
        ) from error
    # int(): the emulator answers some counts as doubles.
    return int(result[0][0].value)


def read_by_paths(client: firestore.Client, paths: list[str], timeout: float, what: str) -> list:
    """The snapshots of the documents at `paths` (one batched read; a snapshot of a
    document that doesn't exist has `exists` False), read again whole on transient faults
    for up to `timeout` seconds: a read by path is safe to repeat. `what` names the read
    in the log and in the error, a SourceUnavailableError, when it fails."""
    references = [client.document(path) for path in paths]
    try:
        return read_through_faults(
            client, what, timeout, lambda: list(client.get_all(references, retry=ONE_TRY, timeout=timeout))
        )
    except google_exceptions.GoogleAPIError as error:
        raise SourceUnavailableError(f"Firestore {what}: {error}") from error
