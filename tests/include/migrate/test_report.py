"""Unit tests for include.firestore_to_mongo.migrate.report: per-collection figures and the summary table."""

from __future__ import annotations

import json
import re

import pytest

from include.firestore_to_mongo.migrate.report import (
    COLUMNS,
    DROPPED_SHOWN,
    FAILED_EXAMPLES,
    KEY_CONFLICT,
    TEXT_COLUMNS,
    CollectionReport,
    missing_report,
    render_block,
    render_notes,
    render_summary,
    render_summary_table,
)
from include.firestore_to_mongo.util.reasons import SHOWN
from include.firestore_to_mongo.util.table import LINE_WIDTH, SummaryLines


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
        "started_at": None,
        "ended_at": None,
        "wall_seconds": None,
        "status": "success",
        "failed_examples": ["users/x: boom"],
        "failure_reasons": {"reasons": [{"reason": "boom", "count": 1, "example": "users/x"}], "other": 0},
        "warning_reasons": {"reasons": [], "other": 0},
        "conflict_reasons": {"reasons": [], "other": 0},
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
        "docs_per_second_per_partition": 2.5,
        "written": 7,
    }
    assert json.loads(json.dumps(as_dict)) == as_dict


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
        ("written", "written"),
        ("unchanged", "unchanged"),
        ("failed", "failed"),
        ("warnings", "warnings"),
        ("gone/deleted", ("stale", "deleted")),
        ("wall s", "wall_seconds"),
        ("docs/s", "docs_per_second"),
    )
    assert {heading for heading, _ in COLUMNS} >= TEXT_COLUMNS
    assert {"collection", "status", "mode"} == TEXT_COLUMNS


def column_keys() -> set[str]:
    return {part for _, key in COLUMNS for part in (key if isinstance(key, tuple) else (key,))}


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
    assert set(row) == column_keys()
    assert [key for key, value in row.items() if value is not None] == ["collection", "status"]


def test_every_column_is_in_the_report_dict() -> None:
    assert column_keys() <= set(make_report().to_dict())


HEADER = "collection  status  mode  read  written  unchanged  failed  warnings  gone/deleted  wall s  docs/s"
RULE = "----------  ------  ----  ----  -------  ---------  ------  --------  ------------  ------  ------"


def test_render_table_golden() -> None:
    rows = [
        make_report(
            status="ok",
            mode="incremental",
            read=1234,
            inserted=1000,
            updated=200,
            unchanged=34,
            skipped=5,
            warnings=2,
            seconds=24.69,
            wall_seconds=12.345,
        ).to_dict(),
        make_report(
            collection="digital_twins",
            status="ok",
            read=12,
            unchanged=12,
            failed=2,
            conflicts=2,
            stale=3,
            deleted=3,
            seconds=0.5,
            wall_seconds=0.5,
            dry_run=True,
        ).to_dict(),
        missing_report("messages", "upstream_failed"),
    ]
    assert render_summary_table(rows).splitlines() == [
        "collection     status           mode          read  written  unchanged  failed  warnings  gone/deleted  wall s  docs/s",
        "-------------  ---------------  -----------  -----  -------  ---------  ------  --------  ------------  ------  ------",
        "users          ok               incremental  1,234    1,200         34       0         2             -    12.3   100.0",
        "digital_twins  ok               full            12        0         12       2         0           3/3     0.5    24.0",
        "messages       upstream_failed  -                -        -          -       -         -             -       -       -",
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
        make_report(collection="a", status="s", read=1, wall_seconds=1.0).to_dict(),
        make_report(
            collection="digital_twins", status="ok", mode="incremental", read=1_000_000, stale=1
        ).to_dict(),
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
            _row(retried_faults=2),
            [
                "users: rode out 2 transient faults (a closed connection, no primary, ...) inside its tasks; "
                "each is a warning in its task's log"
            ],
            id="retried-faults",
        ),
        pytest.param(
            _row(failed=2, failed_examples=["users/a: bad", "users/b: worse"]),
            [],
            id="failures-are-in-the-block-not-the-notes",
        ),
        pytest.param(
            _row(stale_note="2 documents failed, so their keys are unknown", without_cursor=3),
            [
                "users: deleted sources not checked: 2 documents failed, so their keys are unknown",
                "users: 3 documents have a change cursor that is missing, null or not a Timestamp, "
                "epoch number or ISO date string; incremental runs can't see them, a full run does",
            ],
            id="all-in-order",
        ),
    ],
)
def test_render_notes(row: dict, expected: list[str]) -> None:
    assert render_notes([row]) == expected


