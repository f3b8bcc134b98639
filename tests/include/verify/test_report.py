"""Unit tests for include.firestore_to_mongo.verify.report: a collection's verify figures, the
status they settle to, and the verify summary's table and notes."""

from __future__ import annotations

import json
import logging
import re

import pytest

from include.firestore_to_mongo.verify.report import (
    CHANGING,
    COLUMNS,
    COUNTS_ONLY,
    DIFFERENCES,
    FAILED,
    REASONS,
    SAMPLED,
    TEXT_COLUMNS,
    VERIFIED,
    VerifyReport,
    failed_row,
    render_verify_notes,
    render_verify_table,
)

SINCE = "2026-11-01T00:00:00Z"


def make_report(**overrides) -> VerifyReport:
    return VerifyReport(**{"collection": "users", "target": "users", "depth": "full", **overrides})


def test_status_names() -> None:
    assert (VERIFIED, DIFFERENCES, SAMPLED, COUNTS_ONLY, CHANGING, FAILED) == (
        "verified",
        "differences",
        "sampled",
        "counts only",
        "changing",
        "failed",
    )


def test_new_report_is_running_with_nothing_counted() -> None:
    report = make_report()
    assert report.status == "running"
    assert (report.source_count, report.target_count) == (None, None)
    assert report.remaining == 0
    assert report.docs_per_second == 0.0


# --- settle ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("figures", "status", "remaining"),
    [
        # Depth counts: only the two counts matter.
        pytest.param(
            {"depth": "counts", "source_count": 5, "target_count": 5}, COUNTS_ONLY, 0, id="counts-equal"
        ),
        pytest.param(
            {"depth": "counts", "source_count": 0, "target_count": 0}, COUNTS_ONLY, 0, id="counts-both-empty"
        ),
        pytest.param(
            {"depth": "counts", "source_count": 5, "target_count": 4},
            DIFFERENCES,
            1,
            id="counts-fewer-in-mongo",
        ),
        pytest.param(
            {"depth": "counts", "source_count": 4, "target_count": 5},
            DIFFERENCES,
            1,
            id="counts-more-in-mongo",
        ),
        pytest.param(
            {
                "depth": "counts",
                "source_count": 5,
                "target_count": 5,
                "missing": 3,
                "changed_during_verify": 2,
            },
            COUNTS_ONLY,
            0,
            id="counts-ignore-other-figures",
        ),
        # Keys and full: what remains after the repair.
        pytest.param({"compared": 10}, VERIFIED, 0, id="clean"),
        pytest.param({"depth": "keys", "compared": 10}, VERIFIED, 0, id="clean-keys"),
        pytest.param({"compared": 0}, VERIFIED, 0, id="nothing-to-compare"),
        pytest.param(
            {"compared": 10, "source_count": 10, "target_count": 9}, VERIFIED, 0, id="counts-ignored"
        ),
        pytest.param({"compared": 10, "missing": 1}, DIFFERENCES, 1, id="missing"),
        pytest.param({"compared": 10, "extra": 2}, DIFFERENCES, 2, id="extra"),
        pytest.param({"compared": 10, "different": 3}, DIFFERENCES, 3, id="different"),
        pytest.param(
            {"compared": 10, "missing": 1, "extra": 2, "different": 3}, DIFFERENCES, 6, id="all-kinds"
        ),
        pytest.param({"compared": 10, "changed_during_verify": 1}, CHANGING, 0, id="only-changing"),
        pytest.param(
            {"compared": 10, "changed_during_verify": 1, "sampled": True},
            CHANGING,
            0,
            id="changing-beats-sampled",
        ),
        pytest.param(
            {"compared": 10, "changed_during_verify": 1, "different": 1},
            DIFFERENCES,
            1,
            id="differences-beat-changing",
        ),
        pytest.param({"compared": 10, "sampled": True}, SAMPLED, 0, id="sampled-clean"),
        pytest.param(
            {"compared": 10, "sampled": True, "missing": 1}, DIFFERENCES, 1, id="sampled-with-missing"
        ),
        pytest.param({"compared": 10, "missing": 2, "repaired": 2}, VERIFIED, 0, id="missing-repaired"),
        pytest.param({"compared": 10, "different": 2, "repaired": 1}, DIFFERENCES, 1, id="partly-repaired"),
        pytest.param({"compared": 10, "extra": 3, "pruned": 3}, VERIFIED, 0, id="extra-pruned"),
        pytest.param(
            {"compared": 10, "missing": 1, "different": 1, "extra": 1, "repaired": 2, "pruned": 1},
            VERIFIED,
            0,
            id="everything-repaired-and-pruned",
        ),
        pytest.param(
            {"compared": 10, "extra": 2, "pruned": 1, "sampled": True},
            DIFFERENCES,
            1,
            id="extra-left-after-prune",
        ),
        pytest.param(
            {"compared": 10, "missing": 1, "repaired": 1, "sampled": True}, SAMPLED, 0, id="sample-repaired"
        ),
        pytest.param(
            {"compared": 10, "unmappable": 4, "conflicts": 2, "out_of_scope": 9, "failed_repairs": 0},
            VERIFIED,
            0,
            id="uncompared-documents-are-no-difference",
        ),
        # changed_since: only a clean status says since when.
        pytest.param(
            {"compared": 3, "changed_since": SINCE}, f"verified since {SINCE}", 0, id="changed-clean"
        ),
        pytest.param(
            {"compared": 0, "changed_since": SINCE}, f"verified since {SINCE}", 0, id="nothing-changed"
        ),
        pytest.param(
            {"compared": 3, "changed_since": SINCE, "source_count": 9, "target_count": 8},
            f"verified since {SINCE}",
            0,
            id="changed-counts-noted-not-judged",
        ),
        pytest.param(
            {"compared": 3, "changed_since": SINCE, "extra": 1, "pruned": 1},
            f"verified since {SINCE}",
            0,
            id="changed-extra-pruned",
        ),
        pytest.param(
            {"compared": 3, "changed_since": SINCE, "different": 1}, DIFFERENCES, 1, id="changed-different"
        ),
        pytest.param({"compared": 3, "changed_since": SINCE, "extra": 1}, DIFFERENCES, 1, id="changed-extra"),
        pytest.param(
            {"compared": 3, "changed_since": SINCE, "changed_during_verify": 1},
            CHANGING,
            0,
            id="changed-changing",
        ),
    ],
)
def test_settle_status(figures: dict, status: str, remaining: int) -> None:
    report = make_report(**figures)
    report.settle()
    assert report.status == status
    assert report.remaining == remaining


