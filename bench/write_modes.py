"""How to make MongoDB converge, measured: three ways to write the same batches.

    PYTHONPATH=. .venv/bin/python -m bench.write_modes      # BENCH_WRITE_N (default 20,000), BENCH_MONGODB_URI

- `$set only`: what the product did before it converged: `UpdateOne(key, {"$set": doc})`.
  It never removes a key, so it is the speed to beat, not an option.
- `compare, then write`: the product's UpsertWriter: one `find` on the batch's keys, then
  `$set` + `$unset` for the documents that differ, nothing for the others.
- `update pipeline`: one round trip, no read: `$replaceWith` of the stored document
  without its contract keys (named ones, and `system_prompt_*` by prefix) merged with
  the mapped document.

Each writes N messages into an empty collection, then the same N again (nothing
changed), then N with one in ten changed and one in ten having lost its `media`.
Documents are mapped before the clock starts. Figures are docs/s, and each mode's
ratio to `$set only` in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pymongo
from pymongo import UpdateOne

from bench.data import messages
from bench.phases import create_key_index
from include.firestore_to_mongo.contract.mapping import MappedDocument, map_document
from include.firestore_to_mongo.contract.specs import MESSAGES, CollectionSpec
from include.firestore_to_mongo.target.writer import UpsertWriter

BATCH = 1000


def set_only(collection, spec: CollectionSpec, batch: list[MappedDocument]) -> None:
    collection.bulk_write(
        [UpdateOne(doc.key, {"$set": doc.fields}, upsert=True) for doc in batch], ordered=False
    )


def compare_then_write(collection, spec: CollectionSpec, batch: list[MappedDocument]) -> None:
    UpsertWriter(collection, spec).write(batch)


def pipeline(collection, spec: CollectionSpec, batch: list[MappedDocument]) -> None:
    others_only = {
        "$arrayToObject": {
            "$filter": {
                "input": {"$objectToArray": "$$ROOT"},
                # $eq false rather than $not: the test server lacks $not in expressions.
                "cond": {
                    "$eq": [
                        False,
                        {
                            "$or": [
                                {"$in": ["$$this.k", sorted(spec.contract_keys)]},
                                *(
                                    {"$regexMatch": {"input": "$$this.k", "regex": f"^{prefix}"}}
                                    for prefix in spec.copied_prefixes
                                ),
                            ]
                        },
                    ]
                },
            }
        }
    }
    requests = [
        UpdateOne(
            doc.key,
            [{"$replaceWith": {"$mergeObjects": [others_only, {"$literal": doc.fields}]}}],
            upsert=True,
        )
        for doc in batch
    ]
    collection.bulk_write(requests, ordered=False)


MODES: dict[str, Callable] = {
    "$set only (no removal)": set_only,
    "compare, then write": compare_then_write,
    "update pipeline": pipeline,
}


def changed(sources: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    out = []
    for number, (path, data) in enumerate(sources):
        if number % 10 == 0:
            data = data | {"content": f"{data.get('content')} (edited)"}
        elif number % 10 == 1:
            data = {key: value for key, value in data.items() if key != "media"}
        out.append((path, data))
    return out


def timed(write, collection, documents: list[MappedDocument]) -> float:
    started = time.perf_counter()
    for start in range(0, len(documents), BATCH):
        write(collection, MESSAGES, documents[start : start + BATCH])
    return time.perf_counter() - started


def main() -> None:
    from devtools.servers import start_mongoeco

    n = int(os.environ.get("BENCH_WRITE_N", "20000"))
    uri = os.environ.get("BENCH_MONGODB_URI")
    server = None if uri else start_mongoeco()
    client = pymongo.MongoClient(uri or server.uri)
    try:
        sources = list(messages(n))
        first = [map_document(MESSAGES, path, data) for path, data in sources]
        edited = [map_document(MESSAGES, path, data) for path, data in changed(sources)]
        print(
            f"{n:,} messages, batches of {BATCH:,}, {'BENCH_MONGODB_URI' if uri else 'mongoeco (in memory)'}\n"
        )
        print(f"{'mode':<24}{'first write':>14}{'same again':>14}{'10% edited, 10% lost media':>30}")
        rates: dict[str, list[float]] = {}
        for name, write in MODES.items():
            database = client[f"firestore_to_mongo_write_modes_{abs(hash(name)) % 10_000}"]
            client.drop_database(database.name)
            create_key_index(database.avatar_conversations)
            seconds = [timed(write, database.avatar_conversations, docs) for docs in (first, first, edited)]
            rates[name] = [n / s for s in seconds]
            client.drop_database(database.name)
            print(
                f"{name:<24}"
                + "".join(f"{rate:>13,.0f}/s" for rate in rates[name][:2])
                + f"{rates[name][2]:>29,.0f}/s"
            )
        base = rates["$set only (no removal)"]
        print()
        for name, figures in rates.items():
            print(
                f"{name:<24}"
                + "".join(f"{rate / ref:>14.2f}×" for rate, ref in zip(figures, base, strict=True))
            )
    finally:
        client.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
