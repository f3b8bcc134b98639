"""Unit tests for include.firestore_to_mongo.migration.migrate_collection, with an in-memory writer."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from include.firestore_to_mongo.firestore_reader import Page, SourceDocument
from include.firestore_to_mongo.mapping import MappedDocument
from include.firestore_to_mongo.migration import DRY_RUN_SAMPLES, migrate_collection
from include.firestore_to_mongo.mongo_writer import WriteOutcome
from include.firestore_to_mongo.progress import ProgressLog
from include.firestore_to_mongo.specs import CONVERSATIONS, MESSAGES, USERS, CollectionSpec

LOGGER = "include.firestore_to_mongo.migration"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeWriter:
    """Records every call; each write returns `outcome(documents)` (all inserted by default)."""

    def __init__(
        self,
        outcome: Callable[[list[MappedDocument]], WriteOutcome] | None = None,
        on_write: Callable[[], None] | None = None,
    ) -> None:
        self.outcome = outcome or (lambda documents: WriteOutcome(inserted=len(documents)))
        self.on_write = on_write
        self.events: list[str] = []
        self.batches: list[list[MappedDocument]] = []

    def prepare(self) -> None:
        self.events.append("prepare")

    def write(self, documents: list[MappedDocument]) -> WriteOutcome:
        self.events.append("write")
        self.batches.append(list(documents))
        if self.on_write:
            self.on_write()
        return self.outcome(documents)


def user(uid: str, **data) -> SourceDocument:
    return SourceDocument(f"users/{uid}", data, None)


def message(mid: str, **data) -> SourceDocument:
    return SourceDocument(f"digital_twins/t1/conversations/c1/messages/{mid}", data, None)


def quiet_progress() -> ProgressLog:
    return ProgressLog("test", logging.getLogger("ftm.test.quiet"), clock=FakeClock())


def run(spec: CollectionSpec, pages: list[Page], writer: FakeWriter, dry_run: bool = False):
    return migrate_collection(spec, pages, writer, dry_run=dry_run, progress=quiet_progress())


def split_outcome(documents: list[MappedDocument]) -> WriteOutcome:
    """Per document: id starting with i → inserted, u → updated, s → unchanged, x → write failure."""
    outcome = WriteOutcome()
    for document in documents:
        kind = document.path.rsplit("/", 1)[1][0]
        if kind == "i":
            outcome.inserted += 1
        elif kind == "u":
            outcome.updated += 1
        elif kind == "s":
            outcome.unchanged += 1
        else:
            outcome.failures.append((document.path, "E11000 duplicate key"))
    return outcome


CASES = [
    pytest.param(
        [],
        {"read": 0, "inserted": 0, "failed": 0, "out_of_scope": 0},
        [],
        id="no-pages",
    ),
    pytest.param(
        [Page([], out_of_scope=0)],
        {"read": 0, "inserted": 0},
        [],
        id="empty-page-not-written",
    ),
    pytest.param(
        [Page([user("i1"), user("i2")], out_of_scope=0)],
        {"read": 2, "inserted": 2, "updated": 0, "unchanged": 0, "failed": 0},
        [["users/i1", "users/i2"]],
        id="one-page",
    ),
    pytest.param(
        [Page([user("i1"), user("u1")], 0), Page([user("s1"), user("i2")], 0), Page([user("u2")], 0)],
        {"read": 5, "inserted": 2, "updated": 2, "unchanged": 1, "failed": 0},
        [["users/i1", "users/u1"], ["users/s1", "users/i2"], ["users/u2"]],
        id="outcomes-summed-over-pages",
    ),
    pytest.param(
        [Page([user("i1")], out_of_scope=3), Page([], out_of_scope=2), Page([user("i2")], out_of_scope=0)],
        {"read": 2, "inserted": 2, "out_of_scope": 5},
        [["users/i1"], ["users/i2"]],
        id="out-of-scope-summed-not-read",
    ),
    pytest.param(
        [Page([user("i1"), user("bad", user_id={"a": 1}), user("i2")], 0)],
        {
            "read": 3,
            "inserted": 2,
            "failed": 1,
            "failed_examples": ["users/bad: user_id must be a string or an integer, not dict"],
        },
        [["users/i1", "users/i2"]],
        id="mapping-failure-skipped-rest-written",
    ),
    pytest.param(
        [Page([user("bad1", user_id=True), user("bad2", user_id=[1])], 0), Page([user("i1")], 0)],
        {"read": 3, "inserted": 1, "failed": 2},
        [["users/i1"]],
        id="page-of-failures-not-written",
    ),
    pytest.param(
        [Page([user("i1"), user("x1"), user("u1")], 0)],
        {
            "read": 3,
            "inserted": 1,
            "updated": 1,
            "failed": 1,
            "failed_examples": ["users/x1: E11000 duplicate key"],
        },
        [["users/i1", "users/x1", "users/u1"]],
        id="write-failure-counted",
    ),
    pytest.param(
        [Page([user("b1", user_id=False), user("x1")], 0)],
        {
            "failed": 2,
            "failed_examples": [
                "users/b1: user_id must be a string or an integer, not bool",
                "users/x1: E11000 duplicate key",
            ],
        },
        [["users/x1"]],
        id="mapping-and-write-failures-together",
    ),
    pytest.param(
        [Page([user(f"bad{i}", user_id=[i]) for i in range(7)], 0)],
        {
            "read": 7,
            "failed": 7,
            "failed_examples": [
                f"users/bad{i}: user_id must be a string or an integer, not list" for i in range(5)
            ],
        },
        [],
        id="failed-examples-capped",
    ),
    pytest.param(
        [Page([user("i1", created_at="garbage", last_login=True), user("i2", created_at=0)], 0)],
        {"read": 2, "inserted": 2, "warnings": 2, "failed": 0},
        [["users/i1", "users/i2"]],
        id="timestamp-warnings-counted-doc-still-written",
    ),
]


@pytest.mark.parametrize(("pages", "expected", "written"), CASES)
def test_migrate_collection(pages: list[Page], expected: dict, written: list[list[str]]) -> None:
    writer = FakeWriter(outcome=split_outcome)
    report = run(USERS, pages, writer)
    actual = report.to_dict()
    assert {key: actual[key] for key in expected} == expected
    assert [[document.path for document in batch] for batch in writer.batches] == written
    assert writer.events == ["prepare"] + ["write"] * len(written)


@pytest.mark.parametrize(
    ("spec", "dry_run", "collection", "target"),
    [
        pytest.param(USERS, False, "users", "users", id="users"),
        pytest.param(MESSAGES, True, "messages", "avatar_conversations", id="messages-dry-run"),
        pytest.param(CONVERSATIONS, False, "conversations", "conversations", id="conversations"),
    ],
)
def test_report_identity(spec: CollectionSpec, dry_run: bool, collection: str, target: str) -> None:
    report = run(spec, [], FakeWriter(), dry_run=dry_run)
    assert (report.collection, report.target, report.dry_run) == (collection, target, dry_run)


def test_writer_receives_mapped_documents() -> None:
    ts = DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=123_456_789, tzinfo=UTC)
    writer = FakeWriter()
    run(
        MESSAGES,
        [Page([message("m1", role="user", content="hi", timestamp=ts, digital_twin_id="x")], 0)],
        writer,
    )
    (document,) = writer.batches[0]
    assert document.key == {"digital_twin_id": "t1", "conversation_id": "c1", "message_id": "m1"}
    assert document.fields["sender"] == "user"
    assert document.fields["type"] == "text"
    assert document.fields["timestamp"].microsecond == 123000


def test_seconds_come_from_progress_clock() -> None:
    clock = FakeClock()
    progress = ProgressLog("users", logging.getLogger("ftm.test.quiet"), clock=clock)

    def advance() -> None:
        clock.now += 1.23456

    pages = [Page([user("i1")], 0), Page([user("i2")], 0)]
    report = migrate_collection(USERS, pages, FakeWriter(on_write=advance), dry_run=False, progress=progress)
    assert report.seconds == 2.469
    assert report.docs_per_second == round(2 / 2.469, 1)


def test_progress_updated_with_running_read_count() -> None:
    calls: list[tuple[str, int]] = []

    class SpyProgress:
        def update(self, count: int) -> None:
            calls.append(("update", count))

        def done(self, count: int) -> None:
            calls.append(("done", count))

        def elapsed(self) -> float:
            return 0.0

    pages = [Page([user("i1"), user("i2")], 1), Page([user("bad", user_id=True)], 0), Page([], 4)]
    migrate_collection(USERS, pages, FakeWriter(), dry_run=False, progress=SpyProgress())
    assert calls == [("update", 2), ("update", 3), ("update", 3), ("done", 3)]


def test_pages_consumed_lazily_after_prepare() -> None:
    writer = FakeWriter()

    def pages():
        writer.events.append("page")
        yield Page([user("i1")], 0)
        writer.events.append("page")
        yield Page([user("i2")], 0)

    run(USERS, pages(), writer)
    assert writer.events == ["prepare", "page", "write", "page", "write"]


def test_backend_errors_propagate() -> None:
    def broken(documents: list[MappedDocument]) -> WriteOutcome:
        raise ConnectionError("mongo went away")

    with pytest.raises(ConnectionError, match="mongo went away"):
        run(USERS, [Page([user("i1")], 0)], FakeWriter(outcome=broken))


def _samples(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if "dry-run sample" in record.getMessage()]


@pytest.mark.parametrize(
    ("page_sizes", "dry_run", "expected_ids"),
    [
        pytest.param([2, 2], True, ["u0", "u1", "u2"], id="three-across-pages"),
        pytest.param([5], True, ["u0", "u1", "u2"], id="three-from-one-page"),
        pytest.param([1], True, ["u0"], id="fewer-than-three"),
        pytest.param([0, 1, 0, 1], True, ["u0", "u1"], id="empty-pages-between"),
        pytest.param([5], False, [], id="no-samples-when-writing"),
    ],
)
def test_dry_run_samples(
    caplog: pytest.LogCaptureFixture, page_sizes: list[int], dry_run: bool, expected_ids: list[str]
) -> None:
    counter = iter(range(100))
    pages = [Page([user(f"u{next(counter)}") for _ in range(size)], 0) for size in page_sizes]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, pages, FakeWriter(), dry_run=dry_run)
    samples = _samples(caplog)
    assert [
        line.split(" → ")[0].removeprefix("users: dry-run sample users/") for line in samples
    ] == expected_ids
    assert DRY_RUN_SAMPLES == 3


def test_dry_run_sample_is_sorted_json(caplog: pytest.LogCaptureFixture) -> None:
    ts = DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=5_000_000, tzinfo=UTC)
    page = Page([user("u1", username="zoë", created_at=ts, email=None)], 0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, [page], FakeWriter(), dry_run=True)
    (line,) = _samples(caplog)
    payload = line.split(" → ", 1)[1]
    assert payload == (
        '{"created_at": "2024-03-05 10:20:30.005000+00:00", "email": null, "user_id": "u1", "username": "zoë"}'
    )
    assert json.loads(payload)["username"] == "zoë"


def test_failures_and_warnings_are_logged_with_path(caplog: pytest.LogCaptureFixture) -> None:
    page = Page([user("bad", user_id=True), user("iwarn", created_at="garbage"), user("x1")], 0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, [page], FakeWriter(outcome=split_outcome))
    by_level = {
        level: [r.getMessage() for r in caplog.records if r.levelno == level]
        for level in (logging.ERROR, logging.WARNING)
    }
    assert by_level[logging.ERROR] == [
        "users: can't migrate users/bad: user_id must be a string or an integer, not bool",
        "users: can't write users/x1: E11000 duplicate key",
    ]
    assert len(by_level[logging.WARNING]) == 1
    assert by_level[logging.WARNING][0].startswith("users: users/iwarn: created_at: unparseable date string")


def test_out_of_scope_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(CONVERSATIONS, [Page([], out_of_scope=4)], FakeWriter())
    assert (
        "conversations: left out 4 documents outside digital_twins/{id}/conversations/{id}" in caplog.messages
    )