@pytest.mark.parametrize(
    ("figures", "equal"),
    [
        pytest.param({"compared": 10}, 10, id="all-equal"),
        pytest.param(
            {"compared": 10, "missing": 1, "different": 2, "changed_during_verify": 3}, 4, id="subtracted"
        ),
        # Extra documents have no source document, so they were never compared.
        pytest.param({"compared": 10, "extra": 5}, 10, id="extra-not-subtracted"),
        # A repaired document was a difference when compared.
        pytest.param({"compared": 10, "missing": 2, "repaired": 2}, 8, id="repaired-not-added-back"),
        pytest.param({"compared": 10, "unmappable": 3, "conflicts": 2}, 10, id="uncompared-not-subtracted"),
        pytest.param({"depth": "counts", "compared": 10, "missing": 1}, 0, id="counts-leave-equal-alone"),
    ],
)
def test_settle_equal(figures: dict, equal: int) -> None:
    report = make_report(**figures)
    report.settle()
    assert report.equal == equal


def test_settle_again_after_more_figures() -> None:
    report = make_report(compared=5, different=1)
    report.settle()
    assert (report.status, report.equal) == (DIFFERENCES, 4)
    report.repaired = 1
    report.settle()
    assert (report.status, report.equal) == (VERIFIED, 4)


@pytest.mark.parametrize(
    ("read", "seconds", "expected"),
    [
        pytest.param(10, 4.0, 2.5, id="simple"),
        pytest.param(2, 3.0, 0.7, id="rounded-to-one-decimal"),
        pytest.param(10, 0.0, 0.0, id="zero-seconds"),
        pytest.param(0, 5.0, 0.0, id="nothing-read"),
    ],
)
def test_docs_per_second(read: int, seconds: float, expected: float) -> None:
    assert make_report(read=read, seconds=seconds).docs_per_second == expected


def test_record_failure_counts_and_logs_shortened(caplog) -> None:
    report = make_report()
    with caplog.at_level(logging.ERROR, logger="include.firestore_to_mongo.verify.report"):
        report.record_failure("users/u1", "E11000 duplicate key")
        report.record_failure("users/u2", "x" * 2_000)
    assert report.failed_repairs == 2
    first, second = (record.getMessage() for record in caplog.records)
    assert first == "users: can't repair users/u1: E11000 duplicate key"
    assert second.startswith("users: can't repair users/u2: xxx")
    assert second.endswith("… (2000 characters)")
    assert len(second) < 600