def test_render_notes_rows_in_order() -> None:
    rows = [
        {**_row(without_cursor=1), "collection": "users"},
        missing_report("digital_twins", "failed"),
        {**_row(stale_note="resumed"), "collection": "messages"},
    ]
    assert [note.split(":")[0] for note in render_notes(rows)] == ["users", "messages"]
    assert render_notes([]) == []


# --- rates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("read", "seconds", "wall_seconds", "rate", "per_partition"),
    [
        pytest.param(100, 40.0, 10.0, 10.0, 2.5, id="four-partitions-side-by-side"),
        pytest.param(100, 10.0, 10.0, 10.0, 10.0, id="one-partition"),
        pytest.param(100, 10.0, 25.0, 4.0, 10.0, id="resumed-wall-longer-than-the-work"),
        pytest.param(100, 40.0, None, 2.5, 2.5, id="older-figures-without-instants"),
        pytest.param(100, 0.0, 0.0, 0.0, 0.0, id="no-time"),
    ],
)
def test_rates(read, seconds, wall_seconds, rate, per_partition) -> None:
    report = make_report(read=read, seconds=seconds, wall_seconds=wall_seconds)
    figures = report.to_dict()
    assert (figures["docs_per_second"], figures["docs_per_second_per_partition"]) == (rate, per_partition)


# --- the keys the contract drops ----------------------------------------------------------------


def test_dropped_keys_travel_through_to_dict_and_add_up() -> None:
    """Partitions' reports, through XCom's JSON, add up to the collection's; the summary's
    block names each key with its documents and an example."""
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
    lines = SummaryLines()
    render_block(total.to_dict() | {"status": "ok"}, lines)
    assert lines.lines[-3:] == [
        "  dropped by the contract: 2 names",
        "    `voice_id` in 4 documents, e.g. digital_twins/t1",
        "    `mood` in 1 document, e.g. digital_twins/t4",
    ]


@pytest.mark.parametrize(
    ("dropped_keys", "expected"),
    [
        pytest.param(None, [], id="an-older-report-without-them"),
        pytest.param({"names": [], "more": 0, "more_at_least": False}, [], id="none-dropped"),
        pytest.param(
            {"names": [{"name": "voice_id", "documents": 20, "example": "digital_twins/t1"}], "more": 2},
            [
                "  dropped by the contract: 3 names",
                "    `voice_id` in 20 documents, e.g. digital_twins/t1",
                "    and 2 more names (the XCom's dropped_keys lists up to 1 with their counts)",
            ],
            id="and-k-more",
        ),
        pytest.param(
            {
                "names": [{"name": f"k{i:02}", "documents": 1, "example": "users/a"} for i in range(12)],
                "more": 0,
            },
            [
                "  dropped by the contract: 12 names",
                *(f"    `k{i:02}` in 1 document, e.g. users/a" for i in range(DROPPED_SHOWN)),
                "    and 2 more names (the XCom's dropped_keys lists up to 12 with their counts)",
            ],
            id="first-ten-shown",
        ),
        pytest.param(
            {"names": [{"name": "n" * 300, "documents": 1, "example": "users/" + "p" * 300}], "more": 0},
            [
                "  dropped by the contract: 1 name",
                # 120 characters: the path's start and end show.
                f"    `{'n' * 19}…{'n' * 20}` in 1 document, e.g. users/{'p' * 20}…{'p' * 26}",
            ],
            id="long-name-and-path-cut-in-the-middle",
        ),
    ],
)
def test_render_block_dropped_keys(dropped_keys, expected: list[str]) -> None:
    lines = SummaryLines()
    render_block(_row(status="ok") | {"dropped_keys": dropped_keys}, lines)
    dropped = [line for line in lines.lines if "dropped" in line or line.startswith("    ")]
    assert dropped == expected


