"""One capture session: listen, apply in micro-batches, checkpoint, for a bounded time.

The Listen stream is read in a background thread into a bounded queue of events; this
thread applies them: at most every `flush_seconds` or `flush_changes` changes, whichever
comes first, and at every consistent point, after which (and only after which) the
checkpoint moves to that point's read time. So a session killed at any moment leaves a
checkpoint that no unwritten change precedes; the next one resumes from it, and what it
receives again is compared and left alone (writes are idempotent).

A session holds the writer lease (`target.writer_lease`) while it writes. When a migration
run or a verify repair asks for its turn, the session writes what it holds, checkpoints
and ends; the next one waits until the runs are done.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from include.firestore_to_mongo.capture.applier import Applier, Change
from include.firestore_to_mongo.capture.figures import CaptureFigures
from include.firestore_to_mongo.capture.versions import LocalVersions
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES, SPECS
from include.firestore_to_mongo.source.errors import SourceUnavailableError
from include.firestore_to_mongo.source.faults import faults_of, firestore_fault
from include.firestore_to_mongo.source.listen import (
    Consistent,
    CountCheck,
    DocumentChanged,
    DocumentGone,
    ListenStream,
)
from include.firestore_to_mongo.source.reader import read_by_paths
from include.firestore_to_mongo.target.capture_state import CaptureState, as_utc
from include.firestore_to_mongo.target.change_journal import ChangeJournal
from include.firestore_to_mongo.target.retrying import RetryingDatabase
from include.firestore_to_mongo.target.writer_lease import CaptureLease, WriterTurns
from include.firestore_to_mongo.util.retry import backoff_seconds

log = logging.getLogger(__name__)

RUNNING, WAITING, YIELDED, STOPPED = "running", "waiting", "yielded", "stopped"
# Sync targets' ids, above the collections' (1 to 4).
SYNC_TARGET_IDS = 1_000


@dataclass(frozen=True)
class SessionSettings:
    run_seconds: float
    retention_days: float
    flush_seconds: float = 2.0
    flush_changes: int = 500
    log_seconds: float = 30.0
    lease_seconds: float = 60.0
    # How long a session waits for runs to finish writing, polling every `wait_poll_seconds`.
    wait_poll_seconds: float = 5.0
    queue_events: int = 5_000
    # A stream that breaks is opened again from the checkpoint, after a growing pause
    # (util.retry's backoff), until no consistent point has come for this long: then the
    # task fails (and Airflow retries it, or the next run takes over).
    timeout_seconds: float = 60.0


@dataclass
class _Ended:
    """The stream stopped: with the error, or None when it was closed."""

    error: BaseException | None


class CaptureSession:
    def __init__(
        self,
        client,
        database,
        holder: str,
        settings: SessionSettings,
        dag_id: str = "firestore_to_mongo_capture",
        run_id: str | None = None,
        stop: threading.Event | None = None,
        stream_factory: Callable[..., ListenStream] = ListenStream,
    ) -> None:
        self.client = client
        self.database = database
        self.holder = holder
        self.settings = settings
        self.dag_id = dag_id
        # The Airflow run the sync page links to; the holder also names the try.
        self.run_id = run_id or holder
        self.stop = stop or threading.Event()
        self.stream_factory = stream_factory
        self.state = CaptureState(database)
        self.journal = ChangeJournal(database, settings.retention_days)
        self.lease = CaptureLease(WriterTurns(database), holder, settings.lease_seconds)
        self.figures = CaptureFigures(list(COLLECTION_NAMES))
        self.broken_streams = 0
        self.checkpoint: datetime | None = None
        self.outcome = STOPPED
        self.started_at = _now()

    # The whole session.
    def run(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.settings.run_seconds
        if not self._wait_for_turn(deadline):
            return self._end(WAITING)
        try:
            with LocalVersions(self.state.versions()) as versions:
                self.checkpoint = self.state.checkpoint()
                # Capture must know every path's key to apply deletes: with nothing known
                # yet, it starts from the whole current set, not from a read time.
                bootstrap = versions.is_empty() or self.checkpoint is None
                applier = Applier(
                    self.database, versions, self.state, self.journal, self.figures, self._reread
                )
                applier.prepare()
                self._prune_journal()
                self.outcome = self._listen(applier, deadline, resumed=not bootstrap)
        finally:
            self.lease.release()
        return self._end(self.outcome)

    def _wait_for_turn(self, deadline: float) -> bool:
        while not self.lease.acquire():
            found = WriterTurns(self.database).read()
            holders = sorted(set((found.get("holders") or {}).values()))
            log.info(
                "waiting for %s to finish writing before capture resumes",
                ", ".join(holders) or found.get("capture_holder") or "a run that asked for its turn",
            )
            self._status(WAITING)
            if time.monotonic() + self.settings.wait_poll_seconds > deadline or self.stop.is_set():
                return False
            self.stop.wait(self.settings.wait_poll_seconds)
        return True

    def _listen(self, applier: Applier, deadline: float, resumed: bool) -> str:
        settings = self.settings
        events: queue.Queue = queue.Queue(maxsize=settings.queue_events)
        stream, handler, _ = self._open(events, resumed)
        pending: list[Change] = []
        first_pending = 0.0
        last_log = last_renew = time.monotonic()
        documents = resets = 0
        journaled = False
        served: datetime | None = None
        last_sync_check = 0.0
        sync_target: int | None = None
        sync_targets = 0
        restart_asked: int | None = None
        broken = 0
        broken_since = 0.0
        self._status(RUNNING)
        try:
            while True:
                now = time.monotonic()
                if now >= deadline or self.stop.is_set():
                    return self._flush(applier, pending) or STOPPED
                wait = min(deadline - now, 1.0)
                if pending:
                    wait = max(0.0, min(wait, first_pending + settings.flush_seconds - now))
                try:
                    event = events.get(timeout=wait)
                except queue.Empty:
                    event = None
                if isinstance(event, DocumentChanged | DocumentGone):
                    if not pending:
                        first_pending = time.monotonic()
                    pending.append(event)
                elif isinstance(event, Consistent):
                    if self._flush(applier, pending) == YIELDED:
                        return YIELDED
                    for collection, paths in event.complete_sets.items():
                        with paths:
                            if not self.lease.renew():
                                return YIELDED
                            applier.close_set(collection, paths)
                    self.checkpoint = self.state.save_checkpoint(as_utc(event.read_time), self.holder)
                    broken = 0
                    if sync_target is not None and sync_target in handler.targets:
                        # Its consistent point has come: the target has done its job.
                        handler.expect_removal(sync_target)
                        stream.remove_target(sync_target)
                        sync_target = None
                    if not journaled and self.state.journal_since() is None:
                        # The first whole set is applied: from here on every change is journaled.
                        self.state.set_journal_since(self.started_at)
                    journaled = True
                    last_renew = time.monotonic()
                elif isinstance(event, CountCheck):
                    log.debug(
                        "%s: Firestore counts %d documents in its target", event.collection, event.count
                    )
                elif isinstance(event, _Ended):
                    if self._flush(applier, pending) == YIELDED:
                        return YIELDED
                    documents, resets = documents + handler.documents, resets + handler.resets
                    handler.close()
                    if restart_asked == id(stream):
                        restart_asked = None
                    else:
                        # A sync point asked of the broken stream is asked of the next one.
                        sync_target, served = None, None
                        broken += 1
                        if broken == 1:
                            broken_since = time.monotonic()
                        elif time.monotonic() - broken_since >= settings.timeout_seconds:
                            raise SourceUnavailableError(
                                f"Firestore listening: {_reason(event.error)}; the stream broke {broken} times "
                                f"in {settings.timeout_seconds:g} s (timeout_seconds) without reaching a "
                                "consistent point"
                            ) from event.error
                        # Safe to repeat: resuming from the checkpoint receives again what came
                        # after it, and a version already applied is left alone.
                        self.broken_streams += 1
                        pause = backoff_seconds(broken)
                        log.warning(
                            "Firestore listening: %s (try %d); resuming from the checkpoint in %.1f s",
                            _reason(event.error),
                            broken,
                            pause,
                        )
                        self.stop.wait(pause)
                    stream, handler, _ = self._open(events, resumed=self.checkpoint is not None)
                    resumed = resumed or self.checkpoint is not None
                if pending and (
                    len(pending) >= settings.flush_changes
                    or time.monotonic() - first_pending >= settings.flush_seconds
                ):
                    if self._flush(applier, pending) == YIELDED:
                        return YIELDED
                    last_renew = time.monotonic()
                if time.monotonic() - last_sync_check >= 1.0:
                    last_sync_check = time.monotonic()
                    asked = self.state.sync_requested()
                    if (
                        sync_target is None
                        and asked is not None
                        and asked != served
                        # Before the first consistent point, that point is still to come.
                        and self.checkpoint is not None
                        and self.checkpoint < asked
                    ):
                        # A consistent point at or after `asked` is wanted (the cut-over).
                        served = asked
                        if events.qsize() or pending or not handler.is_current():
                            # Behind (whole sets queued, as the emulator sends one per change):
                            # a new stream from the checkpoint sends the current state once,
                            # instead of every set in the queue.
                            log.info("a sync point at %s was asked for, while behind: listening anew", asked)
                            if self._flush(applier, pending) == YIELDED:
                                return YIELDED
                            restart_asked = id(stream)
                            stream.close()
                        else:
                            # Caught up, and a quiet source brings no consistent point: a target
                            # that holds nothing brings one, with nothing resent.
                            sync_targets += 1
                            sync_target = SYNC_TARGET_IDS + sync_targets
                            log.info("a sync point at %s was asked for", asked.isoformat())
                            handler.expect_sync(sync_target)
                            stream.add_sync_target(sync_target)
                if time.monotonic() - last_renew >= settings.lease_seconds / 4:
                    if not self.lease.renew():
                        return YIELDED
                    last_renew = time.monotonic()
                self.figures.documents, self.figures.resets = (
                    documents + handler.documents,
                    resets + handler.resets,
                )
                if time.monotonic() - last_log >= settings.log_seconds:
                    self._report(RUNNING)
                    self._prune_journal()
                    last_log = time.monotonic()
        finally:
            stream.close()
            handler.close()
            self.figures.documents, self.figures.resets = (
                documents + handler.documents,
                resets + handler.resets,
            )

    def _open(self, events: queue.Queue, resumed: bool):
        read_time = self.checkpoint if resumed else None
        specs = [SPECS[name] for name in COLLECTION_NAMES]
        stream = self.stream_factory(self.client, specs, read_time=read_time)
        handler = stream.handler()
        log.info(
            "listening to %s from %s",
            ", ".join(COLLECTION_NAMES),
            f"the checkpoint {read_time.isoformat()}" if read_time else "the whole current set (first start)",
        )

        def read() -> None:
            try:
                for response in stream:
                    for event in handler.handle(response):
                        events.put(event)
                events.put(_Ended(None))
            except BaseException as error:  # the stream's end, whatever ended it
                events.put(_Ended(error))

        reader = threading.Thread(target=read, name="listen", daemon=True)
        reader.start()
        return stream, handler, reader

    def _flush(self, applier: Applier, pending: list[Change]) -> str | None:
        """Write `pending` (emptied), then YIELDED if a run asked for its turn."""
        if not pending:
            return None
        # The lease still holds long enough for this batch even when a run wants its turn.
        wanted = not self.lease.renew()
        applier.apply(list(pending))
        pending.clear()
        return YIELDED if wanted else None

    def _reread(self, collection: str, paths: list[str]) -> list[Change]:
        """Documents read again by path (a key conflict's next winner)."""
        changes: list[Change] = []
        what = f"reading {collection}'s next claimants"
        for snapshot in read_by_paths(self.client, paths, self.settings.timeout_seconds, what):
            path = snapshot.reference.path
            if snapshot.exists:
                changes.append(
                    DocumentChanged(collection, path, snapshot.to_dict() or {}, snapshot.update_time)
                )
            else:
                changes.append(DocumentGone(collection, path))
        return changes

    def _prune_journal(self) -> None:
        now = _now()
        self.journal.prune(now)
        if self.state.journal_since() is not None:
            # Older entries are gone: the journal vouches only for what it still holds.
            self.state.set_journal_since(self.journal.horizon(now))

    # Figures.
    def retried_faults(self) -> int:
        """Faults ridden out: broken streams, and retried Firestore reads and MongoDB operations."""
        mongo = self.database.retrier.faults.count if isinstance(self.database, RetryingDatabase) else 0
        return self.broken_streams + faults_of(self.client).count + mongo

    def _status(self, state: str) -> None:
        self.figures.retried_faults = self.retried_faults()
        self.state.update_status(
            {
                "state": state,
                "run_id": self.run_id,
                "holder": self.holder,
                "dag_id": self.dag_id,
                "started_at": self.started_at,
                "heartbeat_at": _now(),
            }
            | self.figures.as_dict()
        )

    def _report(self, state: str) -> None:
        log.info("capture figures:\n%s", self.figures.table(self.checkpoint))
        self._status(state)
        self.state.append_figures(
            {"at": _now(), "run_id": self.run_id, "checkpoint": self.checkpoint} | self.figures.as_dict()
        )

    def _end(self, outcome: str) -> dict[str, Any]:
        self._report(outcome)
        figures = self.figures.as_dict()
        return {
            "outcome": outcome,
            "checkpoint": self.checkpoint.isoformat() if self.checkpoint else None,
            "documents": figures["documents"],
            "resets": figures["resets"],
            "lag": figures["lag"],
            "retried_faults": figures["retried_faults"],
            "collections": {
                name: {
                    key: value
                    for key, value in values.items()
                    if key not in ("failed_examples", "last_change_at")
                }
                for name, values in figures["collections"].items()
            },
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(error: BaseException | None) -> str:
    if error is None:
        return "the stream ended"
    return firestore_fault(error) or f"{type(error).__name__}: {error}"
