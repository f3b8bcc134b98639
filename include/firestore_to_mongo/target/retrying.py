"""A MongoDB database whose every operation rides out transient faults.

`open_target` hands tasks a `RetryingDatabase`: its collections are `RetryingCollection`s,
real pymongo collections whose operations go through the task's Retrier (util.retry),
so no call site has to remember to retry. Why each operation is safe to repeat:

- **Writes are idempotent by design.** The migration writes keyed upserts (`$set` of the
  whole mapped document, `$unset` of keys it lacks), so a batch applied twice leaves the
  same document. Bookkeeping uses `$set`, `$max` (watermarks, checkpoints: never back) and
  `$setOnInsert`; deletes delete by key or filter, again and again alike. The one counter,
  the writer lease's `version`, is changed only conditionally, with a change id that
  tells a retry whether its first try landed (target.writer_lease).
- **Inserts** get their `_id` from the driver before the first try, in the document
  itself: a retry resends the same ids, and a duplicate key on them means an earlier try
  landed. A retried insert takes that as done. (The migration's own inserts, refused on
  the upsert key after a try that landed, become upserts in the writer.)
- **Reads** have no effect. A cursor cut part-way picks up after the last document it
  gave (`ResumableCursor`): every find is ordered, `_id` last, so that point is exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from include.firestore_to_mongo.util.retry import Retrier

DUPLICATE_KEY = 11000


class RetryingDatabase(Database):
    """A pymongo Database whose collections retry (see the module's docstring)."""

    def __init__(self, client, name: str, retrier: Retrier, **options: Any) -> None:
        super().__init__(client, name, **options)
        self.retrier = retrier

    def __getitem__(self, name: str) -> RetryingCollection:
        return RetryingCollection(self, name)

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> RetryingCollection:
        return RetryingCollection(self, name, False, *args, **kwargs)

    def list_collection_names(self, *args: Any, **kwargs: Any) -> list[str]:
        return self.retrier.call("listing collections", super().list_collection_names, *args, **kwargs)

    def drop_collection(self, name: Any, *args: Any, **kwargs: Any) -> dict:
        # Dropping a collection that is gone already is no error.
        return self.retrier.call(f"dropping {name}", super().drop_collection, name, *args, **kwargs)

    def command(self, command: Any, *args: Any, **kwargs: Any) -> dict:
        # Only reads and idempotent admin commands (ping, listIndexes) are sent this way.
        return self.retrier.call(f"running {_first_key(command)}", super().command, command, *args, **kwargs)


class RetryingCollection(Collection):
    """A pymongo Collection whose operations retry (see the module's docstring)."""

    @property
    def retrier(self) -> Retrier:
        return self.database.retrier

    def with_options(self, *args: Any, **kwargs: Any) -> RetryingCollection:
        plain = super().with_options(*args, **kwargs)
        return RetryingCollection(
            self.database,
            self.name,
            False,
            plain.codec_options,
            plain.read_preference,
            plain.write_concern,
            plain.read_concern,
        )

    def _call(self, operation: str, method, *args: Any, **kwargs: Any):
        return self.retrier.call(f"{operation} on {self.name}", method, *args, **kwargs)

    # Reads.
    def find_one(self, filter: Any = None, *args: Any, **kwargs: Any):
        # pymongo's find_one runs self.find, a ResumableCursor retried on its own: giving
        # up, that one would name the operation "find". One plain find, retried here.
        if filter is not None and not isinstance(filter, Mapping):
            filter = {"_id": filter}

        def first():
            for document in self._plain_find(filter, *args, **kwargs).limit(-1):
                return document
            return None

        return self._call("find_one", first)

    def count_documents(self, *args: Any, **kwargs: Any) -> int:
        return self._call("count_documents", super().count_documents, *args, **kwargs)

    def estimated_document_count(self, *args: Any, **kwargs: Any) -> int:
        return self._call("estimated_document_count", super().estimated_document_count, *args, **kwargs)

    def distinct(self, *args: Any, **kwargs: Any) -> list:
        return self._call("distinct", super().distinct, *args, **kwargs)

    def aggregate(self, *args: Any, **kwargs: Any) -> Iterator[dict]:
        # Read whole under the retry: the pipelines run here return a few documents.
        return iter(
            self._call("aggregate", lambda: list(super(RetryingCollection, self).aggregate(*args, **kwargs)))
        )

    def list_indexes(self, *args: Any, **kwargs: Any) -> Iterator[dict]:
        return iter(
            self._call(
                "list_indexes", lambda: list(super(RetryingCollection, self).list_indexes(*args, **kwargs))
            )
        )

    def index_information(self, *args: Any, **kwargs: Any) -> dict:
        return self._call("index_information", super().index_information, *args, **kwargs)

    def find(self, filter: Mapping[str, Any] | None = None, projection: Any = None, **kwargs: Any):
        return ResumableCursor(self, filter, projection, kwargs)

    def _plain_find(self, *args: Any, **kwargs: Any):
        return super().find(*args, **kwargs)

    # Writes: keyed upserts, $set/$max/$unset updates, deletes (see the module's docstring).
    def bulk_write(self, *args: Any, **kwargs: Any):
        return self._call("bulk_write", super().bulk_write, *args, **kwargs)

    def update_one(self, *args: Any, **kwargs: Any):
        return self._call("update_one", super().update_one, *args, **kwargs)

    def update_many(self, *args: Any, **kwargs: Any):
        return self._call("update_many", super().update_many, *args, **kwargs)

    def replace_one(self, *args: Any, **kwargs: Any):
        return self._call("replace_one", super().replace_one, *args, **kwargs)

    def find_one_and_update(self, *args: Any, **kwargs: Any):
        return self._call("find_one_and_update", super().find_one_and_update, *args, **kwargs)

    def delete_one(self, *args: Any, **kwargs: Any):
        return self._call("delete_one", super().delete_one, *args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any):
        return self._call("delete_many", super().delete_many, *args, **kwargs)

    def create_index(self, *args: Any, **kwargs: Any) -> str:
        # Creating an index that exists with the same options is no error.
        return self._call("create_index", super().create_index, *args, **kwargs)

    def create_indexes(self, *args: Any, **kwargs: Any) -> list[str]:
        return self._call("create_indexes", super().create_indexes, *args, **kwargs)

    def drop(self, *args: Any, **kwargs: Any) -> None:
        return self._call("drop", super().drop, *args, **kwargs)

    def insert_one(self, document: Any, *args: Any, **kwargs: Any):
        tries = 0

        def insert():
            nonlocal tries
            tries += 1
            try:
                return Collection.insert_one(self, document, *args, **kwargs)
            except DuplicateKeyError:
                # On a retry, the driver's `_id` (set in `document` on the first try) is
                # taken: that first try landed.
                if tries > 1 and "_id" in document:
                    return None
                raise

        return self._call("insert_one", insert)

    def insert_many(self, documents: Any, *args: Any, ordered: bool = True, **kwargs: Any):
        documents = list(documents)  # the same documents, with their `_id`s, on every try
        tries = 0

        def insert():
            nonlocal tries
            tries += 1
            try:
                # A retry goes on past the documents an earlier try landed.
                return Collection.insert_many(
                    self, documents, *args, ordered=ordered and tries == 1, **kwargs
                )
            except BulkWriteError as error:
                codes = {item.get("code") for item in error.details.get("writeErrors", [])}
                if tries > 1 and codes == {DUPLICATE_KEY} and not error.details.get("writeConcernErrors"):
                    return None
                raise

        return self._call("insert_many", insert)


class ResumableCursor:
    """A find that rides out faults, also part-way through: what pymongo's Cursor does for
    the chained calls this project makes (`sort`, `skip`, `limit`, `batch_size`), walked
    by iterating.

    A sorted find is ordered by its sort then `_id`, and after a fault it opens again
    after the last document it gave: exactly there, whatever was written meanwhile
    (each field it orders by holds one BSON type, as in every find this project makes).
    An unsorted find runs again from its start and passes over the `_id`s it gave,
    which it remembers: the long scans (the target's keys, the capture paths, the key
    journal) are sorted, so the ones that remember are short. The fields a find orders
    by are read even when its projection leaves them out, and taken out again.
    """

    def __init__(
        self, collection: RetryingCollection, filter: Mapping[str, Any] | None, projection: Any, options: dict
    ) -> None:
        self.collection = collection
        self.filter = dict(filter or {})
        self.projection = projection
        self.order: list[tuple[str, int]] = []
        self._skip = options.pop("skip", 0)
        self._limit = options.pop("limit", 0)
        sort = options.pop("sort", None)
        if sort is not None:
            self.sort(sort)
        self.options = options

    def sort(self, key_or_list: Any, direction: int | None = None) -> ResumableCursor:
        if isinstance(key_or_list, str):
            self.order = [(key_or_list, direction if direction is not None else ASCENDING)]
        elif isinstance(key_or_list, Mapping):
            self.order = list(key_or_list.items())
        else:
            self.order = [(key, value) for key, value in key_or_list]
        return self

    def skip(self, count: int) -> ResumableCursor:
        self._skip = count
        return self

    def limit(self, count: int) -> ResumableCursor:
        self._limit = count
        return self

    def batch_size(self, count: int) -> ResumableCursor:
        self.options["batch_size"] = count
        return self

    def __iter__(self) -> Iterator[dict]:
        order = self.order
        if order and all(key != "_id" for key, _ in order):
            order = [*order, ("_id", ASCENDING)]
        projection, hidden = _projection_with(self.projection, [key for key, _ in order] or ["_id"])
        given = 0
        # Sorted: where the last document given stands in the order. Unsorted: the ids given.
        last: list | None = None
        given_ids: set = set()
        what = f"find on {self.collection.name}"

        def open_cursor(after: list | None):
            """A cursor (after `after` in the order, when given), with its first document
            already read, so that opening it is one operation to retry."""
            query = self.filter if after is None else {"$and": [self.filter, _after(order, after)]}
            resumed_sorted = after is not None
            cursor = self.collection._plain_find(
                query,
                projection,
                sort=order or None,
                skip=0 if resumed_sorted else self._skip,
                limit=(self._limit - given if resumed_sorted else self._limit) if self._limit else 0,
                **self.options,
            )
            return cursor, _next_new(cursor)

        def _next_new(cursor):
            document = next(cursor, None)
            while document is not None and not order and document["_id"] in given_ids:
                document = next(cursor, None)
            return document

        cursor, document = self.collection.retrier.call(what, open_cursor, None)
        try:
            while document is not None:
                given += 1
                if order:
                    last = [_value(document, key) for key, _ in order]
                else:
                    given_ids.add(document["_id"])
                yield _without(document, hidden) if hidden else document
                if self._limit and given >= self._limit:
                    return
                try:
                    document = _next_new(cursor)
                except Exception as fault:
                    cursor.close()
                    cursor, document = self.collection.retrier.resume(
                        what, fault, lambda after=last: open_cursor(after)
                    )
        finally:
            cursor.close()


def _projection_with(projection: Any, keys: list[str]) -> tuple[Any, list[str]]:
    """`projection` changed to return `keys` too, and which of them it hid."""
    if projection is None:
        return None, []
    if not isinstance(projection, Mapping):
        projection = dict.fromkeys(projection, 1)
    projection = dict(projection)
    including = any(value and name != "_id" for name, value in projection.items())
    hidden = []
    for key in keys:
        if key == "_id":
            if not projection.get("_id", 1):
                projection.pop("_id")
                hidden.append(key)
        elif including and not projection.get(key):
            projection[key] = 1
            hidden.append(key)
        elif not including and key in projection:
            projection.pop(key)
            hidden.append(key)
    return projection, hidden


def _without(document: dict, hidden: list[str]) -> dict:
    for key in hidden:
        document.pop(key, None)
    return document


def _value(document: Mapping[str, Any], key: str) -> Any:
    for part in key.split("."):
        document = document.get(part) if isinstance(document, Mapping) else None
    return document


def _after(order: list[tuple[str, int]], last: list) -> dict[str, Any]:
    """The filter for documents after the values `last` in `order`:
    (k1 > v1) or (k1 = v1 and k2 > v2) or ..."""
    clauses = []
    for index, (key, direction) in enumerate(order):
        equal = {name: value for (name, _), value in zip(order[:index], last, strict=False)}
        operator = "$gt" if direction == ASCENDING else "$lt"
        clauses.append(equal | {key: {operator: last[index]}})
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _first_key(command: Any) -> str:
    return command if isinstance(command, str) else next(iter(command), "command")
