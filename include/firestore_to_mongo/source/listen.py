"""Firestore's Listen API for change capture: one stream over the migrated collections, and
what its responses mean.

One Listen stream carries a target per collection (`users`, `digital_twins`, and the
`conversations` and `messages` collection groups). `ListenHandler` turns the stream's
responses into events, one response at a time, keeping no document in memory:

- `DocumentChanged`: a document as the target now holds it, with its `update_time`; taken
  from the stream itself, so capture never reads it a second time.
- `DocumentGone`: a document deleted, or no longer in the target (explicit: real Firestore
  sends these).
- `Consistent`: the whole stream is consistent at `read_time`; every change before it has
  been handed out. The place to checkpoint. It carries, per target that sent its whole
  result set since the last consistent point (a fresh target, or a `RESET`), every path of
  that set, on local disk (`PathSet`): what is missing from it was deleted.
- `CountCheck`: Firestore's count of a target's documents (an existence filter), for
  the receiver to compare with what it holds.

Firestore answers in one of two ways, and the handler serves both the same way. Real
Firestore, resumed from a recent read time or resume token, sends only the changes since
then. Resumed from too old a point (or not resumed), and always on the emulator, a target
sends `RESET`, then every matching document, then `CURRENT`: deletes show only as paths
missing from that set. A set counts only once the whole stream is consistent; a stream
that breaks before then leaves a partial set, which the handler discards and nobody reads.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from google.cloud.firestore_v1.types import ListenRequest, ListenResponse, Target, TargetChange

from include.firestore_to_mongo.contract.specs import CollectionSpec
from include.firestore_to_mongo.util.scratch import ScratchSqlite

TargetChangeType = TargetChange.TargetChangeType


# The name a sync target goes by, and the document it listens to (which nobody writes:
# the target holds nothing, and only its consistent point counts).
SYNC = "(sync)"
SYNC_DOCUMENT = "_firestore_to_mongo_sync/point"


class ListenTargetRemovedError(RuntimeError):
    """Firestore removed a target from the stream (the query was refused, or failed)."""


class PathSet(ScratchSqlite):
    """The paths of one target's whole result set, on local disk: any size fits."""

    def __init__(self) -> None:
        super().__init__("paths", "CREATE TABLE paths (path TEXT PRIMARY KEY) WITHOUT ROWID")

    def add(self, path: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO paths VALUES (?)", (path,))

    def discard(self, path: str) -> None:
        self.db.execute("DELETE FROM paths WHERE path = ?", (path,))

    def __contains__(self, path: object) -> bool:
        return self.db.execute("SELECT 1 FROM paths WHERE path = ?", (path,)).fetchone() is not None

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM paths").fetchone()[0]

    def missing(self, paths: list[str]) -> list[str]:
        """Those of `paths` the set lacks (one batch, at most 10,000)."""
        found = {row[0] for row in self.where_in("SELECT path FROM paths WHERE path", paths)}
        return [path for path in paths if path not in found]


class DocumentChanged:
    """A document as its target now holds it. Its fields are decoded only when `data` is
    first read: a reset resends every document, and most are left alone unread."""

    __slots__ = ("_data", "_decode", "collection", "path", "update_time")

    def __init__(
        self,
        collection: str,
        path: str,
        data: Any,
        update_time: datetime,
        decode: Callable[[Any], dict[str, Any]] | None = None,
    ) -> None:
        self.collection = collection
        self.path = path
        self.update_time = update_time
        self._data = data
        self._decode = decode

    @property
    def data(self) -> dict[str, Any]:
        if self._decode is not None:
            self._data, self._decode = self._decode(self._data), None
        return self._data

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DocumentChanged):
            return NotImplemented
        return (self.collection, self.path, self.update_time, self.data) == (
            other.collection,
            other.path,
            other.update_time,
            other.data,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"DocumentChanged({self.collection!r}, {self.path!r}, update_time={self.update_time!r})"


@dataclass(frozen=True)
class DocumentGone:
    collection: str
    path: str


@dataclass(frozen=True)
class Consistent:
    read_time: datetime
    resume_token: bytes
    # Collection name → every path its target holds at `read_time`, for the targets that
    # sent their whole result set since the previous consistent point. The receiver
    # closes them.
    complete_sets: dict[str, PathSet] = field(default_factory=dict)


@dataclass(frozen=True)
class CountCheck:
    collection: str
    count: int


Event = DocumentChanged | DocumentGone | Consistent | CountCheck


@dataclass
class _TargetState:
    collection: str
    current: bool = False
    # The result set being sent whole (after ADD without a resume point, or after RESET).
    whole_set: PathSet | None = None


class ListenHandler:
    """Turns ListenResponses into events. `targets` maps each target id to its collection;
    `resumed` says whether the targets were added with a read time or resume token (then
    what follows ADD is only the changes, not the whole set). `decode` turns a document's
    fields into Python values (the client's own decoding)."""

    def __init__(
        self,
        targets: Mapping[int, str],
        documents_prefix: str,
        decode: Callable[[Any], dict[str, Any]],
        resumed: bool,
    ) -> None:
        self.targets = {target_id: _TargetState(name) for target_id, name in targets.items()}
        self.prefix = documents_prefix
        self.decode = decode
        self.resumed = resumed
        self.documents = 0
        self.resets = 0
        self._lock = threading.Lock()
        self._added: dict[int, _TargetState] = {}
        self._removing: set[int] = set()

    def is_current(self) -> bool:
        """Whether every target is current (none is in the middle of sending its set)."""
        return all(target.current for target in list(self.targets.values()))

    def expect_sync(self, target_id: int) -> None:
        """A sync target is being added (from any thread): a target that holds no document,
        whose only use is the consistent point that follows its CURRENT."""
        with self._lock:
            self._added[target_id] = _TargetState(SYNC)

    def expect_removal(self, target_id: int) -> None:
        """The target is being removed on purpose (from any thread): its REMOVE is no error."""
        with self._lock:
            self._removing.add(target_id)

    def handle(self, response: ListenResponse) -> list[Event]:
        with self._lock:
            self.targets.update(self._added)
            self._added.clear()
        kind = response._pb.WhichOneof("response_type")
        if kind == "target_change":
            return self._target_change(response.target_change)
        if kind == "document_change":
            change = response.document_change
            self.documents += 1
            path = self._path(change.document.name)
            events: list[Event] = []
            decoded: list[dict[str, Any]] = []

            def decode_once(fields) -> dict[str, Any]:
                # Decoded at most once, however many targets hold the document.
                if not decoded:
                    decoded.append(self.decode(fields))
                return decoded[0]

            for target in self._states(change.target_ids, every_if_empty=False):
                if target.collection == SYNC:
                    continue
                if target.whole_set is not None:
                    target.whole_set.add(path)
                events.append(
                    DocumentChanged(
                        target.collection,
                        path,
                        change.document.fields,
                        change.document.update_time,
                        decode_once,
                    )
                )
            return events + self._gone(change.removed_target_ids, path)
        if kind == "document_delete":
            return self._gone(
                response.document_delete.removed_target_ids, self._path(response.document_delete.document)
            )
        if kind == "document_remove":
            return self._gone(
                response.document_remove.removed_target_ids, self._path(response.document_remove.document)
            )
        if kind == "filter":
            (target,) = self._states([response.filter.target_id], every_if_empty=False)
            return [CountCheck(target.collection, response.filter.count)]
        raise ValueError(f"unknown Listen response: {kind}")

    def close(self) -> None:
        """Drop the sets of a stream that ended before it was consistent: they infer nothing."""
        for target in self.targets.values():
            self._start_over(target, whole=False)

    def _target_change(self, change: TargetChange) -> list[Event]:
        kind = change.target_change_type
        if kind == TargetChangeType.REMOVE:
            with self._lock:
                expected = bool(change.target_ids) and set(change.target_ids) <= self._removing
                self._removing -= set(change.target_ids)
            if expected and not change.cause.code:
                for target_id in change.target_ids:
                    self.targets.pop(target_id, None)
                return []
            raise ListenTargetRemovedError(
                f"Firestore removed the Listen target(s) {list(change.target_ids)}: "
                f"{change.cause.code} {change.cause.message}"
            )
        targets = self._states(change.target_ids, every_if_empty=True)
        if kind == TargetChangeType.ADD:
            for target in targets:
                self._start_over(target, whole=not self.resumed)
        elif kind == TargetChangeType.RESET:
            # Whatever came since the last consistent point no longer counts: the whole
            # set comes again.
            self.resets += 1
            for target in targets:
                self._start_over(target, whole=True)
        elif kind == TargetChangeType.CURRENT:
            for target in targets:
                target.current = True
        if change.target_ids or not change.read_time:
            return []
        # No target ids and a read time: the whole stream is consistent at it (only then,
        # whatever the kind of the change, says the Listen API).
        if not all(target.current for target in self.targets.values()):
            return []
        complete = {}
        for target in self.targets.values():
            if target.whole_set is not None:
                complete[target.collection], target.whole_set = target.whole_set, None
        return [Consistent(change.read_time, change.resume_token, complete)]

    def _gone(self, target_ids, path: str) -> list[Event]:
        events: list[Event] = []
        for target in self._states(target_ids, every_if_empty=False):
            if target.collection == SYNC:
                continue
            if target.whole_set is not None:
                target.whole_set.discard(path)
            events.append(DocumentGone(target.collection, path))
        return events

    def _states(self, target_ids, every_if_empty: bool) -> list[_TargetState]:
        if not target_ids:
            return list(self.targets.values()) if every_if_empty else []
        unknown = [target_id for target_id in target_ids if target_id not in self.targets]
        if unknown:
            raise ValueError(f"Firestore sent Listen target ids this stream never added: {unknown}")
        return [self.targets[target_id] for target_id in target_ids]

    def _start_over(self, target: _TargetState, whole: bool) -> None:
        target.current = False
        if target.whole_set is not None:
            target.whole_set.close()
        # A sync target holds nothing: no set of its own to close.
        target.whole_set = PathSet() if whole and target.collection != SYNC else None

    def _path(self, name: str) -> str:
        return name.removeprefix(self.prefix)


def target_for(client, spec: CollectionSpec, target_id: int, read_time=None, resume_token=None) -> Target:
    """The Listen target of `spec`'s whole source (a collection or a collection group)."""
    from include.firestore_to_mongo.source.reader import source_of

    source = source_of(client, spec)
    # A collection is queried whole; a collection group already is a query.
    query = source._query() if hasattr(source, "_query") else source
    parent, _ = query._parent._parent_info()
    target = Target(
        query=Target.QueryTarget(parent=parent, structured_query=query._to_protobuf()), target_id=target_id
    )
    if resume_token:
        target.resume_token = resume_token
    elif read_time is not None:
        target.read_time = read_time
    return target


class ListenStream:
    """A raw Listen call over `specs` (target ids 1, 2, … in their order): the responses,
    until `close()`. Not the client's `on_snapshot`, which keeps every document in memory.
    Resumes from `resume_token`, else from `read_time`, else starts with every document."""

    def __init__(self, client, specs: list[CollectionSpec], read_time=None, resume_token=None) -> None:
        self.client = client
        self.targets = {index + 1: spec.name for index, spec in enumerate(specs)}
        self.requests = [
            ListenRequest(
                database=client._database_string,
                add_target=target_for(client, spec, index + 1, read_time, resume_token),
            )
            for index, spec in enumerate(specs)
        ]
        self.resumed = bool(resume_token) or read_time is not None
        self._closed = threading.Event()
        self._more: queue.Queue[ListenRequest] = queue.Queue()
        self._call = None

    def handler(self) -> ListenHandler:
        from google.cloud.firestore_v1 import _helpers

        return ListenHandler(
            self.targets,
            f"{self.client._database_string}/documents/",
            lambda fields: _helpers.decode_dict(fields, self.client),
            self.resumed,
        )

    def _requests(self) -> Iterator[ListenRequest]:
        yield from self.requests
        # The call lasts as long as its requests do: hold them open until close(), and send
        # what comes meanwhile (sync targets, added and removed).
        while not self._closed.is_set():
            try:
                yield self._more.get(timeout=0.5)
            except queue.Empty:
                continue

    def add_sync_target(self, target_id: int) -> None:
        """Ask for a consistent point now: add a target that holds no document. Its CURRENT,
        then the whole stream's, come at a read time after this call, without resending
        anything (a quiet source sends no consistent point of its own)."""
        name = f"{self.client._database_string}/documents/{SYNC_DOCUMENT}"
        self._more.put(
            ListenRequest(
                database=self.client._database_string,
                add_target=Target(documents=Target.DocumentsTarget(documents=[name]), target_id=target_id),
            )
        )

    def remove_target(self, target_id: int) -> None:
        self._more.put(ListenRequest(database=self.client._database_string, remove_target=target_id))

    def __iter__(self) -> Iterator[ListenResponse]:
        self._call = self.client._firestore_api.listen(
            requests=self._requests(), metadata=self.client._rpc_metadata
        )
        return iter(self._call)

    def close(self) -> None:
        """End the call (from any thread): its response iterator stops. Safe to repeat."""
        self._closed.set()
        if self._call is not None:
            self._call.cancel()
