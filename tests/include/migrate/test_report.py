"""Unit tests for include.firestore_to_mongo.migrate.report: per-collection figures and the summary table."""

from __future__ import annotations

import json
import re

import pytest

from include.firestore_to_mongo.migrate.report import (
    COLUMNS,
    FAILED_EXAMPLES,
    TEXT_COLUMNS,
    CollectionReport,
    missing_report,
    render_notes,
    render_summary_table,
)


def make_report(**overrides) -> CollectionReport:
    return CollectionReport(**{"collection": "users", "target": "users", "dry_run": False, **overrides})


def test_new_report_defaults() -> None:
    report = make_report()
    assert (report.read, report.inserted, report.updated, report.unchanged) == (0, 0, 0, 0)
    assert (report.failed, report.warnings, report.out_of_scope, report.seconds) == (0, 0, 0, 0.0)
    assert (report.skipped, report.pages, report.deleted) == (0, 0, 0)
    assert (report.mode, report.status, report.resumed) == ("full", "running", False)
    assert (report.stale, report.stale_note, report.without_cursor) == (None, None, None)
    assert (report.watermark_before, report.watermark_after) == (None, None)
    assert report.failed_examples == []
    assert report.stale_samples == []
    assert report.failed_examples is not make_report().failed_examples
    assert report.stale_samples is not make_report().stale_samples


@pytest.mark.parametrize(
    ("read", "seconds", "expected"),
    [
        pytest.param(10, 4.0, 2.5, id="simple"),
        pytest.param(1, 3.0, 0.3, id="rounded-to-one-decimal"),
        pytest.param(2, 3.0, 0.7, id="rounds-up"),
        pytest.param(10, 0.0, 0.0, id="zero-seconds"),
        pytest.param(10, -1.0, 0.0, id="negative-seconds"),
        pytest.param(0, 5.0, 0.0, id="nothing-read"),
        pytest.param(1_000_000, 0.5, 2_000_000.0, id="fast"),
    ],
)
def test_docs_per_second(read: int, seconds: float, expected: float) -> None:
    assert make_report(read=read, seconds=seconds).docs_per_second == expected


@pytest.mark.parametrize(
    ("failures", "expected_examples"),
    [
        pytest.param(0, [], id="none"),
        pytest.param(1, ["users/u0: bad 0"], id="one"),
        pytest.param(FAILED_EXAMPLES, [f"users/u{i}: bad {i}" for i in range(5)], id="at-cap"),
        pytest.param(12, [f"users/u{i}: bad {i}" for i in range(5)], id="over-cap-keeps-first-five"),
    ],
)
def test_record_failure(failures: int, expected_examples: list[str]) -> None:
    report = make_report()
    for i in range(failures):
        report.record_failure(f"users/u{i}", f"bad {i}")
    assert report.failed == failures
    assert report.failed_examples == expected_examples
    assert FAILED_EXAMPLES == 5


def test_to_dict_is_json_safe_and_complete() -> None:
    report = make_report(read=10, inserted=4, updated=3, unchanged=2, seconds=4.0, status="success")
    report.record_failure("users/x", "boom")
    as_dict = report.to_dict()
    assert as_dict == {
        "collection": "users",
        "target": "users",
        "dry_run": False,
        "mode": "full",
        "read": 10,
        "inserted": 4,
        "updated": 3,
        "unchanged": 2,
        "skipped": 0,
        "failed": 1,
        "conflicts": 0,
        "warnings": 0,
        "out_of_scope": 0,
        "pages": 0,
        "retried_faults": 0,
        "seconds": 4.0,
        "cpu_seconds": 0.0,
        "status": "success",
        "failed_examples": ["users/x: boom"],
        "watermark_before": None,
        "watermark_after": None,
        "stale": None,
        "deleted": 0,
        "stale_samples": [],
        "stale_note": None,
        "without_cursor": None,
        "resumed": False,
        "partitions": 1,
        "dropped_keys": {"names": [], "more": 0, "more_at_least": False},
        "docs_per_second": 2.5,
    }
    assert json.loads(json.dumps(as_dict)) == as_dict
    # Every summary column is in the report dict.
    assert {key for _, key in COLUMNS} <= set(as_dict)


def full_report() -> CollectionReport:
    """A report with every field away from its default."""
    report = CollectionReport(
        collection="messages",
        target="avatar_conversations",
        dry_run=True,
        mode="incremental",
        read=100,
        inserted=40,
        updated=30,
        unchanged=20,
        skipped=5,
        warnings=3,
        out_of_scope=7,
        pages=4,
        seconds=12.5,
        status="failed",
        watermark_before="2026-11-01T00:00:00+00:00",
        watermark_after="2026-11-02T00:00:00+00:00",
        stale=2,
        deleted=1,
        stale_samples=[{"digital_twin_id": "t1", "conversation_id": "c1", "message_id": 7}],
        stale_note="checked",
        without_cursor=9,
        resumed=True,
    )
    report.record_failure("digital_twins/t1/conversations/c1/messages/m1", "bad")
    return report