# --- reasons ---------------------------------------------------------------------------------------


def test_failures_warnings_and_conflicts_keep_their_reasons() -> None:
    report = make_report()
    report.record_failure("users/b", "user_id must be a string or an integer, not dict")
    report.record_failure("users/a", "user_id must be a string or an integer, not dict")
    report.record_conflict("users/d", '{"user_id": "same"}', "users/c", "key conflict: ...")
    report.record_warning(
        "users/e", "last_login: unparseable date string 'soon': Unknown string format; kept unchanged"
    )
    report.record_warning(
        "users/f", "last_login: unparseable date string 'later': Unknown string format; kept unchanged"
    )

    figures = json.loads(json.dumps(report.to_dict()))

    assert (figures["failed"], figures["conflicts"], figures["warnings"]) == (3, 1, 2)
    assert figures["failure_reasons"]["reasons"] == [
        {"reason": "user_id must be a string or an integer, not dict", "count": 2, "example": "users/a"},
        {"reason": KEY_CONFLICT, "count": 1, "example": "users/d"},
    ]
    assert figures["warning_reasons"]["reasons"] == [
        {
            "reason": "last_login: unparseable date string …: Unknown string format; kept unchanged",
            "count": 2,
            "example": "users/e",
        }
    ]
    assert figures["conflict_reasons"]["reasons"] == [
        {
            "reason": KEY_CONFLICT,
            "count": 1,
            "example": 'users/d (key {"user_id": "same"}, also users/c\'s, which wins)',
        }
    ]
    assert CollectionReport.from_dict(figures) == report


def test_reasons_add_up_over_partitions_through_json() -> None:
    """Each partition's reasons, through XCom's JSON, merge into the collection's: counts
    add up, the example is the smallest path, whichever partition met it."""
    parts = []
    for index in range(3):
        part = make_report(collection="messages", target="avatar_conversations")
        for page in range(2):
            part.record_warning(
                f"m/{index}{page}", f"timestamp: epoch {index}e400 is not a finite number; kept unchanged"
            )
        part.record_failure(f"m/x{index}", f"field name 'a.{index}' can't be written by a MongoDB $set")
        parts.append(json.loads(json.dumps(part.to_dict())))
    total = make_report(collection="messages", target="avatar_conversations")
    for part in reversed(parts):
        total.add_counts(CollectionReport.from_dict(part))

    assert total.warning_reasons.as_dict() == {
        "reasons": [
            {
                "reason": "timestamp: epoch … is not a finite number; kept unchanged",
                "count": 6,
                "example": "m/00",
            }
        ],
        "other": 0,
    }
    assert total.failure_reasons.as_dict()["reasons"] == [
        {"reason": "field name … can't be written by a MongoDB $set", "count": 3, "example": "m/x0"}
    ]


# --- the whole summary: every line within 120 characters -----------------------------------------


def _with_reasons(report: CollectionReport, failures: int = 0, warnings: int = 0, conflicts: int = 0):
    for index in range(failures):
        report.record_failure(f"users/f{index:03}", f"reason number {index % 15} of {'x' * (index % 7)} kind")
    for index in range(warnings):
        report.record_warning(
            f"users/w{index:03}", f"field_{index % 13}: unparseable date string 'v{index}'; kept unchanged"
        )
    for index in range(conflicts):
        report.record_conflict(
            f"users/c{index:03}b", f'{{"user_id": "k{index}"}}', f"users/c{index:03}a", "key conflict"
        )
    return report


LONG_PATH = "digital_twins/" + "t" * 200 + "/conversations/" + "c" * 300 + "/messages/" + "m" * 150
WIDE = 123_456_789_012


