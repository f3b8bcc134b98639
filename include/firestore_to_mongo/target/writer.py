"""Make MongoDB documents equal their mapped sources on the contract's keys, or preview it.

Each batch is compared with what MongoDB holds (one `find` by key), and only what
differs is written, as one unordered bulk write: a document MongoDB lacks is inserted
(cheaper for the server than an upsert, which must look for it first), and one that
differs gets `$set` of the mapped keys and `$unset` of the contract keys the source no
longer has, as a keyed upsert. That makes a
re-run converge (a field deleted in Firestore leaves MongoDB too, `system_prompt_*`
keys included, which only the stored document can name), skips no-op writes, and
gives exact inserted / updated / unchanged counts on any server, which a dry run
reports from the very same comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import bson
from bson.codec_options import DatetimeConversion
from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError

from include.firestore_to_mongo.contract.mapping import MappedDocument
from include.firestore_to_mongo.contract.specs import CollectionSpec

KEY_INDEX_NAME = "firestore_to_mongo_key"
INSERT, UPDATE, UNCHANGED = "insert", "update", "unchanged"
DUPLICATE_KEY = 11000


@dataclass
class Change:
    """What writing one mapped document does to MongoDB."""

    document: MappedDocument
    kind: str
    # Contract keys whose value differs or is missing in MongoDB (all of them for an insert).
    changed: list[str] = field(default_factory=list)
    # Contract keys MongoDB holds that the mapped document lacks.
    removed: list[str] = field(default_factory=list)

    def request(self) -> InsertOne | UpdateOne:
        """An insert for a document MongoDB lacked, else a keyed upsert."""
        if self.kind == INSERT:
            # A copy: the driver adds `_id` to the document it inserts.
            return InsertOne(dict(self.document.fields))
        return self.upsert()

    def upsert(self) -> UpdateOne:
        # Every mapped key is set, not only the changed ones: should the document
        # vanish between the comparison and the write, the upsert recreates it whole.
        update: dict[str, Any] = {"$set": self.document.fields}
        if self.removed:
            update["$unset"] = dict.fromkeys(self.removed, "")
        return UpdateOne(self.document.key, update, upsert=True)


@dataclass
class WriteOutcome:
    """What one batch did: counts, each document's change, and (path, reason) for failures."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def same_bson(left: Any, right: Any) -> bool:
    """Whether two values are stored identically: same BSON types, same values, same
    field order in embedded documents. `2` and `2.0`, `1` and `True`, or a string and
    a datetime are different, although Python calls some of them equal."""
    if type(left) is type(right) and isinstance(left, str | bool | int | type(None)):
        return left == right
    return bson.encode({"": left}) == bson.encode({"": right})


def compare(spec: CollectionSpec, document: MappedDocument, stored: dict[str, Any] | None) -> Change:
    """The change that makes `stored` hold exactly `document` on the contract's keys."""
    if stored is None:
        return Change(document, INSERT, changed=list(document.fields))
    changed = [
        name
        for name, value in document.fields.items()
        if name not in stored or not same_bson(value, stored[name])
    ]
    removed = [
        name
        for name in stored
        if name not in document.fields and spec.is_contract_key(name) and _removable(name)
    ]
    return Change(document, UPDATE if changed or removed else UNCHANGED, changed, removed)


def _removable(name: str) -> bool:
    # `$unset` reads "a.b" as a path and refuses "$a": such a key, which the
    # migration never writes, can't be named by an update.
    return "." not in name and not name.startswith("$")


