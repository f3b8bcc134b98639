"""Count the Firestore documents a process reads, in the client, by wrapping the GAPIC
client's read methods (google.cloud.firestore_v1.services.firestore.client.FirestoreClient),
through which every read of google.cloud.firestore.Client goes.

What is counted, per method (Firestore bills reads per document returned; an aggregation
query is billed by index entries, so it is a separate figure):

| method | called by | counted |
|---|---|---|
| run_query (server stream) | Query.stream/get, CollectionGroup, a transaction's query | responses carrying a `document` |
| batch_get_documents (server stream) | Client.get_all, DocumentReference.get | responses carrying `found` (a `missing` one is not a document) |
| get_document | (the Python client doesn't call it; counted if anything does) | one per call |
| list_documents (pager) | CollectionReference.list_documents | documents the pager yields |
| run_aggregation_query (server stream) | count(), sum(), avg() | calls, as "aggregation queries" |
| partition_query (pager) | CollectionGroup.get_partitions | calls, as "partition queries" |

In the bench's own process: `install()`, then `snapshot()` before and after a phase.
For an `airflow dags test` subprocess (which runs every task in-process):

    python -m bench.count_reads dags test <dag_id> ...   # = airflow dags test ..., counted

installs the counter before Airflow is imported, runs Airflow's CLI, and at exit writes
the totals as JSON to the file named by $BENCH_FIRESTORE_READS_FILE.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

READS_FILE_VARIABLE = "BENCH_FIRESTORE_READS_FILE"

_lock = threading.Lock()
_documents: dict[str, int] = {}  # method → documents it returned
_calls: dict[str, int] = {}  # method → calls
_installed = False


def _add(table: dict[str, int], method: str, amount: int = 1) -> None:
    with _lock:
        table[method] = table.get(method, 0) + amount


def _has(field: str) -> Callable[[Any], bool]:
    def check(response: Any) -> bool:
        # proto-plus messages wrap a protobuf one: HasField tells a set oneof member apart.
        raw = getattr(response, "_pb", response)
        return raw.HasField(field)

    return check


def _every(_response: Any) -> bool:
    return True


class _Counted:
    """A response stream or pager that counts the items passing through it; anything
    else (cancel(), pages, ...) goes to the wrapped object."""

    def __init__(self, inner: Any, method: str, is_document: Callable[[Any], bool]) -> None:
        self._inner = inner
        self._method = method
        self._is_document = is_document
        self._iterator: Iterator | None = None

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> Any:
        if self._iterator is None:
            self._iterator = iter(self._inner)
        item = next(self._iterator)
        if self._is_document(item):
            _add(_documents, self._method)
        return item

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _wrap(cls: type, method: str, is_document: Callable[[Any], bool] | None, streams: bool) -> None:
    original = getattr(cls, method)

    def counted(self, *args, **kwargs):
        _add(_calls, method)
        result = original(self, *args, **kwargs)
        if is_document is None:
            return result
        if not streams:  # unary: the result is the document
            _add(_documents, method)
            return result
        return _Counted(result, method, is_document)

    counted.__wrapped__ = original  # type: ignore[attr-defined]
    counted.__name__ = method
    counted.__doc__ = original.__doc__
    setattr(cls, method, counted)


def install() -> None:
    """Wrap FirestoreClient's read methods (once per process)."""
    global _installed
    if _installed:
        return
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    _wrap(FirestoreClient, "run_query", _has("document"), streams=True)
    _wrap(FirestoreClient, "batch_get_documents", _has("found"), streams=True)
    _wrap(FirestoreClient, "get_document", _every, streams=False)
    _wrap(FirestoreClient, "list_documents", _every, streams=True)
    _wrap(FirestoreClient, "run_aggregation_query", None, streams=True)
    _wrap(FirestoreClient, "partition_query", None, streams=True)
    _installed = True


def snapshot() -> dict[str, Any]:
    """The totals so far: documents read (in all and per method), calls per method,
    aggregation and partition queries."""
    with _lock:
        documents, calls = dict(_documents), dict(_calls)
    return {
        "documents": sum(documents.values()),
        "documents_by_method": documents,
        "calls": calls,
        "aggregation_queries": calls.get("run_aggregation_query", 0),
        "partition_queries": calls.get("partition_query", 0),
    }


def difference(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What was counted between two snapshots."""

    def minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
        return {key: a[key] - b.get(key, 0) for key in a if a[key] - b.get(key, 0)}

    return {
        "documents": after["documents"] - before["documents"],
        "documents_by_method": minus(after["documents_by_method"], before["documents_by_method"]),
        "calls": minus(after["calls"], before["calls"]),
        "aggregation_queries": after["aggregation_queries"] - before["aggregation_queries"],
        "partition_queries": after["partition_queries"] - before["partition_queries"],
    }


def read_totals(path: Path) -> dict[str, Any] | None:
    """What a counted subprocess wrote at its exit; None when it wrote nothing."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_at_exit(path: str, pid: int) -> None:
    if os.getpid() != pid:  # a forked child exiting: not the process that was asked about
        return
    Path(path).write_text(json.dumps(snapshot()))


def main() -> None:
    """`python -m bench.count_reads <airflow arguments>`: the Airflow CLI, counted."""
    install()
    if path := os.environ.get(READS_FILE_VARIABLE):
        atexit.register(_write_at_exit, path, os.getpid())
    airflow = Path(sys.executable).with_name("airflow")
    sys.argv = [str(airflow) if airflow.exists() else "airflow", *sys.argv[1:]]
    from airflow.__main__ import main as airflow_main

    airflow_main()


if __name__ == "__main__":
    main()
