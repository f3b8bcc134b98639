"""mongoeco's MemoryEngine, with compound unique indexes used for lookups.

mongoeco keeps an index map for every index, but uses it only for single-field
ones: an upsert keyed on a compound index (every collection here but `users` and
`digital_twins`) scans the whole collection twice, once to find the document and
once to check uniqueness, so writing N documents costs O(N²). That makes tens of
thousands of documents take hours. This subclass answers both questions from the
compound index map when every key field of the document or the query is a plain
scalar, and otherwise defers to mongoeco unchanged. It also answers a query whose key
fields are equalities or an `$in` over plain values, and an `$or` of such queries (the
writer's look-up of a batch's stored documents), from any unique index; and it does
not compare a new string or ObjectId `_id` with every stored one (every insert, and
the upserts of the key ledger the migration once kept in MongoDB), and it counts a collection of
more than 50,000 documents (mongoeco refuses to materialize that many for an aggregation without
spilling, and `count_documents` is one). Otherwise it only changes speed: the
tests in tests/devtools check that duplicates are still refused and upserts still
find their documents. The product never depends on it; against a real MongoDB it
is not involved at all.
"""

from __future__ import annotations

import itertools
from typing import Any

from bson import ObjectId
from mongoeco.core.query_plan import AndCondition, EqualsCondition, InCondition, OrCondition
from mongoeco.engines import MemoryEngine
from mongoeco.engines import memory as _memory

SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    return isinstance(value, SCALARS) and value is not None


def _unique(index) -> bool:
    """A unique index without options that change what a lookup matches."""
    return (
        bool(index.get("unique"))
        and index.get("collation") is None
        and not index.get("sparse")
        and not index.get("partial_filter_expression")
    )


def _compound_unique(index) -> bool:
    return (
        len(index["fields"]) > 1
        and bool(index.get("unique"))
        and index.get("collation") is None
        and not index.get("sparse")
        and not index.get("partial_filter_expression")
    )


class IndexedMemoryEngine(MemoryEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # mongoeco refuses an aggregation that materializes more than 50,000 documents
        # unless it may spill: `count_documents({})` (a $match and a $group) of a larger
        # collection fails, where MongoDB just counts (the verify's `<name>_done` counts
        # the target collection). No such budget here.
        kwargs.setdefault("aggregation_materialization_limit", None)
        super().__init__(*args, **kwargs)
        # Indexes that have seen a document whose key fields aren't all scalars (an
        # array makes the index multikey): those always take mongoeco's own path.
        self._multikey: set[tuple[str, str, str]] = set()

    def _candidate_items_for_plan_locked(self, coll, query_plan, **kwargs: Any):
        # A string or ObjectId _id that isn't stored matches nothing: mongoeco would
        # go on to scan the whole collection (every upsert of a new key-ledger entry).
        wanted = self._direct_id_lookup_from_plan(query_plan)
        if isinstance(wanted, str | ObjectId) and self._storage_key(wanted) not in coll:
            return []
        return super()._candidate_items_for_plan_locked(coll, query_plan, **kwargs)

    def _indexed_candidate_storage_keys_for_plan_locked(
        self, indexes, index_data, query_plan, *, dialect, collation
    ):
        found = super()._indexed_candidate_storage_keys_for_plan_locked(
            indexes, index_data, query_plan, dialect=dialect, collation=collation
        )
        if found is not None or collation is not None:
            return found
        if isinstance(query_plan, OrCondition):
            # Each clause answered from an index, or the whole $or scans as before.
            union: set = set()
            for clause in query_plan.clauses:
                part = self._indexed_candidate_storage_keys_for_plan_locked(
                    indexes, index_data, clause, dialect=dialect, collation=collation
                )
                if part is None:
                    return None
                union |= set(part.storage_keys)
            return _memory._MemoryIndexedCandidates(union)
        clauses = query_plan.clauses if isinstance(query_plan, AndCondition) else (query_plan,)
        equals = {
            clause.field: (clause.value,)
            for clause in clauses
            if isinstance(clause, EqualsCondition)
            and _plain(clause.value)
            and not clause.null_matches_undefined
        }
        # An $in over plain values: a lookup per value (the last key field of a batch's
        # keys, or a single-field key).
        equals |= {
            clause.field: clause.values
            for clause in clauses
            if isinstance(clause, InCondition)
            and not clause.null_matches_undefined
            and all(_plain(value) for value in clause.values)
        }
        for index in indexes:
            fields = index["fields"]
            if not _unique(index) or not set(fields) <= set(equals):
                continue
            if any(name == index["name"] for _, _, name in self._multikey):
                continue
            index_map = index_data.get(index["name"])
            if index_map is None:
                continue
            keys = [
                tuple(self._index_equality_key(value) for value in values)
                for values in itertools.product(*(equals[field] for field in fields))
            ]
            # A superset of the matches: the caller still applies the whole query.
            if len(keys) == 1:
                return _memory._MemoryIndexedCandidates(
                    index_map.get(keys[0], set()),
                    index_map=index_map if isinstance(index_map, _memory.MemoryIndexMap) else None,
                    index_key=keys[0],
                )
            return _memory._MemoryIndexedCandidates(set().union(*(index_map.get(key, set()) for key in keys)))
        return None

    def _ensure_unique_indexes(self, db_name, coll_name, candidate, **kwargs: Any) -> None:
        if kwargs.get("scan_payload_id") and isinstance(candidate.get("_id"), str | ObjectId):
            # mongoeco compares a given _id with every stored one, for numbers (1 equals
            # 1.0). A string or ObjectId _id equals only itself, which the storage-key
            # check it also makes finds at once.
            kwargs["scan_payload_id"] = False
        indexes_view = kwargs.get("indexes_view")
        indexes = (
            (self._indexes if indexes_view is None else indexes_view).get(db_name, {}).get(coll_name, [])
        )
        fast = []
        for index in indexes:
            if not _compound_unique(index):
                continue
            marker = (db_name, coll_name, index["name"])
            scalar = all(
                "." not in field and isinstance(_first(candidate, field), SCALARS)
                for field in index["fields"]
            )
            if not scalar:
                self._multikey.add(marker)
            elif marker not in self._multikey:
                fast.append(index)
        if not fast:
            return super()._ensure_unique_indexes(db_name, coll_name, candidate, **kwargs)
        index_data_view = kwargs.get("index_data_view")
        index_maps = (
            (self._index_data if index_data_view is None else index_data_view)
            .get(db_name, {})
            .get(coll_name, {})
        )
        storage_view = kwargs.get("storage_view")
        coll = (self._storage if storage_view is None else storage_view).get(db_name, {}).get(coll_name, {})
        exclude = kwargs.get("exclude_storage_key")
        if exclude is not None and exclude not in coll:
            exclude = self._storage_key(exclude)
        checked = []
        for index in fast:
            index_map = index_maps.get(index["name"])
            if index_map is None:
                continue
            checked.append(index)
            key = tuple(self._index_equality_key(_first(candidate, field)) for field in index["fields"])
            matches = index_map.get(key)
            if matches and any(match != exclude for match in matches):
                raise self._unique_key_error(
                    f"Duplicate key for unique index '{index['name']}': {index['fields']}={key!r}",
                    f"{db_name}.{coll_name}",
                    candidate,
                    index=index,
                    conflict=key,
                )
        rest = [index for index in indexes if index not in checked]
        view = {db_name: {coll_name: rest}}
        return super()._ensure_unique_indexes(
            db_name, coll_name, candidate, **(kwargs | {"indexes_view": view})
        )


def _first(document: dict, field: str) -> Any:
    return document.get(field)