# --- to_dict / from_dict ---------------------------------------------------------------


def full_report() -> VerifyReport:
    """A report with every field away from its default."""
    report = VerifyReport(
        collection="messages",
        target="avatar_conversations",
        depth="keys",
        sampled=True,
        changed_since=SINCE,
        source_count=120,
        target_count=118,
        compared=100,
        equal=90,
        missing=4,
        extra=3,
        different=5,
        changed_during_verify=1,
        repaired=6,
        pruned=2,
        unmappable=7,
        conflicts=2,
        read=110,
        out_of_scope=3,
        pages=4,
        seconds=8.0,
        partitions=3,
        status=DIFFERENCES,
        failed_repairs=1,
        started_at="2026-11-29T12:11:00+00:00",
        ended_at="2026-11-29T12:11:04+00:00",
        wall_seconds=4.0,
        finish_seconds=0.5,
    )
    for name in REASONS:
        getattr(report, name).add(f"{name} reason", "users/u1", 2)
    return report


def test_to_dict_adds_the_derived_figures() -> None:
    figures = full_report().to_dict()
    assert figures["remaining"] == 4 + 3 + 5 - 6 - 2
    assert figures["docs_per_second"] == 27.5
    assert figures["docs_per_second_per_partition"] == 13.8
    assert figures["difference_reasons"] == {
        "reasons": [{"reason": "difference_reasons reason", "count": 2, "example": "users/u1"}],
        "other": 0,
    }
    assert {key for _, key in COLUMNS} <= set(figures)
    assert json.loads(json.dumps(figures)) == figures


@pytest.mark.parametrize("through_json", [pytest.param(False, id="dict"), pytest.param(True, id="json")])
def test_from_dict_round_trips(through_json: bool) -> None:
    report = full_report()
    figures = report.to_dict()
    if through_json:
        figures = json.loads(json.dumps(figures))
    restored = VerifyReport.from_dict(figures)
    assert restored == report
    assert restored.to_dict() == figures


@pytest.mark.parametrize(
    "figures",
    [
        pytest.param({"remaining": 99, "docs_per_second": 1.0}, id="derived-figures-recomputed"),
        pytest.param({"partition": 3, "from_a_newer_version": True}, id="unknown-keys-ignored"),
    ],
)
def test_from_dict_ignores_what_is_not_a_field(figures: dict) -> None:
    identity = {"collection": "users", "target": "users", "depth": "full"}
    assert VerifyReport.from_dict(identity | figures) == make_report()


# --- the table -------------------------------------------------------------------------

HEADINGS = [
    "collection",
    "status",
    "depth",
    "source",
    "target",
    "missing",
    "extra",
    "different",
    "changing",
    "repaired",
    "wall s",
    "docs/s",
]


def test_columns() -> None:
    assert [heading for heading, _ in COLUMNS] == HEADINGS
    assert [key for _, key in COLUMNS][3:5] == ["source_count", "target_count"]
    assert {"collection", "status", "depth"} == TEXT_COLUMNS


def test_render_verify_table_header_order() -> None:
    header, rule = render_verify_table([]).splitlines()
    assert re.split(r"  +", header) == HEADINGS
    assert [len(dashes) for dashes in rule.split("  ")] == [len(heading) for heading in HEADINGS]


@pytest.mark.parametrize("status", [FAILED, "upstream_failed"])
def test_failed_row(status: str) -> None:
    row = failed_row("messages", status)
    assert set(row) == {key for _, key in COLUMNS}
    assert {key: value for key, value in row.items() if value is not None} == {
        "collection": "messages",
        "status": status,
    }


def test_failed_row_defaults_to_failed() -> None:
    assert failed_row("users")["status"] == "failed"