@pytest.mark.parametrize(
    "through_json",
    [pytest.param(False, id="dict"), pytest.param(True, id="json")],
)
def test_from_dict_round_trips(through_json: bool) -> None:
    report = full_report()
    figures = report.to_dict()
    if through_json:
        figures = json.loads(json.dumps(figures))
    restored = CollectionReport.from_dict(figures)
    assert restored == report
    assert restored.to_dict() == report.to_dict()
    # The restored report's lists are not the original report's.
    restored.record_failure("x", "y")
    assert report.failed == 1


@pytest.mark.parametrize(
    ("figures", "expected"),
    [
        pytest.param(
            {"collection": "users", "target": "users", "dry_run": False},
            make_report(),
            id="only-required-defaults-fill",
        ),
        pytest.param(
            {"collection": "users", "target": "users", "dry_run": False, "docs_per_second": 99.0},
            make_report(),
            id="derived-docs-per-second-ignored",
        ),
        pytest.param(
            {
                "collection": "users",
                "target": "users",
                "dry_run": False,
                "read": 3,
                "from_a_newer_version": True,
                "": None,
            },
            make_report(read=3),
            id="unknown-keys-ignored",
        ),
    ],
)
def test_from_dict(figures: dict, expected: CollectionReport) -> None:
    assert CollectionReport.from_dict(figures) == expected


def test_from_dict_needs_identity() -> None:
    with pytest.raises(TypeError):
        CollectionReport.from_dict({"read": 1})


def test_columns() -> None:
    assert COLUMNS == (
        ("collection", "collection"),
        ("status", "status"),
        ("mode", "mode"),
        ("read", "read"),
        ("inserted", "inserted"),
        ("updated", "updated"),
        ("unchanged", "unchanged"),
        ("skipped", "skipped"),
        ("failed", "failed"),
        ("conflicts", "conflicts"),
        ("warnings", "warnings"),
        ("gone", "stale"),
        ("deleted", "deleted"),
        ("seconds", "seconds"),
        ("docs/s", "docs_per_second"),
        ("dry run", "dry_run"),
        ("watermark before", "watermark_before"),
        ("watermark after", "watermark_after"),
    )
    assert len(COLUMNS) == 18
    assert {heading for heading, _ in COLUMNS} >= TEXT_COLUMNS
    assert {"collection", "status", "mode", "watermark before", "watermark after"} == TEXT_COLUMNS


@pytest.mark.parametrize(
    ("collection", "status"),
    [
        pytest.param("messages", "upstream_failed", id="upstream-failed"),
        pytest.param("users", "skipped", id="skipped"),
    ],
)
def test_missing_report(collection: str, status: str) -> None:
    row = missing_report(collection, status)
    assert row["collection"] == collection
    assert row["status"] == status
    assert set(row) == {key for _, key in COLUMNS}
    assert [key for key, value in row.items() if value is not None] == ["collection", "status"]


HEADER = (
    "collection  status  mode  read  inserted  updated  unchanged  skipped  failed  conflicts  warnings  gone  deleted"
    "  seconds  docs/s  dry run  watermark before  watermark after"
)
RULE = (
    "----------  ------  ----  ----  --------  -------  ---------  -------  ------  ---------  --------  ----  -------"
    "  -------  ------  -------  ----------------  ---------------"
)