def _summary_cases():
    ok = {"status": "ok", "mode": "full (no watermark)", "partitions": 4}
    return [
        pytest.param([_row(**ok, read=10, inserted=10, seconds=0.4, wall_seconds=0.2)], id="plain"),
        pytest.param(
            [
                _row(
                    **ok,
                    read=WIDE,
                    inserted=WIDE,
                    updated=WIDE,
                    unchanged=WIDE,
                    skipped=WIDE,
                    failed=WIDE,
                    warnings=WIDE,
                    conflicts=WIDE,
                    stale=WIDE,
                    deleted=WIDE,
                    retried_faults=WIDE,
                    seconds=WIDE * 1.5,
                    wall_seconds=WIDE / 7,
                    cpu_seconds=WIDE / 3,
                    without_cursor=WIDE,
                )
            ],
            id="wide-numbers",
        ),
        pytest.param(
            [
                _row(
                    **ok,
                    dry_run=True,
                    read=5,
                    inserted=3,
                    updated=2,
                    stale=7,
                    stale_samples=[{"user_id": "u" * 200}] * 5,
                    watermark_before="2026-11-01T00:00:00+00:00",
                ),
            ],
            id="dry-run",
        ),
        pytest.param(
            [_with_reasons(make_report(**ok, read=500), failures=400, warnings=300, conflicts=40).to_dict()],
            id="many-reasons",
        ),
        pytest.param(
            [
                _with_reasons(make_report(**ok, read=2), failures=1).to_dict()
                | {"failure_reasons": {"reasons": [{"reason": "r" * 500, "count": 1, "example": LONG_PATH}]}},
                _row(
                    **ok,
                    read=1,
                    warnings=1,
                    warning_reasons={"reasons": [{"reason": "w " * 300, "count": 1, "example": LONG_PATH}]},
                ),
                _row(
                    **ok,
                    read=1,
                    conflicts=1,
                    conflict_reasons={
                        "reasons": [
                            {
                                "reason": KEY_CONFLICT,
                                "count": 1,
                                "example": f"{LONG_PATH} (key {{}}, also {LONG_PATH}'s)",
                            }
                        ]
                    },
                ),
            ],
            id="long-reasons-and-paths",
        ),
        pytest.param(
            [
                _row(status="a status far longer than any the summary sets" * 3, mode="m" * 80, read=1),
                missing_report("u" * 150, "failed"),
                _row(
                    status="ok",
                    read=1,
                    stale_note="n" * 400,
                    dropped_keys={
                        "names": [{"name": "k" * 500, "documents": 1, "example": LONG_PATH}],
                        "more": 10**9,
                        "more_at_least": True,
                    },
                ),
            ],
            id="long-names",
        ),
        pytest.param(
            [
                missing_report("users", "skipped"),
                missing_report("digital_twins", "failed"),
                _row(status="failed", read=3, failed=3, failed_examples=["c/1: bad"]),
                _row(status="running", read=1),
                missing_report("messages", "upstream_failed"),
                _row(
                    status="ok", mode="incremental", read=2, without_cursor=2, retried_faults=1, resumed=True
                ),
            ],
            id="every-status",
        ),
    ]


@pytest.mark.parametrize("rows", _summary_cases())
@pytest.mark.parametrize("dry_run", [False, True])
def test_every_line_of_the_summary_is_at_most_120_characters(
    rows: list[dict], dry_run: bool, request
) -> None:
    title = "Firestore → MongoDB" + (" (dry run: nothing was written)" if dry_run else "")
    text = render_summary(title, rows)
    lines = text.splitlines()
    too_long = [line for line in lines if len(line) > LINE_WIDTH]
    assert not too_long, "\n".join(too_long)
    assert lines[0] == title
    # A row per collection, a block per collection that ran; whatever was cut says so.
    assert len([line for line in lines if line.startswith("-------")]) == 1
    cut = lines[-1].startswith("(… in a name or a path: cut to fit 120 characters a line;")
    assert cut == any(key in request.node.callspec.id for key in ("long-",))