def test_render_verify_table_golden() -> None:
    report = make_report(depth="full", source_count=1500, target_count=1499, compared=1500, missing=1)
    report.read, report.seconds, report.wall_seconds = 1500, 6.0, 3.0
    report.settle()
    since = make_report(collection="messages", changed_since=SINCE, read=3, source_count=9, target_count=9)
    since.settle()
    rows = [report.to_dict(), since.to_dict(), failed_row("digital_twins")]
    assert render_verify_table(rows).splitlines() == [
        "collection     status          depth  source  target  missing  extra  different  changing  repaired"
        "  wall s  docs/s",
        "-------------  --------------  -----  ------  ------  -------  -----  ---------  --------  --------"
        "  ------  ------",
        "users          differences     full    1,500   1,499        1      0          0         0         0"
        "     3.0   500.0",
        # The time is in the title: the status keeps within the line.
        "messages       verified since  full        9       9        0      0          0         0         0"
        "       -     0.0",
        "digital_twins  failed          -           -       -        -      -          -         -         -"
        "       -       -",
    ]


# --- the notes -------------------------------------------------------------------------


def _row(**overrides) -> dict:
    return make_report(**overrides).to_dict()


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(_row(compared=3), [], id="nothing-to-say"),
        pytest.param(failed_row("users"), [], id="failed-row"),
        pytest.param(_row(depth="counts", source_count=7, target_count=7), [], id="counts-equal"),
        pytest.param(
            _row(depth="counts", source_count=1_250, target_count=5),
            ["users: Firestore has 1,245 more documents than MongoDB; depth keys or full names them"],
            id="counts-more-in-firestore",
        ),
        pytest.param(
            _row(depth="counts", source_count=5, target_count=7),
            ["users: Firestore has 2 fewer documents than MongoDB; depth keys or full names them"],
            id="counts-fewer-in-firestore",
        ),
        pytest.param(
            _row(depth="counts", source_count=3, target_count=None),
            ["users: Firestore has 3 more documents than MongoDB; depth keys or full names them"],
            id="counts-target-not-counted",
        ),
        pytest.param(
            _row(depth="counts", source_count=None, target_count=3), [], id="counts-source-not-counted"
        ),
        pytest.param(
            _row(depth="full", source_count=5, target_count=7),
            [],
            id="count-delta-only-noted-at-depth-counts",
        ),
        pytest.param(
            _row(changed_since=SINCE, source_count=9, target_count=7),
            [
                "users: Firestore has 2 more documents than MongoDB; only those changed since "
                f"{SINCE} were compared (unmappable documents and key conflicts count too; a full "
                "verify names the rest)"
            ],
            id="changed-count-delta",
        ),
        pytest.param(
            _row(changed_since=SINCE, source_count=9, target_count=9), [], id="changed-counts-equal"
        ),
        pytest.param(
            _row(unmappable=1_001),
            [
                "users: 1,001 source documents can't be mapped by the contract (the migration fails "
                "them too), so they were not compared"
            ],
            id="unmappable",
        ),
        pytest.param(
            _row(conflicts=2),
            [
                "users: 2 source documents have another document's key (key conflicts: only the winner "
                "is migrated and compared)"
            ],
            id="conflicts",
        ),
        pytest.param(
            _row(changed_during_verify=4),
            [
                "users: 4 documents kept changing during the verify; stop writes and verify again to "
                "check them"
            ],
            id="changing",
        ),
        pytest.param(
            _row(failed_repairs=3), ["users: 3 repair writes failed (see the task log)"], id="failed-repairs"
        ),
        pytest.param(
            _row(out_of_scope=12),
            ["users: 12 documents outside the migrated paths were left out"],
            id="out-of-scope",
        ),
        pytest.param(
            _row(
                depth="counts",
                source_count=2,
                target_count=1,
                unmappable=1,
                conflicts=1,
                changed_during_verify=1,
                failed_repairs=1,
                out_of_scope=1,
            ),
            [
                "users: Firestore has 1 more documents than MongoDB; depth keys or full names them",
                "users: 1 source documents can't be mapped by the contract (the migration fails them "
                "too), so they were not compared",
                "users: 1 source documents have another document's key (key conflicts: only the winner "
                "is migrated and compared)",
                "users: 1 documents kept changing during the verify; stop writes and verify again to "
                "check them",
                "users: 1 repair writes failed (see the task log)",
                "users: 1 documents outside the migrated paths were left out",
            ],
            id="all-in-order",
        ),
    ],
)
def test_render_verify_notes(row: dict, expected: list[str]) -> None:
    assert render_verify_notes([row]) == expected


def test_render_verify_notes_rows_in_order() -> None:
    rows = [
        {**_row(out_of_scope=1), "collection": "messages"},
        failed_row("digital_twins"),
        _row(conflicts=1),
    ]
    assert [note.split(":")[0] for note in render_verify_notes(rows)] == ["messages", "users"]
    assert render_verify_notes([]) == []