class Comparer:
    """Looks a batch's keys up in MongoDB and works out each document's change."""

    def __init__(self, collection: Collection, spec: CollectionSpec) -> None:
        # Dates outside Python's range, written by someone else, must not break the read.
        options = collection.codec_options.with_options(
            datetime_conversion=DatetimeConversion.DATETIME_AUTO, tz_aware=True, tzinfo=UTC
        )
        self.collection = collection.with_options(codec_options=options)
        self.spec = spec

    def changes(self, documents: list[MappedDocument]) -> list[Change]:
        return [
            compare(self.spec, doc, found)
            for doc, found in zip(documents, self.stored(documents), strict=True)
        ]

    def stored(
        self, documents: list[MappedDocument], projection: dict[str, Any] | None = None
    ) -> list[dict[str, Any] | None]:
        """What MongoDB holds under each document's key (None: nothing), in one find;
        `projection` (which must keep the key fields) narrows what is read."""
        if not documents:
            return []
        keys = [self._key(doc.key) for doc in documents]
        if len(set(keys)) != len(keys):
            # Key conflicts are resolved before a batch is written; two writes of one
            # key in an unordered bulk write would race.
            raise ValueError(f"{self.spec.name}: a batch holds one key twice")
        stored = {
            self._key(found): found for found in self.collection.find(self._query(documents), projection)
        }
        return [stored.get(key) for key in keys]

    def _key(self, document: dict[str, Any]) -> tuple:
        return tuple(document.get(name) for name in self.spec.key_fields)

    def _query(self, documents: list[MappedDocument]) -> dict[str, Any]:
        # One clause per parent (a twin, or a conversation), its ids in an $in: a page read
        # in name order holds few parents, so this is a short $or that walks the unique
        # key index, rather than one clause per document.
        *parents, last = self.spec.key_fields
        ids: dict[tuple, list] = {}
        for doc in documents:
            ids.setdefault(tuple(doc.key[name] for name in parents), []).append(doc.key[last])
        clauses = [
            dict(zip(parents, parent, strict=True)) | {last: {"$in": found}} for parent, found in ids.items()
        ]
        return clauses[0] if len(clauses) == 1 else {"$or": clauses}


class UpsertWriter(Comparer):
    """Writes what differs, keyed by the collection's upsert key.

    Updates, never replacements, so keys that other processes added to a Mongo
    document survive; `_id` is never touched.
    """

    def prepare(self) -> None:
        """Create the unique index on the upsert key unless an equivalent one exists."""
        wanted = [(name, ASCENDING) for name in self.spec.key_fields]
        for index in self.collection.list_indexes():
            if list(index["key"].items()) == wanted and index.get("unique"):
                return
        self.collection.create_index(wanted, unique=True, name=KEY_INDEX_NAME)

    def write(self, documents: list[MappedDocument]) -> WriteOutcome:
        if not documents:
            return WriteOutcome()
        changes = self.changes(documents)
        writes = [change for change in changes if change.kind != UNCHANGED]
        outcome = WriteOutcome(unchanged=len(changes) - len(writes), changes=changes)
        if not writes:
            return outcome
        counts, errors = self._bulk_write([change.request() for change in writes])
        # An insert refused on the key: the document appeared after the comparison (a
        # partition that learned of a key conflict late, another writer). Upsert it.
        late = [
            index
            for index, (code, _) in errors.items()
            if code == DUPLICATE_KEY and writes[index].kind == INSERT
        ]
        late_counts, late_errors = self._bulk_write([writes[index].upsert() for index in late])
        outcome.failures = [
            (writes[index].document.path, reason)
            for index, (_, reason) in errors.items()
            if index not in late
        ] + [(writes[late[index]].document.path, reason) for index, (_, reason) in late_errors.items()]
        # Counted from what the server did: a document that appeared between the
        # comparison and the write was updated, not inserted.
        outcome.inserted = (
            counts.get("nInserted", 0) + counts.get("nUpserted", 0) + late_counts.get("nUpserted", 0)
        )
        outcome.updated = len(writes) - len(outcome.failures) - outcome.inserted
        return outcome

    def _bulk_write(self, requests: list) -> tuple[dict[str, int], dict[int, tuple[int | None, str]]]:
        """One unordered bulk write: the server's counts, and (code, message) of each
        request that failed, by its index."""
        if not requests:
            return {}, {}
        try:
            return self.collection.bulk_write(requests, ordered=False).bulk_api_result, {}
        except BulkWriteError as error:
            # Unordered: every other request of the batch was still carried out.
            if error.details.get("writeConcernErrors"):
                raise
            return error.details, {
                item["index"]: (item.get("code"), item.get("errmsg", "write failed"))
                for item in error.details.get("writeErrors", [])
            }


class DryRunPreview(Comparer):
    """The same comparison as UpsertWriter, writing nothing.

    Looking keys up with find() creates no collection and no index.
    """

    def prepare(self) -> None:
        """Nothing to prepare: a dry run must leave the database untouched."""

    def write(self, documents: list[MappedDocument]) -> WriteOutcome:
        if not documents:
            return WriteOutcome()
        changes = self.changes(documents)
        kinds = [change.kind for change in changes]
        return WriteOutcome(
            inserted=kinds.count(INSERT),
            updated=kinds.count(UPDATE),
            unchanged=kinds.count(UNCHANGED),
            changes=changes,
        )
