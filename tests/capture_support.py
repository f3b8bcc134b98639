"""Capture running in a thread of the test (the `capture` fixture), on the emulator and the Mongo test server, and
waits that are conditions, never times: caught up means the checkpoint reached a commit."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.capture.session import CaptureSession, SessionSettings
from include.firestore_to_mongo.contract.claims import Claim
from include.firestore_to_mongo.contract.mapping import MappingError, map_document, owns_its_key
from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.writer import same_bson
from include.firestore_to_mongo.target.writer_lease import LostTurnError

# Only a guard against a hang: every wait ends as soon as its condition holds.
GUARD_SECONDS = 180


class RunningCapture:
    def __init__(
        self, client, database, holder: str = "test/capture", continuous: bool = False, **settings
    ) -> None:
        self.database = database
        self.stop = threading.Event()
        self.continuous = continuous
        stream_factory = settings.pop("stream_factory", None) or _default_factory()
        sessions = iter(range(1, 1_000_000))

        def next_session() -> CaptureSession:
            return CaptureSession(
                client,
                database,
                f"{holder}/{next(sessions)}",
                SessionSettings(run_seconds=3_600, retention_days=7, **settings),
                stop=self.stop,
                stream_factory=stream_factory,
            )

        self._next_session = next_session
        self.session = next_session()
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="capture-under-test", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.session.run()
            # Like the continuous schedule: a session that handed over, or waited its
            # time out, is followed by the next one.
            while self.continuous and not self.stop.is_set():
                self.session = self._next_session()
                try:
                    self.result = self.session.run()
                except LostTurnError:
                    # A session that missed its renewal (a loaded machine) wrote nothing
                    # more; as on Airflow, the next one resumes from the checkpoint.
                    continue
        except BaseException as error:
            self.error = error

    def caught_up(self, commit: datetime) -> datetime:
        """Wait until the checkpoint reaches `commit` (a Firestore commit time): every
        change up to it is in MongoDB."""
        state = CaptureState(self.database)
        deadline = time.monotonic() + GUARD_SECONDS
        while True:
            checkpoint = state.checkpoint()
            if checkpoint is not None and checkpoint >= commit:
                return checkpoint
            if not self.thread.is_alive():
                raise AssertionError(f"capture ended before it caught up: {self.error or self.result}")
            if time.monotonic() > deadline:
                raise AssertionError(f"capture did not catch up with {commit} (checkpoint {checkpoint})")
            time.sleep(0.05)

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + GUARD_SECONDS
        while not condition():
            if not self.thread.is_alive():
                raise AssertionError(f"capture ended: {self.error or self.result}")
            if time.monotonic() > deadline:
                raise AssertionError(f"capture never got to: {what}")
            time.sleep(0.05)

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join(GUARD_SECONDS)
        assert not self.thread.is_alive(), "capture did not stop"
        if self.error is not None:
            raise self.error
        return self.result


def _default_factory():
    from include.firestore_to_mongo.source.listen import ListenStream

    return ListenStream


@pytest.fixture
def capture(firestore_client, mongo_db):
    started: list[RunningCapture] = []

    def start(**settings) -> RunningCapture:
        running = RunningCapture(firestore_client, mongo_db, **settings)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop.set()
        running.thread.join(GUARD_SECONDS)


def commit_time(result) -> datetime:
    """A write's commit time (a WriteResult, or the Timestamp a delete returns)."""
    value = getattr(result, "update_time", result)
    if isinstance(value, datetime):
        # Firestore's own datetime (nanoseconds beyond): its microseconds, exactly.
        return datetime(*value.timetuple()[:6], value.microsecond, tzinfo=UTC)
    return value.ToDatetime(tzinfo=UTC)


def expected_target(client, name: str) -> dict[tuple, dict]:
    """What the contract makes of the source of `name` now, by key: each key's winner only."""
    spec = SPECS[name]
    source = (
        client.collection_group(spec.source_collection)
        if spec.is_group
        else client.collection(spec.source_collection)
    )
    winners: dict[tuple, tuple] = {}
    for snapshot in source.stream():
        path = snapshot.reference.path
        if ids_from_path(path, spec.path_shape) is None:
            continue
        try:
            document = map_document(spec, path, snapshot.to_dict())
        except MappingError:
            continue
        key = tuple(document.key.values())
        claim = Claim(path, owns_its_key(spec, path, document.key))
        if key not in winners or claim.rank < winners[key][0].rank:
            winners[key] = (claim, document.fields)
    return {key: fields for key, (_, fields) in winners.items()}


def assert_target_equals_source(client, database, names=None) -> None:
    """MongoDB holds exactly what the contract makes of Firestore now (in `names`, or all)."""
    for name, spec in SPECS.items():
        if names is not None and name not in names:
            continue
        expected = expected_target(client, name)
        stored = {
            tuple(doc[field] for field in spec.key_fields): {
                k: v for k, v in doc.items() if spec.is_contract_key(k)
            }
            for doc in database[spec.target].find({}, {"_id": 0})
        }
        assert set(stored) == set(expected), name
        for key, fields in expected.items():
            assert set(stored[key]) == set(fields), (name, key)
            for field, value in fields.items():
                assert same_bson(stored[key][field], value), (name, key, field, stored[key][field], value)
