"""The verify summary's log (include.firestore_to_mongo.verify.report.render_verify_summary) and
the reasons behind its figures (verify.verifier.reason_of, count_reason, settle_conflicts): every
line within 120 characters, every non-zero difference, moving document, conflict, unmappable
document and failed repair followed by its top reasons."""

from __future__ import annotations

import json

import pytest

from include.firestore_to_mongo.contract.mapping import map_document
from include.firestore_to_mongo.contract.specs import USERS
from include.firestore_to_mongo.keys.conflicts import ConflictGuard
from include.firestore_to_mongo.keys.ledger import LocalKeyLedger
from include.firestore_to_mongo.util.reasons import SHOWN
from include.firestore_to_mongo.util.table import LINE_WIDTH
from include.firestore_to_mongo.verify.reasons import count_reason, reason_of
from include.firestore_to_mongo.verify.report import (
    KEY_CONFLICT,
    REASONS,
    VerifyReport,
    failed_row,
    render_verify_summary,
)
from include.firestore_to_mongo.verify.store import (
    CHANGED,
    CONFLICT,
    DIFFERENT,
    EXTRA,
    MISSING,
    UNMAPPABLE,
    Difference,
)
from include.firestore_to_mongo.verify.verifier import settle_conflicts

SINCE = "2026-11-01T00:00:00.123Z"


def make_report(**overrides) -> VerifyReport:
    return VerifyReport(**{"collection": "users", "target": "users", "depth": "full", **overrides})


def field(name: str) -> dict[str, str]:
    return {"field": name, "firestore": "1", "mongodb": "2"}


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        pytest.param(
            Difference(MISSING, {"user_id": "u1"}, "users/u1"),
            ("difference_reasons", "missing from MongoDB", "users/u1"),
            id="missing",
        ),
        pytest.param(
            Difference(EXTRA, {"user_id": "u9"}, None),
            (
                "difference_reasons",
                "extra in MongoDB: no source document has its key",
                'key {"user_id": "u9"}',
            ),
            id="extra-has-its-key-for-example",
        ),
        pytest.param(
            Difference(DIFFERENT, {"user_id": "u1"}, "users/u1", [field("username"), field("email")]),
            ("difference_reasons", "different: email, username", "users/u1"),
            id="different-by-its-fields-sorted",
        ),
        pytest.param(
            Difference(CHANGED, None, "users/u2", reason="deleted from Firestore during the verify"),
            ("changing_reasons", "deleted from Firestore during the verify", "users/u2"),
            id="changing",
        ),
        pytest.param(
            Difference(
                UNMAPPABLE, None, "users/u3", reason="user_id must be a string or an integer, not dict"
            ),
            ("unmappable_reasons", "user_id must be a string or an integer, not dict", "users/u3"),
            id="unmappable",
        ),
        pytest.param(
            Difference(
                UNMAPPABLE, None, "users/u4", reason="field name 'a.b' can't be written by a MongoDB $set"
            ),
            ("unmappable_reasons", "field name … can't be written by a MongoDB $set", "users/u4"),
            id="unmappable-value-left-out",
        ),
        pytest.param(
            Difference(CONFLICT, {"user_id": "k"}, "users/b", reason="same key as users/a"),
            ("conflict_reasons", KEY_CONFLICT, "users/b"),
            id="conflict",
        ),
    ],
)
def test_reason_of(difference: Difference, expected: tuple[str, str, str]) -> None:
    assert reason_of(difference) == expected


def test_count_reason_adds_and_takes_back() -> None:
    report = make_report()
    for path in ("users/b", "users/a", "users/c"):
        count_reason(report, Difference(DIFFERENT, {"user_id": path}, path, [field("email")]))
    count_reason(report, Difference(MISSING, {"user_id": "m"}, "users/m"))
    count_reason(report, Difference(DIFFERENT, {"user_id": "c"}, "users/c", [field("email")]), -1)
    assert report.difference_reasons.as_dict() == {
        "reasons": [
            {"reason": "different: email", "count": 2, "example": "users/a"},
            {"reason": "missing from MongoDB", "count": 1, "example": "users/m"},
        ],
        "other": 0,
    }


class FakeStore:
    """What settle_conflicts asks of a DifferenceStore: the records a partition made."""

    def __init__(self, records: dict[str, Difference]) -> None:
        self.records = records
        self.added: list[Difference] = []

    def remove(self, path: str):
        found = self.records.pop(path, None)
        return None if found is None else {name: getattr(found, name) for name in vars(found)}

    def add(self, differences: list[Difference]) -> None:
        self.added += differences


