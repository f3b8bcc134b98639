"""Unit tests for include.firestore_to_mongo.report: per-collection figures and the summary table."""

from __future__ import annotations

import json

import pytest

from include.firestore_to_mongo.report import (
    COLUMNS,
    FAILED_EXAMPLES,
    CollectionReport,
    _cell,
    missing_report,
    render_table,
)


def make_report(**overrides) -> CollectionReport:
    return CollectionReport(collection="users", target="users", dry_run=False, **overrides)


def test_new_report_defaults() -> None:
    report = make_report()
    assert (report.read, report.inserted, report.updated, report.unchanged) == (0, 0, 0, 0)
    assert (report.failed, report.warnings, report.out_of_scope, report.seconds) == (0, 0, 0, 0.0)
    assert report.status == "running"
    assert report.failed_examples == []
    assert report.failed_examples is not make_report().failed_examples


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
        "read": 10,
        "inserted": 4,
        "updated": 3,
        "unchanged": 2,
        "failed": 1,
        "warnings": 0,
        "out_of_scope": 0,
        "seconds": 4.0,
        "status": "success",
        "failed_examples": ["users/x: boom"],
        "docs_per_second": 2.5,
    }
    assert json.loads(json.dumps(as_dict)) == as_dict
    # Every summary column is in the report dict.
    assert {key for _, key in COLUMNS} <= set(as_dict)


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


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "-", id="none"),
        pytest.param(True, "yes", id="true"),
        pytest.param(False, "no", id="false"),
        pytest.param(0, "0", id="int-zero"),
        pytest.param(1234567, "1,234,567", id="int-thousands"),
        pytest.param(-1500, "-1,500", id="negative-int"),
        pytest.param(0.0, "0.0", id="float-zero"),
        pytest.param(1234.56, "1,234.6", id="float-thousands-one-decimal"),
        pytest.param(12.345, "12.3", id="float-rounded"),
        pytest.param("success", "success", id="string"),
        pytest.param("", "", id="empty-string"),
    ],
)
def test_cell(value: object, expected: str) -> None:
    assert _cell(value) == expected


def test_render_table_golden() -> None:
    rows = [
        {
            "collection": "users",
            "status": "success",
            "read": 1234,
            "inserted": 1000,
            "updated": 200,
            "unchanged": 34,
            "failed": 0,
            "warnings": 2,
            "seconds": 12.345,
            "docs_per_second": 100.0,
            "dry_run": False,
        },
        missing_report("messages", "upstream_failed"),
    ]
    expected = "\n".join(
        [
            "collection  status            read  inserted  updated  unchanged  failed  warnings  seconds  docs/s  dry run",
            "----------  ---------------  -----  --------  -------  ---------  ------  --------  -------  ------  -------",
            "users       success          1,234     1,000      200         34       0         2     12.3   100.0       no",
            "messages    upstream_failed      -         -        -          -       -         -        -       -        -",
        ]
    )
    assert render_table(rows) == expected


def test_render_table_from_report_dict() -> None:
    report = make_report(read=3, inserted=3, seconds=1.5, status="success")
    lines = render_table([report.to_dict()]).splitlines()
    assert len(lines) == 3
    assert lines[2].split() == ["users", "success", "3", "3", "0", "0", "0", "0", "1.5", "2.0", "no"]


def test_render_table_no_rows() -> None:
    assert render_table([]) == (
        "collection  status  read  inserted  updated  unchanged  failed  warnings  seconds  docs/s  dry run\n"
        "----------  ------  ----  --------  -------  ---------  ------  --------  -------  ------  -------"
    )


def test_render_table_missing_keys_are_dashes() -> None:
    lines = render_table([{"collection": "users"}]).splitlines()
    assert lines[2].split() == ["users", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"]


def test_render_table_columns_align() -> None:
    rows = [
        {"collection": "a", "status": "s", "read": 1},
        {"collection": "digital_twins", "status": "success", "read": 1_000_000},
    ]
    lines = render_table(rows).splitlines()
    # The read column is right-aligned: both numbers end at the same offset.
    assert lines[2].index("1 ") + 1 == lines[3].index("1,000,000") + len("1,000,000")
    # Text columns are left-aligned: status starts at the same offset on every line.
    assert lines[0].index("status") == lines[2].index("s ") == lines[3].index("success")
    assert all(line == line.rstrip() for line in lines)