@pytest.mark.parametrize(
    ("figure", "label"),
    [("failed", "failed"), ("warnings", "warnings"), ("conflicts", "conflicts")],
)
def test_every_non_zero_figure_is_followed_by_its_top_reasons(figure: str, label: str) -> None:
    report = _with_reasons(make_report(status="ok", read=100), failures=40, warnings=40, conflicts=40)
    text = render_summary("t", [report.to_dict()])
    lines = text.splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"  {label} ")]
    count = getattr(report, figure)
    assert lines[at] == f"  {label} {count:,}, top reasons:"
    top = getattr(report, {"failed": "failure_reasons"}.get(figure, figure.rstrip("s") + "_reasons")).top()
    assert 1 <= len(top) <= SHOWN
    shown = lines[at + 1 : at + 1 + 2 * len(top)]
    assert [line.split(" × ")[0].strip() for line in shown[::2]] == [f"{reason.count:,}" for reason in top]
    assert [line.lstrip() for line in shown[1::2]] == [f"e.g. {reason.example}" for reason in top]
    counts = sum(reason.count for reason in top)
    after = lines[at + 1 + 2 * len(top)] if len(lines) > at + 1 + 2 * len(top) else ""
    if counts < count:
        assert after == f"    and {count - counts:,} more with other reasons"
    else:
        assert not after.startswith("    and")


def test_zero_figures_have_no_reasons_and_older_figures_say_so() -> None:
    clean = render_summary("t", [_row(status="ok", read=3)])
    assert "top reasons" not in clean
    older = _row(status="ok", read=3, failed=2) | {"failure_reasons": None}
    assert "    none recorded (figures from an older version)" in render_summary("t", [older]).splitlines()


def test_render_summary_golden() -> None:
    report = make_report(
        collection="messages",
        target="avatar_conversations",
        status="ok",
        mode="full (no watermark)",
        read=3052,
        inserted=3000,
        updated=50,
        seconds=7.8,
        cpu_seconds=2.0,
        wall_seconds=2.0,
        partitions=4,
        watermark_after="2026-11-29T12:11:00.842000+00:00",
    )
    report.record_warning(
        "digital_twins/t1/conversations/c1/messages/m2",
        "timestamp: unparseable date string 'sometime last week': Unknown string format; kept unchanged",
    )
    report.record_warning(
        "digital_twins/t1/conversations/c1/messages/m1",
        "timestamp: unparseable date string 'later': Unknown string format; kept unchanged",
    )
    report.record_conflict(
        "digital_twins/t1/conversations/c1/messages/m4",
        '{"digital_twin_id": "t1", "conversation_id": "c1", "message_id": "m3"}',
        "digital_twins/t1/conversations/c1/messages/m3",
        "key conflict: ...",
    )
    report.unchanged = 1
    rows = [missing_report("users", "skipped"), report.to_dict()]
    assert render_summary("Firestore → MongoDB", rows).splitlines() == [
        "Firestore → MongoDB",
        "collection  status   mode                  read  written  unchanged  failed  warnings  gone/deleted  wall s   docs/s",
        "----------  -------  -------------------  -----  -------  ---------  ------  --------  ------------  ------  -------",
        "users       skipped  -                        -        -          -       -         -             -       -        -",
        "messages    ok       full (no watermark)  3,052    3,050          1       1         2             -     2.0  1,526.0",
        "written: inserted + updated; gone/deleted: MongoDB documents whose source is gone (- not looked for)",
        "wall s: from the first partition's start to the last one's end; docs/s: read ÷ wall s",
        "",
        "messages: inserted 3,000, updated 50; skipped 0 (unchanged since the watermark); conflicts 1; retried faults 0",
        "  watermark: - → 2026-11-29T12:11:00.842000+00:00",
        "  time: 4 partitions, 7.8 s of partition time, 391.3 docs/s per partition (2.0 s CPU)",
        "  failed 1, top reasons:",
        "    1 × key conflict",
        "        e.g. digital_twins/t1/conversations/c1/messages/m4",
        "  warnings 2, top reasons:",
        "    2 × timestamp: unparseable date string …: Unknown string format; kept unchanged",
        "        e.g. digital_twins/t1/conversations/c1/messages/m1",
        "  conflicts 1, top reasons:",
        "    1 × key conflict",
        '        e.g. digital_twins/t1/conversations/c1/messages/m4 (key {"digital_twin_id": "t1", "conversation_id": "c1",',
        '          "message_id": "m3"}, also digital_twins/t1/conversations/c1/messages/m3\'s, which wins)',
    ]