def test_settle_conflicts_takes_a_losers_difference_back_and_names_the_conflict() -> None:
    with LocalKeyLedger() as ledger:
        guard = ConflictGuard(USERS, ledger)
        guard.winners([map_document(USERS, f"users/{uid}", {"user_id": "same"}) for uid in ("b", "c")])
        report = make_report(different=1)
        loser = Difference(DIFFERENT, {"user_id": "same"}, "users/c", [field("email")])
        count_reason(report, loser)
        store = FakeStore({"users/c": loser})

        settle_conflicts(USERS, ledger, store, report)

    assert (report.different, report.conflicts) == (0, 1)
    assert not report.difference_reasons
    assert report.conflict_reasons.as_dict()["reasons"] == [
        {
            "reason": KEY_CONFLICT,
            "count": 1,
            "example": 'users/c (key {"user_id": "same"}, also users/b\'s, which wins)',
        }
    ]
    assert [difference.kind for difference in store.added] == [CONFLICT]


def test_partitions_reasons_merge_through_json() -> None:
    parts = []
    for index in range(3):
        part = make_report()
        count_reason(part, Difference(MISSING, {"user_id": f"u{index}"}, f"users/u{index}"))
        part.record_failure(
            f"users/r{index}", f'E11000 duplicate key error dup key: {{ user_id: "{index}" }}'
        )
        parts.append(json.loads(json.dumps(part.to_dict())))
    total = make_report()
    for part in parts:
        total.merge_reasons(VerifyReport.from_dict(part))
    assert total.difference_reasons.top()[0].count == 3
    assert total.difference_reasons.top()[0].example == "users/u0"
    assert total.failed_repair_reasons.as_dict()["reasons"] == [
        {"reason": "E11000 duplicate key error dup key: { user_id: … }", "count": 3, "example": "users/r0"}
    ]


LONG_PATH = "digital_twins/" + "t" * 300 + "/conversations/" + "c" * 300
WIDE = 987_654_321_098


def _with_reasons(report: VerifyReport, count: int) -> VerifyReport:
    for index in range(count):
        count_reason(
            report, Difference(DIFFERENT, {"user_id": index}, f"users/{index:04}", [field(f"f{index % 13}")])
        )
        count_reason(
            report,
            Difference(CHANGED, None, f"users/c{index:04}", reason=f"changed in way {'abcd'[index % 4]}"),
        )
        count_reason(
            report, Difference(UNMAPPABLE, None, f"users/x{index:04}", reason=f"v{index % 17} is bad")
        )
        report.record_failure(f"users/r{index:04}", f"write refused for {'vwxyz'[index % 5]}")
    report.different = report.changed_during_verify = report.unmappable = report.failed_repairs = count
    return report


def _row(**overrides) -> dict:
    report = make_report(**overrides)
    report.settle()
    return report.to_dict()