def test_render_table_golden() -> None:
    rows = [
        {
            "collection": "users",
            "status": "ok",
            "mode": "incremental",
            "read": 1234,
            "inserted": 1000,
            "updated": 200,
            "unchanged": 34,
            "skipped": 5,
            "failed": 0,
            "conflicts": 0,
            "warnings": 2,
            "stale": None,
            "deleted": 0,
            "seconds": 12.345,
            "docs_per_second": 100.0,
            "dry_run": False,
            "watermark_before": "2026-11-01T00:00:00+00:00",
            "watermark_after": "2026-11-02T00:00:00+00:00",
        },
        {
            "collection": "digital_twins",
            "status": "ok",
            "mode": "full",
            "read": 12,
            "inserted": 0,
            "updated": 0,
            "unchanged": 12,
            "skipped": 0,
            "failed": 2,
            "conflicts": 2,
            "warnings": 0,
            "stale": 3,
            "deleted": 3,
            "seconds": 0.5,
            "docs_per_second": 24.0,
            "dry_run": True,
            "watermark_before": None,
            "watermark_after": None,
        },
        missing_report("messages", "upstream_failed"),
    ]
    expected = "\n".join(
        [
            "collection     status           mode          read  inserted  updated  unchanged  skipped  failed  conflicts  warnings  gone  deleted  seconds  docs/s  dry run  watermark before           watermark after",
            "-------------  ---------------  -----------  -----  --------  -------  ---------  -------  ------  ---------  --------  ----  -------  -------  ------  -------  -------------------------  -------------------------",
            "users          ok               incremental  1,234     1,000      200         34        5       0          0         2     -        0     12.3   100.0       no  2026-11-01T00:00:00+00:00  2026-11-02T00:00:00+00:00",
            "digital_twins  ok               full            12         0        0         12        0       2          2         0     3        3      0.5    24.0      yes  -                          -",
            "messages       upstream_failed  -                -         -        -          -        -       -          -         -     -        -        -       -        -  -                          -",
        ]
    )
    assert render_summary_table(rows) == expected


def test_render_table_from_report_dict() -> None:
    report = make_report(read=3, inserted=3, seconds=1.5, status="success")
    lines = render_summary_table([report.to_dict()]).splitlines()
    assert len(lines) == 3
    assert lines[2].split() == [
        "users",
        "success",
        "full",
        "3",
        "3",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "-",
        "0",
        "1.5",
        "2.0",
        "no",
        "-",
        "-",
    ]


def test_render_table_no_rows() -> None:
    assert render_summary_table([]) == f"{HEADER}\n{RULE}"


def test_render_table_missing_keys_are_dashes() -> None:
    lines = render_summary_table([{"collection": "users"}]).splitlines()
    assert lines[2].split() == ["users"] + ["-"] * (len(COLUMNS) - 1)


def _column_spans(rule: str) -> list[tuple[int, int]]:
    return [(match.start(), match.end()) for match in re.finditer("-+", rule)]


def test_render_table_alignment() -> None:
    rows = [
        {"collection": "a", "status": "s", "mode": "full", "read": 1, "watermark_before": "w"},
        {
            "collection": "digital_twins",
            "status": "success",
            "mode": "incremental",
            "read": 1_000_000,
            "watermark_before": "2026-11-01T00:00:00+00:00",
        },
    ]
    lines = render_summary_table(rows).splitlines()
    spans = _column_spans(lines[1])
    assert len(spans) == len(COLUMNS)
    for (heading, _), (start, end) in zip(COLUMNS, spans, strict=True):
        cells = [line[start:end].ljust(end - start) for line in (lines[0], *lines[2:])]
        for cell in cells:
            assert cell.strip(), (heading, cell)
            if heading in TEXT_COLUMNS:
                assert not cell[0].isspace(), f"{heading} not left-aligned: {cell!r}"
            else:
                assert not cell[-1].isspace(), f"{heading} not right-aligned: {cell!r}"
    assert all(line == line.rstrip() for line in lines)


def _row(**overrides) -> dict:
    return make_report(**overrides).to_dict()


