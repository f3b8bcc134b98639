"""Split a collection's read into parts that separate task instances can do side by side."""

from __future__ import annotations

import itertools
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from google.api_core import exceptions as google_exceptions
from google.cloud import firestore

from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.contract.timestamps import fromisoformat_or_none, isoformat_or_none
from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.source.faults import ONE_TRY, read_through_faults

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Partition:
    """One part of a collection's read: a document-name range, or a change-cursor window.

    `start` (inclusive) and `end` (exclusive) are document paths, None meaning
    open. `since` (inclusive) and `until` (exclusive) bound a change-cursor
    window; the last window stays open to catch clocks running ahead.
    """

    index: int
    count: int
    method: str
    start: str | None = None
    end: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def to_dict(self) -> dict:
        return asdict(self) | {name: isoformat_or_none(getattr(self, name)) for name in ("since", "until")}

    @classmethod
    def from_dict(cls, data: dict) -> Partition:
        return cls(**(data | {name: fromisoformat_or_none(data.get(name)) for name in ("since", "until")}))


def plan_partitions(
    client: firestore.Client,
    spec: CollectionSpec,
    wanted: int,
    read_since: datetime | None,
    now: datetime,
    timeout: float,
) -> list[Partition]:
    """Up to `wanted` partitions covering the whole read, without gaps or overlaps.

    - One partition for a plain collection (users, digital_twins), or when one is wanted.
    - Incremental reads: equal windows of the change cursor between `read_since` and now.
    - Full reads of a collection group: Firestore's PartitionQuery where the backend
      has it; otherwise (the emulator answers 501) ranges of parent twins.
    """
    if wanted <= 1 or not spec.is_group:
        return [Partition(0, 1, "single")]
    if read_since is not None:
        return _time_windows(wanted, read_since, now)
    try:
        ranges = _partition_query_ranges(client, spec, wanted, timeout)
        method = "PartitionQuery"
    except google_exceptions.MethodNotImplemented as error:
        log.info("%s: PartitionQuery unavailable (%s); splitting by parent twins", spec.name, error)
        ranges = _twin_ranges(client, wanted, timeout)
        method = "twin ranges"
    partitions = [
        Partition(index, len(ranges), method, start=start, end=end)
        for index, (start, end) in enumerate(ranges)
    ]
    log.info("%s: %d partitions by %s", spec.name, len(partitions), method)
    return partitions


def _time_windows(wanted: int, since: datetime, now: datetime) -> list[Partition]:
    if now <= since:
        return [Partition(0, 1, "time windows")]
    step = (now - since) / wanted
    starts = [since + step * index for index in range(wanted)]
    return [
        Partition(
            index,
            wanted,
            "time windows",
            since=start,
            until=starts[index + 1] if index + 1 < wanted else None,
        )
        for index, start in enumerate(starts)
    ]


def _partition_query_ranges(client, spec: CollectionSpec, wanted: int, timeout: float):
    group = client.collection_group(spec.source_collection)
    parts = read_through_faults(
        client,
        f"splitting {spec.name}",
        timeout,
        lambda: list(group.get_partitions(wanted, retry=ONE_TRY, timeout=timeout)),
    )
    return [
        (part.start_at.path if part.start_at else None, part.end_at.path if part.end_at else None)
        for part in parts
    ]


def _twin_ranges(client, wanted: int, timeout: float) -> list[tuple[str | None, str | None]]:
    """Ranges of document names split at twin documents. Every name falls in exactly one
    range, so messages under a deleted twin (or anywhere else) are still read once.

    The cuts come in Firestore's own name order, never sorted here: Firestore orders
    ids of the form `__id<n>__` as numbers, before every string id, which no sort of
    the paths as strings reproduces, and ranges cut in another order overlap.
    """
    query = client.collection("digital_twins").select([]).order_by("__name__")
    twins = [
        snapshot.reference.path
        for snapshot in read_through_faults(
            client,
            "reading the twins' names",
            timeout,
            lambda: list(query.stream(retry=ONE_TRY, timeout=timeout)),
        )
    ]
    if not twins:
        # Messages under twin documents that don't exist (never created, or deleted while
        # their subcollections stayed): no cut to make, so one range holds them all.
        return [(None, None)]
    # In Firestore's order already: picking at rising indexes keeps it.
    cuts = list(dict.fromkeys(twins[len(twins) * k // wanted] for k in range(1, wanted)))
    cuts = [cut for cut in cuts if cut != twins[0]]
    return list(itertools.pairwise([None, *cuts, None]))


def split(
    client, spec: CollectionSpec, partitions: int, read_since: datetime | None, now: datetime, timeout: float
) -> list[Partition]:
    """The collection's read split into up to `partitions` partitions; a Firestore failure
    becomes a SourceUnavailableError that says what was being done."""
    try:
        return plan_partitions(client, spec, partitions, read_since, now, timeout)
    except google_exceptions.GoogleAPIError as error:
        raise SourceUnavailableError(
            f"splitting {spec.name} into partitions: Firestore failed: {error}"
        ) from error