def _cases():
    return [
        pytest.param(
            [_row(read=3, compared=3, source_count=3, target_count=3, seconds=0.2, wall_seconds=0.1)],
            id="plain",
        ),
        pytest.param(
            [
                _row(
                    read=WIDE,
                    compared=WIDE,
                    source_count=WIDE,
                    target_count=WIDE,
                    missing=WIDE,
                    extra=WIDE,
                    different=WIDE,
                    changed_during_verify=WIDE,
                    repaired=WIDE,
                    pruned=WIDE,
                    seconds=WIDE / 3,
                    wall_seconds=WIDE / 9,
                    partitions=64,
                    unmappable=WIDE,
                    conflicts=WIDE,
                    failed_repairs=WIDE,
                    out_of_scope=WIDE,
                    retried_faults=WIDE,
                )
            ],
            id="wide-numbers",
        ),
        pytest.param([_with_reasons(make_report(read=400, compared=400), 400).to_dict()], id="many-reasons"),
        pytest.param(
            [
                _row(
                    read=1,
                    missing=1,
                    difference_reasons={
                        "reasons": [{"reason": "missing from MongoDB", "count": 1, "example": LONG_PATH}]
                    },
                ),
                _row(
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
            id="long-paths",
        ),
        pytest.param(
            [
                _row(changed_since=SINCE, read=2, source_count=9, target_count=7),
                _row(depth="counts", source_count=5, target_count=7),
                _row(sampled=True, read=5, compared=5),
                _row(read=2, changed_during_verify=2),
                failed_row("digital_twins"),
                failed_row("messages", "skipped"),
                failed_row("u" * 200),
            ],
            id="every-status",
        ),
    ]


@pytest.mark.parametrize("rows", _cases())
@pytest.mark.parametrize(
    "title",
    [
        "Firestore → MongoDB verify, depth full",
        f"Firestore → MongoDB verify, depth full, sample of 1,000,000, documents changed since {SINCE}, with "
        "repair and prune",
    ],
)
def test_every_line_of_the_verify_summary_is_at_most_120_characters(rows: list[dict], title: str) -> None:
    lines = render_verify_summary(title, rows).splitlines()
    too_long = [line for line in lines if len(line) > LINE_WIDTH]
    assert not too_long, "\n".join(too_long)
    assert " ".join(lines).startswith(title)


@pytest.mark.parametrize(
    ("label", "figure", "reasons"),
    [
        ("differences", "different", "difference_reasons"),
        ("changing", "changed_during_verify", "changing_reasons"),
        ("unmappable", "unmappable", "unmappable_reasons"),
        ("failed repairs", "failed_repairs", "failed_repair_reasons"),
    ],
)
def test_every_non_zero_figure_is_followed_by_its_top_reasons(label: str, figure: str, reasons: str) -> None:
    report = _with_reasons(make_report(read=400, compared=400), 400)
    report.settle()
    lines = render_verify_summary("t", [report.to_dict()]).splitlines()
    (at,) = [i for i, line in enumerate(lines) if line.startswith(f"  {label} ")]
    assert lines[at] == f"  {label} {getattr(report, figure):,}, top reasons:"
    top = getattr(report, reasons).top()
    assert len(top) == SHOWN
    for offset, reason in enumerate(top):
        assert lines[at + 1 + 2 * offset].split(" × ") == [f"    {reason.count:,}", reason.reason]
        assert lines[at + 2 + 2 * offset].strip() == f"e.g. {reason.example}"
    assert lines[at + 1 + 2 * SHOWN] == f"    and {400 - sum(r.count for r in top):,} more with other reasons"


def test_every_reason_kind_is_rendered() -> None:
    assert set(REASONS) == {
        "difference_reasons",
        "changing_reasons",
        "conflict_reasons",
        "unmappable_reasons",
        "failed_repair_reasons",
    }


def test_render_verify_summary_golden() -> None:
    report = make_report(read=4, compared=3, source_count=4, target_count=3, seconds=0.4, wall_seconds=0.2)
    report.partitions, report.finish_seconds, report.unmappable = 2, 0.1, 1
    report.missing, report.different = 1, 1
    count_reason(report, Difference(MISSING, {"user_id": "u2"}, "users/u2"))
    count_reason(report, Difference(DIFFERENT, {"user_id": "u1"}, "users/u1", [field("username")]))
    count_reason(
        report,
        Difference(UNMAPPABLE, None, "users/bad", reason="user_id must be a string or an integer, not dict"),
    )
    report.settle()
    assert render_verify_summary(
        "Firestore → MongoDB verify, depth full", [report.to_dict()]
    ).splitlines() == [
        "Firestore → MongoDB verify, depth full",
        "collection  status       depth  source  target  missing  extra  different  changing  repaired  wall s  docs/s",
        "----------  -----------  -----  ------  ------  -------  -----  ---------  --------  --------  ------  ------",
        "users       differences  full        4       3        1      0          1         0         0     0.2    20.0",
        "changing: kept changing during the verify (not a difference); repaired: missing or different, written",
        "wall s: from the first partition's start to the last one's end; docs/s: read ÷ wall s",
        "",
        "users: compared 3, equal 1, pruned 0, remaining 2; retried faults 0",
        "  time: 2 partitions, 0.4 s of partition time, 10.0 docs/s per partition; 0.1 s to finish",
        "  1 source documents can't be mapped by the contract (the migration fails them too), so they were not compared",
        "  differences 2, top reasons:",
        "    1 × different: username",
        "        e.g. users/u1",
        "    1 × missing from MongoDB",
        "        e.g. users/u2",
        "  unmappable 1, top reasons:",
        "    1 × user_id must be a string or an integer, not dict",
        "        e.g. users/bad",
    ]