SAMPLES = [{"user_id": "u1"}, {"user_id": 2}]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(_row(), [], id="nothing-to-say"),
        pytest.param(missing_report("users", "skipped"), [], id="missing-report"),
        pytest.param(_row(stale=0), [], id="none-stale"),
        pytest.param(
            _row(stale=1234, stale_samples=SAMPLES, dry_run=True),
            [
                "users: 1,234 MongoDB documents have no Firestore source any more, would be deleted "
                "with prune; for example [{'user_id': 'u1'}, {'user_id': 2}]"
            ],
            id="stale-dry-run",
        ),
        pytest.param(
            _row(stale=2, deleted=2, stale_samples=SAMPLES),
            [
                "users: 2 MongoDB documents have no Firestore source any more, 2 deleted; "
                "for example [{'user_id': 'u1'}, {'user_id': 2}]"
            ],
            id="stale-deleted",
        ),
        pytest.param(
            _row(stale=5_000, deleted=4_999, stale_samples=SAMPLES[:1]),
            [
                "users: 5,000 MongoDB documents have no Firestore source any more, 4,999 deleted; "
                "for example [{'user_id': 'u1'}]"
            ],
            id="stale-deleted-thousands",
        ),
        pytest.param(
            _row(stale=2, stale_samples=SAMPLES),
            [
                "users: 2 MongoDB documents have no Firestore source any more, kept (pruning needs prune=true in a mode=full run); "
                "for example [{'user_id': 'u1'}, {'user_id': 2}]"
            ],
            id="stale-kept",
        ),
        pytest.param(
            _row(stale_note="incremental runs don't look for deleted sources"),
            ["users: deleted sources not checked: incremental runs don't look for deleted sources"],
            id="stale-note",
        ),
        pytest.param(
            _row(stale=0, stale_note="ignored when checked"),
            ["users: deleted sources not checked: ignored when checked"],
            id="stale-zero-falls-to-note",
        ),
        pytest.param(
            _row(stale=1, stale_note="not shown", stale_samples=SAMPLES[:1]),
            [
                "users: 1 MongoDB documents have no Firestore source any more, kept (pruning needs prune=true in a mode=full run); "
                "for example [{'user_id': 'u1'}]"
            ],
            id="stale-wins-over-note",
        ),
        pytest.param(
            _row(without_cursor=1500),
            [
                "users: 1,500 documents have a change cursor that is missing, null or not a Timestamp, "
                "epoch number or ISO date string; incremental runs can't see them, a full run does"
            ],
            id="without-cursor",
        ),
        pytest.param(_row(without_cursor=0), [], id="without-cursor-zero"),
        pytest.param(
            _row(failed=2, failed_examples=["users/a: bad", "users/b: worse"]),
            ["users: failed: users/a: bad", "users: failed: users/b: worse"],
            id="failed-examples",
        ),
        pytest.param(
            _row(
                stale_note="2 documents failed, so their keys are unknown",
                without_cursor=3,
                failed=1,
                failed_examples=["users/a: bad"],
            ),
            [
                "users: deleted sources not checked: 2 documents failed, so their keys are unknown",
                "users: 3 documents have a change cursor that is missing, null or not a Timestamp, "
                "epoch number or ISO date string; incremental runs can't see them, a full run does",
                "users: failed: users/a: bad",
            ],
            id="all-in-order",
        ),
    ],
)
def test_render_notes(row: dict, expected: list[str]) -> None:
    assert render_notes([row]) == expected


def test_render_notes_rows_in_order() -> None:
    rows = [
        {**_row(failed_examples=["users/a: bad"]), "collection": "users"},
        missing_report("digital_twins", "failed"),
        {**_row(stale_note="resumed"), "collection": "messages"},
    ]
    assert render_notes(rows) == [
        "users: failed: users/a: bad",
        "messages: deleted sources not checked: resumed",
    ]
    assert render_notes([]) == []


# --- the keys the contract drops ----------------------------------------------------------------


def test_dropped_keys_travel_through_to_dict_and_add_up() -> None:
    """Partitions' reports, through XCom's JSON, add up to the collection's; the summary's
    notes name each key with its documents and an example."""
    parts = []
    for first in (1, 3):
        part = make_report(collection="digital_twins", target="digital_twins")
        for number in (first, first + 1):
            part.dropped_keys.add(
                f"digital_twins/t{number}", ["voice_id"] if number < 4 else ["voice_id", "mood"]
            )
        parts.append(json.loads(json.dumps(part.to_dict())))
    total = make_report(collection="digital_twins", target="digital_twins")
    for part in parts:
        total.add_counts(CollectionReport.from_dict(part))

    assert total.to_dict()["dropped_keys"] == {
        "names": [
            {"name": "voice_id", "documents": 4, "example": "digital_twins/t1"},
            {"name": "mood", "documents": 1, "example": "digital_twins/t4"},
        ],
        "more": 0,
        "more_at_least": False,
    }
    assert CollectionReport.from_dict(total.to_dict()) == total
    assert render_notes([total.to_dict()]) == [
        "digital_twins: dropped by the contract: `voice_id` in 4 documents (e.g. digital_twins/t1); "
        "`mood` in 1 document (e.g. digital_twins/t4)"
    ]


@pytest.mark.parametrize(
    ("dropped_keys", "expected"),
    [
        pytest.param(None, [], id="an-older-report-without-them"),
        pytest.param({"names": [], "more": 0, "more_at_least": False}, [], id="none-dropped"),
        pytest.param(
            {"names": [{"name": "voice_id", "documents": 20, "example": "digital_twins/t1"}], "more": 2},
            [
                "users: dropped by the contract: `voice_id` in 20 documents (e.g. digital_twins/t1); and 2 more names"
            ],
            id="and-k-more",
        ),
    ],
)
def test_render_notes_dropped_keys(dropped_keys, expected: list[str]) -> None:
    row = _row() | {"dropped_keys": dropped_keys, "failed": 1, "failed_examples": ["users/a: bad"]}
    # Before the failures, after the rest.
    assert render_notes([row]) == [*expected, "users: failed: users/a: bad"]
