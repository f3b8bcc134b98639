"""The in-process measurements: bare reads (Firestore, and MongoDB by key), bare writes,
and the mapping's CPU cost."""

from __future__ import annotations

import statistics
import time

from pymongo import ASCENDING, InsertOne

from include.firestore_to_mongo.contract.mapping import MappedDocument, map_document
from include.firestore_to_mongo.contract.specs import MESSAGES

PAGE_SIZE = 1000
WRITE_BATCH = 1000
KEY_BATCH = 1000
CPU_PASSES = 3


def raw_read(client) -> int:
    """Read the messages collection group in pages of 1,000 ordered by name; return how many."""
    query = client.collection_group(MESSAGES.source_collection).order_by("__name__")
    last, count = None, 0
    while True:
        page = query.limit(PAGE_SIZE)
        if last is not None:
            page = page.start_after(last)
        snapshots = list(page.stream())
        count += len(snapshots)
        if len(snapshots) < PAGE_SIZE:
            return count
        last = snapshots[-1]


def map_all(sources: list[tuple[str, dict]]) -> list[MappedDocument]:
    return [map_document(MESSAGES, path, data) for path, data in sources]


def create_key_index(collection) -> None:
    """The unique index the product creates on avatar_conversations' upsert key."""
    collection.create_index([(name, ASCENDING) for name in MESSAGES.key_fields], unique=True)


def raw_write(collection, documents: list[MappedDocument]) -> int:
    """Insert pre-mapped documents in unordered bulk writes of 1,000 (the cheapest write
    of a new document, and the one the product makes for a document MongoDB lacks);
    return how many were inserted."""
    inserted = 0
    for start in range(0, len(documents), WRITE_BATCH):
        requests = [InsertOne(dict(doc.fields)) for doc in documents[start : start + WRITE_BATCH]]
        inserted += collection.bulk_write(requests, ordered=False).inserted_count
    return inserted


def key_queries(documents: list[MappedDocument]) -> list[dict]:
    """One find filter per 1,000 keys, in Firestore's name order (the order the verify
    reads pages in), each shaped as the product's Comparer._query builds it: one clause
    per conversation, its message ids in an $in (a single clause needs no $or)."""
    *parents, last = MESSAGES.key_fields
    ordered = sorted(documents, key=lambda doc: doc.path)
    queries = []
    for start in range(0, len(ordered), KEY_BATCH):
        ids: dict[tuple, list] = {}
        for doc in ordered[start : start + KEY_BATCH]:
            ids.setdefault(tuple(doc.key[name] for name in parents), []).append(doc.key[last])
        clauses = [
            dict(zip(parents, parent, strict=True)) | {last: {"$in": found}} for parent, found in ids.items()
        ]
        queries.append(clauses[0] if len(clauses) == 1 else {"$or": clauses})
    return queries


def raw_read_by_keys(collection, queries: list[dict]) -> int:
    """One find per filter, each cursor read to its end; return how many documents came back."""
    count = 0
    for query in queries:
        for _ in collection.find(query):
            count += 1
    return count


def mapping_cpu_seconds(sources: list[tuple[str, dict]]) -> float:
    """CPU seconds (time.process_time) to map_document every source, median of 3 passes."""
    map_all(sources[:1000])  # warm up
    timings = []
    for _ in range(CPU_PASSES):
        started = time.process_time()
        for path, data in sources:
            map_document(MESSAGES, path, data)
        timings.append(time.process_time() - started)
    return statistics.median(timings)
