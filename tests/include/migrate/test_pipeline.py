"""Unit tests for include.firestore_to_mongo.migration.migrate_collection, with an in-memory writer."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import pytest
from google.api_core.datetime_helpers import DatetimeWithNanoseconds

from include.firestore_to_mongo.contract.mapping import MappedDocument
from include.firestore_to_mongo.contract.specs import CONVERSATIONS, MESSAGES, USERS, CollectionSpec
from include.firestore_to_mongo.migrate.pipeline import DRY_RUN_SAMPLES, changed_since, migrate_collection
from include.firestore_to_mongo.migrate.report import CollectionReport
from include.firestore_to_mongo.source.reader import Page, ReadPosition, SourceDocument
from include.firestore_to_mongo.target.writer import INSERT, UNCHANGED, UPDATE, Change, WriteOutcome
from include.firestore_to_mongo.util.progress import ProgressLog

LOGGER = "include.firestore_to_mongo.migrate.pipeline"


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
        self.outcome = outcome or inserted_outcome
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


def inserted_outcome(documents: list[MappedDocument]) -> WriteOutcome:
    return WriteOutcome(
        inserted=len(documents), changes=[Change(doc, INSERT, list(doc.fields)) for doc in documents]
    )


def user(uid: str, update_time: datetime | None = None, **data) -> SourceDocument:
    return SourceDocument(f"users/{uid}", data, update_time)


def message(mid: str, **data) -> SourceDocument:
    return SourceDocument(f"digital_twins/t1/conversations/c1/messages/{mid}", data, None)


def make_page(documents: list[SourceDocument], out_of_scope: int = 0) -> Page:
    """A reader Page positioned after its last document."""
    return Page(
        documents, out_of_scope, ReadPosition(documents[-1].path if documents else "users/~out-of-scope")
    )


def quiet_progress() -> ProgressLog:
    return ProgressLog("test", logging.getLogger("ftm.test.quiet"), clock=FakeClock())


def new_report(spec: CollectionSpec, dry_run: bool = False) -> CollectionReport:
    return CollectionReport(collection=spec.name, target=spec.target, dry_run=dry_run)


def run(
    spec: CollectionSpec, pages: Iterable[Page], writer: FakeWriter, dry_run: bool = False, **options
) -> CollectionReport:
    report = new_report(spec, dry_run)
    returned = migrate_collection(spec, pages, writer, report, progress=quiet_progress(), **options)
    assert returned is report
    return report


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
        {"read": 0, "inserted": 0, "failed": 0, "out_of_scope": 0, "pages": 0},
        [],
        id="no-pages",
    ),
    pytest.param(
        [make_page([], out_of_scope=0)],
        {"read": 0, "inserted": 0, "pages": 1},
        [],
        id="empty-page-not-written",
    ),
    pytest.param(
        [make_page([user("i1"), user("i2")], out_of_scope=0)],
        {"read": 2, "inserted": 2, "updated": 0, "unchanged": 0, "failed": 0},
        [["users/i1", "users/i2"]],
        id="one-page",
    ),
    pytest.param(
        [
            make_page([user("i1"), user("u1")], 0),
            make_page([user("s1"), user("i2")], 0),
            make_page([user("u2")], 0),
        ],
        {"read": 5, "inserted": 2, "updated": 2, "unchanged": 1, "failed": 0, "pages": 3},
        [["users/i1", "users/u1"], ["users/s1", "users/i2"], ["users/u2"]],
        id="outcomes-summed-over-pages",
    ),
    pytest.param(
        [
            make_page([user("i1")], out_of_scope=3),
            make_page([], out_of_scope=2),
            make_page([user("i2")], out_of_scope=0),
        ],
        {"read": 2, "inserted": 2, "out_of_scope": 5, "pages": 3},
        [["users/i1"], ["users/i2"]],
        id="out-of-scope-summed-not-read",
    ),
    pytest.param(
        [make_page([user("i1"), user("bad", user_id={"a": 1}), user("i2")], 0)],
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
        [make_page([user("bad1", user_id=True), user("bad2", user_id=[1])], 0), make_page([user("i1")], 0)],
        {"read": 3, "inserted": 1, "failed": 2, "pages": 2},
        [["users/i1"]],
        id="page-of-failures-not-written",
    ),
    pytest.param(
        [make_page([user("i1"), user("x1"), user("u1")], 0)],
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
        [make_page([user("b1", user_id=False), user("x1")], 0)],
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
        [make_page([user(f"bad{i}", user_id=[i]) for i in range(7)], 0)],
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
        [make_page([user("i1", created_at="garbage", last_login=True), user("i2", created_at=0)], 0)],
        {"read": 2, "inserted": 2, "warnings": 2, "failed": 0},
        [["users/i1", "users/i2"]],
        id="timestamp-warnings-counted-doc-still-written",
    ),
    pytest.param(
        [
            make_page(
                [user("i2", created_at="garbage"), user("i3", created_at="3/4/26"), user("b2", user_id=[2])]
            ),
            make_page([user("i1", created_at="rubbish"), user("b1", user_id=[1]), user("x1")]),
        ],
        {
            "warnings": 3,
            # The same kind of warning groups together whatever value it quotes; the
            # example is the smallest path, whichever page met it.
            "warning_reasons": {
                "reasons": [
                    {
                        "reason": "created_at: unparseable date string …: Unknown string format; kept unchanged",
                        "count": 2,
                        "example": "users/i1",
                    },
                    {
                        "reason": "created_at: date string … has a two-digit year (…); its century would be a "
                        "guess; kept unchanged",
                        "count": 1,
                        "example": "users/i3",
                    },
                ],
                "other": 0,
            },
            "failed": 3,
            "failure_reasons": {
                "reasons": [
                    {
                        "reason": "user_id must be a string or an integer, not list",
                        "count": 2,
                        "example": "users/b1",
                    },
                    {"reason": "E11000 duplicate key", "count": 1, "example": "users/x1"},
                ],
                "other": 0,
            },
        },
        [["users/i2", "users/i3"], ["users/i1", "users/x1"]],
        id="reasons-grouped-over-pages",
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
        [make_page([message("m1", role="user", content="hi", timestamp=ts, digital_twin_id="x")], 0)],
        writer,
    )
    (document,) = writer.batches[0]
    assert document.key == {"digital_twin_id": "t1", "conversation_id": "c1", "message_id": "m1"}
    assert document.fields["sender"] == "user"
    assert document.fields["type"] == "text"
    assert document.fields["timestamp"].microsecond == 123000


def test_seconds_left_to_the_caller() -> None:
    clock = FakeClock()
    progress = ProgressLog("users", logging.getLogger("ftm.test.quiet"), clock=clock)

    def advance() -> None:
        clock.now += 1.23456

    report = new_report(USERS)
    report.seconds = 7.5
    pages = [make_page([user("i1")]), make_page([user("i2")])]
    migrate_collection(USERS, pages, FakeWriter(on_write=advance), report, progress=progress)
    assert clock.now > 0
    assert report.seconds == 7.5


def test_adds_to_a_resumed_report() -> None:
    report = new_report(USERS)
    report.read, report.inserted, report.pages, report.skipped = 10, 8, 2, 1
    report.resumed = True
    report.record_failure("users/old", "earlier attempt")
    pages = [make_page([user("i1"), user("u1"), user("bad", user_id=True)], out_of_scope=1)]
    migrate_collection(USERS, pages, FakeWriter(outcome=split_outcome), report, progress=quiet_progress())
    assert (report.read, report.inserted, report.updated, report.pages, report.skipped) == (13, 9, 1, 3, 1)
    assert (report.failed, report.out_of_scope, report.resumed) == (2, 1, True)
    assert report.failed_examples == [
        "users/old: earlier attempt",
        "users/bad: user_id must be a string or an integer, not bool",
    ]
    assert report.status == "running"


def test_progress_updated_with_running_read_count() -> None:
    calls: list[tuple[str, int]] = []

    class SpyProgress:
        def update(self, count: int, position: str | None = None) -> None:
            calls.append(("update", count))

        def heartbeat(self):
            return contextlib.nullcontext(self)

        def done(self, count: int) -> None:
            calls.append(("done", count))

        def elapsed(self) -> float:
            return 0.0

    pages = [
        make_page([user("i1"), user("i2")], 1),
        make_page([user("bad", user_id=True)], 0),
        make_page([], 4),
    ]
    migrate_collection(USERS, pages, FakeWriter(), new_report(USERS), progress=SpyProgress())
    assert calls == [("update", 2), ("update", 3), ("update", 3), ("done", 3)]


def test_pages_consumed_lazily_after_prepare_and_at_most_one_ahead_of_the_writes() -> None:
    writer = FakeWriter()

    def pages():
        for uid in ("i1", "i2", "i3"):
            writer.events.append("page")
            yield make_page([user(uid)], 0)

    run(USERS, pages(), writer)
    assert writer.events[0] == "prepare"
    assert sorted(writer.events[1:]) == ["page"] * 3 + ["write"] * 3
    # The next page is mapped while one is written, never two ahead: memory stays bounded.
    positions = [index for index, event in enumerate(writer.events) if event == "page"]
    writes = [index for index, event in enumerate(writer.events) if event == "write"]
    assert positions[2] > writes[0]


def test_backend_errors_propagate() -> None:
    def broken(documents: list[MappedDocument]) -> WriteOutcome:
        raise ConnectionError("mongo went away")

    with pytest.raises(ConnectionError, match="mongo went away"):
        run(USERS, [make_page([user("i1")], 0)], FakeWriter(outcome=broken))


def _samples(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage() for record in caplog.records if "dry run: would insert" in record.getMessage()
    ]


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
    pages = [make_page([user(f"u{next(counter)}") for _ in range(size)], 0) for size in page_sizes]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, pages, FakeWriter(), dry_run=dry_run)
    samples = _samples(caplog)
    assert [
        line.split(" → ")[0].removeprefix("users: dry run: would insert users/") for line in samples
    ] == expected_ids
    assert DRY_RUN_SAMPLES == 3


def test_dry_run_samples_of_each_kind(caplog: pytest.LogCaptureFixture) -> None:
    def mixed(documents: list[MappedDocument]) -> WriteOutcome:
        kinds = [INSERT, UPDATE, UNCHANGED]
        changes = [
            Change(doc, kinds[n % 3], ["username"] if n % 3 == 1 else [], ["email"] if n % 3 == 1 else [])
            for n, doc in enumerate(documents)
        ]
        return WriteOutcome(changes=changes)

    page = make_page([user(f"u{n}", username=f"name{n}") for n in range(12)], 0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, [page], FakeWriter(outcome=mixed), dry_run=True)
    lines = [r.getMessage() for r in caplog.records if "dry run:" in r.getMessage()]
    assert [line.split(" → ")[0] for line in lines if "insert" in line] == [
        "users: dry run: would insert users/u0",
        "users: dry run: would insert users/u3",
        "users: dry run: would insert users/u6",
    ]
    assert [line for line in lines if "update" in line] == [
        f'users: dry run: would update users/u{n}: set {{"username": "name{n}"}}; remove [\'email\']'
        for n in (1, 4, 7)
    ]
    assert [line for line in lines if "unchanged" in line] == [
        f"users: dry run: users/u{n} is unchanged" for n in (2, 5, 8)
    ]


def test_dry_run_sample_is_sorted_json(caplog: pytest.LogCaptureFixture) -> None:
    ts = DatetimeWithNanoseconds(2024, 3, 5, 10, 20, 30, nanosecond=5_000_000, tzinfo=UTC)
    page = make_page([user("u1", username="zoë", created_at=ts, email=None)], 0)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, [page], FakeWriter(), dry_run=True)
    (line,) = _samples(caplog)
    payload = line.split(" → ", 1)[1]
    assert payload == (
        '{"created_at": "2024-03-05 10:20:30.005000+00:00", "email": null, "user_id": "u1", "username": "zoë"}'
    )
    assert json.loads(payload)["username"] == "zoë"


def test_failures_and_warnings_are_logged_with_path(caplog: pytest.LogCaptureFixture) -> None:
    page = make_page([user("bad", user_id=True), user("iwarn", created_at="garbage"), user("x1")], 0)
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
        run(CONVERSATIONS, [make_page([], out_of_scope=4)], FakeWriter())
    assert (
        "conversations: left out 4 documents outside digital_twins/{id}/conversations/{id}" in caplog.messages
    )


THRESHOLD = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("update_time", "kept"),
    [
        pytest.param(None, True, id="no-update-time-kept"),
        pytest.param(THRESHOLD, True, id="at-threshold-kept"),
        pytest.param(THRESHOLD + timedelta(microseconds=1), True, id="just-after-kept"),
        pytest.param(THRESHOLD + timedelta(days=400), True, id="long-after-kept"),
        pytest.param(THRESHOLD - timedelta(microseconds=1), False, id="just-before-skipped"),
        pytest.param(THRESHOLD - timedelta(days=1), False, id="day-before-skipped"),
        pytest.param(
            DatetimeWithNanoseconds(2026, 11, 1, 12, 0, 0, nanosecond=1, tzinfo=UTC),
            True,
            id="firestore-nanoseconds-after",
        ),
        pytest.param(
            DatetimeWithNanoseconds(2026, 11, 1, 11, 59, 59, nanosecond=999_999_999, tzinfo=UTC),
            False,
            id="firestore-nanoseconds-before",
        ),
        pytest.param(
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC).astimezone(),
            True,
            id="other-timezone-compared-as-instant",
        ),
    ],
)
def test_changed_since(update_time: datetime | None, kept: bool) -> None:
    assert changed_since(THRESHOLD)(user("u1", update_time=update_time)) is kept


OLD = THRESHOLD - timedelta(hours=1)
NEW = THRESHOLD + timedelta(hours=1)


@pytest.mark.parametrize(
    ("pages", "expected", "written"),
    [
        pytest.param(
            [make_page([user("i1", NEW), user("i2", OLD), user("u1", NEW)])],
            {"read": 3, "skipped": 1, "inserted": 1, "updated": 1, "pages": 1},
            [["users/i1", "users/u1"]],
            id="old-document-skipped",
        ),
        pytest.param(
            [make_page([user("i1", OLD), user("i2", OLD)]), make_page([user("i3", None)])],
            {"read": 3, "skipped": 2, "inserted": 1, "pages": 2},
            [["users/i3"]],
            id="page-of-skipped-not-written",
        ),
        pytest.param(
            [make_page([user("bad", OLD, user_id=True), user("i1", NEW)])],
            {"read": 2, "skipped": 1, "failed": 0, "failed_examples": [], "inserted": 1},
            [["users/i1"]],
            id="skipped-document-not-mapped",
        ),
        pytest.param(
            [make_page([user("warn", OLD, created_at="garbage"), user("i1", NEW)])],
            {"skipped": 1, "warnings": 0},
            [["users/i1"]],
            id="skipped-document-no-warnings",
        ),
        pytest.param(
            [make_page([user("bad", NEW, user_id=True), user("i1", OLD)], out_of_scope=2)],
            {"read": 2, "skipped": 1, "failed": 1, "out_of_scope": 2, "inserted": 0},
            [],
            id="kept-but-unmappable-fails",
        ),
    ],
)
def test_keep_filter(pages: list[Page], expected: dict, written: list[list[str]]) -> None:
    writer = FakeWriter(outcome=split_outcome)
    report = run(USERS, pages, writer, keep=changed_since(THRESHOLD))
    actual = report.to_dict()
    assert {key: actual[key] for key in expected} == expected
    assert [[document.path for document in batch] for batch in writer.batches] == written


def test_skipped_documents_are_not_dry_run_samples(caplog: pytest.LogCaptureFixture) -> None:
    pages = [make_page([user("u0", OLD), user("u1", NEW), user("u2", OLD), user("u3", NEW)])]
    with caplog.at_level(logging.INFO, logger=LOGGER):
        run(USERS, pages, FakeWriter(), dry_run=True, keep=changed_since(THRESHOLD))
    assert [line.split(" → ")[0] for line in _samples(caplog)] == [
        "users: dry run: would insert users/u1",
        "users: dry run: would insert users/u3",
    ]


def test_on_page_written_after_each_write() -> None:
    writer = FakeWriter()
    seen: list[tuple[str, int, int, int]] = []

    def on_page_written(page: Page, report: CollectionReport) -> None:
        writer.events.append(f"checkpoint {page.position.path}")
        seen.append((page.position.path, report.pages, report.read, report.inserted))

    def pages():
        writer.events.append("read")
        yield make_page([user("a"), user("b")])
        writer.events.append("read")
        yield make_page([], out_of_scope=2)
        writer.events.append("read")
        yield make_page([user("bad", user_id=True)])
        writer.events.append("read")
        yield make_page([user("c")])

    run(USERS, pages(), writer, on_page_written=on_page_written)
    # Reads run ahead (the next page is mapped while one is written); the writes and
    # checkpoints keep their order, each checkpoint right after its page's write.
    assert [event for event in writer.events if event != "read"] == [
        "prepare",
        "write",
        "checkpoint users/b",
        "checkpoint users/~out-of-scope",
        "checkpoint users/bad",
        "write",
        "checkpoint users/c",
    ]
    # The report handed over holds the figures of the pages written so far, and only those.
    assert seen == [
        ("users/b", 1, 2, 2),
        ("users/~out-of-scope", 2, 2, 2),
        ("users/bad", 3, 3, 2),
        ("users/c", 4, 4, 3),
    ]


def test_on_page_written_receives_the_page_and_report() -> None:
    received: list[tuple[Page, CollectionReport]] = []
    pages = [make_page([user("a")]), make_page([user("b")])]
    report = run(USERS, pages, FakeWriter(), on_page_written=lambda page, rep: received.append((page, rep)))
    assert [page for page, _ in received] == pages
    assert all(rep is report for _, rep in received)


def test_on_page_written_not_called_when_write_fails() -> None:
    calls: list[str] = []

    def broken(documents: list[MappedDocument]) -> WriteOutcome:
        raise ConnectionError("mongo went away")

    pages = [make_page([user("a")])]
    with pytest.raises(ConnectionError):
        run(USERS, pages, FakeWriter(outcome=broken), on_page_written=lambda page, rep: calls.append("x"))
    assert calls == []


def test_on_page_written_error_stops_the_run() -> None:
    writer = FakeWriter()

    def failing(page: Page, report: CollectionReport) -> None:
        raise RuntimeError("checkpoint store down")

    with pytest.raises(RuntimeError, match="checkpoint store down"):
        run(USERS, [make_page([user("a")]), make_page([user("b")])], writer, on_page_written=failing)
    assert writer.events == ["prepare", "write"]


@pytest.mark.parametrize(
    ("page_sizes", "expected"),
    [
        pytest.param([], 0, id="none"),
        pytest.param([0], 1, id="one-empty"),
        pytest.param([3, 0, 2, 0], 4, id="empty-pages-count"),
        pytest.param([1] * 25, 25, id="many"),
    ],
)
def test_pages_counted(page_sizes: list[int], expected: int) -> None:
    counter = iter(range(1000))
    pages = [make_page([user(f"i{next(counter)}") for _ in range(size)]) for size in page_sizes]
    report = run(USERS, pages, FakeWriter())
    assert report.pages == expected
    assert report.read == sum(page_sizes)


@pytest.mark.parametrize(
    ("documents", "keep", "expected"),
    [
        pytest.param(
            [user("i1", fcm_token="t"), user("i2"), user("i0", fcm_token="t", legacy=1)],
            None,
            [("fcm_token", 2, "users/i0"), ("legacy", 1, "users/i0")],
            id="mapped-documents",
        ),
        pytest.param(
            [user("i1", OLD, fcm_token="t"), user("i2", NEW, fcm_token="t")],
            changed_since(THRESHOLD),
            [("fcm_token", 2, "users/i1")],
            id="skipped-documents-count-too",
        ),
        pytest.param(
            [user("bad", user_id=True, fcm_token="t"), user("i1", username="u")],
            None,
            [],
            id="failed-documents-are-failures-only",
        ),
    ],
)
def test_dropped_keys_counted_while_mapping(documents, keep, expected) -> None:
    """Counted from the documents the pipeline reads anyway, page by page, into the report."""
    pages = [make_page(documents[:1]), make_page(documents[1:])]
    report = run(USERS, pages, FakeWriter(), keep=keep)
    assert [(key.name, key.documents, key.example) for key in report.dropped_keys.counted()] == expected
