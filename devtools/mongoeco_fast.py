"""mongoeco's MemoryEngine, with compound unique indexes used for lookups.

mongoeco keeps an index map for every index, but uses it only for single-field
ones: an upsert keyed on a compound index (every collection here but `users` and
`digital_twins`) scans the whole collection twice, once to find the document and
once to check uniqueness, so writing N documents costs O(N²). That makes tens of
thousands of documents take hours. This subclass answers both questions from the
compound index map when every key field of the document or the query is a plain
scalar, and otherwise defers to mongoeco unchanged. It only changes speed: the
tests in tests/devtools check that duplicates are still refused and upserts still
find their documents. The product never depends on it; against a real MongoDB it
is not involved at all.
"""

from __future__ import annotations

from typing import Any

from mongoeco.core.query_plan import AndCondition, EqualsCondition
from mongoeco.engines import MemoryEngine
from mongoeco.engines import memory as _memory

SCALARS = (str, int, float, bool, type(None))


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
        super().__init__(*args, **kwargs)
        # Indexes that have seen a document whose key fields aren't all scalars (an
        # array makes the index multikey): those always take mongoeco's own path.
        self._multikey: set[tuple[str, str, str]] = set()

    def _indexed_candidate_storage_keys_for_plan_locked(
        self, indexes, index_data, query_plan, *, dialect, collation
    ):
        found = super()._indexed_candidate_storage_keys_for_plan_locked(
            indexes, index_data, query_plan, dialect=dialect, collation=collation
        )
        if found is not None or collation is not None or not isinstance(query_plan, AndCondition):
            return found
        equals = {
            clause.field: clause.value
            for clause in query_plan.clauses
            if isinstance(clause, EqualsCondition)
            and not clause.null_matches_undefined
            and isinstance(clause.value, SCALARS)
            and clause.value is not None
        }
        for index in indexes:
            fields = index["fields"]
            if not _compound_unique(index) or not set(fields) <= set(equals):
                continue
            if any(name == index["name"] for _, _, name in self._multikey):
                continue
            index_map = index_data.get(index["name"])
            if index_map is None:
                continue
            key = tuple(self._index_equality_key(equals[field]) for field in fields)
            # A superset of the matches: the caller still applies the whole query.
            return _memory._MemoryIndexedCandidates(
                index_map.get(key, set()),
                index_map=index_map if isinstance(index_map, _memory.MemoryIndexMap) else None,
                index_key=key,
            )
        return None

    def _ensure_unique_indexes(self, db_name, coll_name, candidate, **kwargs: Any) -> None:
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
