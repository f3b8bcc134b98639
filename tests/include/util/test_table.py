"""Unit tests for include.firestore_to_mongo.util.table: cells, alignment and columns of a
fixed-width text table, and keeping tables and lines within a width."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.util.table import (
    LINE_WIDTH,
    SummaryLines,
    _cell,
    compact_number,
    cut,
    cut_middle,
    render_table,
    wrap,
)


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


CUSTOM_COLUMNS = (("name", "collection"), ("docs", "count"), ("note", "remark"))


@pytest.mark.parametrize(
    ("text_columns", "expected"),
    [
        pytest.param(
            {"name", "note"},
            [
                "name      docs  note",
                "--------  ----  ------",
                "users       12  ok",
                "messages     1  longer",
            ],
            id="text-left-numbers-right",
        ),
        pytest.param(
            set(),
            [
                "    name  docs    note",
                "--------  ----  ------",
                "   users    12      ok",
                "messages     1  longer",
            ],
            id="all-right-aligned",
        ),
        pytest.param(
            {"name", "docs", "note"},
            [
                "name      docs  note",
                "--------  ----  ------",
                "users     12    ok",
                "messages  1     longer",
            ],
            id="all-left-aligned",
        ),
        pytest.param(
            {"collection", "remark"},
            [
                "    name  docs    note",
                "--------  ----  ------",
                "   users    12      ok",
                "messages     1  longer",
            ],
            id="text-columns-name-headings-not-keys",
        ),
    ],
)
def test_render_table_custom_columns(text_columns: set[str], expected: list[str]) -> None:
    rows = [
        {"collection": "users", "count": 12, "remark": "ok", "not_a_column": "hidden"},
        {"collection": "messages", "count": 1, "remark": "longer"},
    ]
    assert render_table(rows, CUSTOM_COLUMNS, text_columns).splitlines() == expected


def test_render_table_custom_columns_format_cells_and_fill_gaps() -> None:
    columns = (("a", "a"), ("b", "b"), ("c", "c"), ("d", "d"))
    table = render_table([{"a": 1234567, "b": 2.26, "c": True}], columns, {"d"})
    assert table.splitlines() == [
        "        a    b    c  d",
        "---------  ---  ---  -",
        "1,234,567  2.3  yes  -",
    ]


# --- within a width ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(9_999, "9,999", id="below-ten-thousand-as-is"),
        pytest.param(10_000, "10k", id="ten-thousand"),
        pytest.param(12_345, "12.3k", id="three-digits"),
        pytest.param(999_499, "999k", id="just-below-a-million"),
        pytest.param(999_999, "1M", id="rounds-up-to-the-next-unit"),
        pytest.param(1_234_567, "1.23M", id="millions"),
        pytest.param(12_345_678_901, "12.3G", id="billions"),
        pytest.param(-123_456, "-123k", id="negative"),
        pytest.param(12_345.67, "12.3k", id="float"),
    ],
)
def test_compact_number(value: float, expected: str) -> None:
    assert compact_number(value) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("abcdefghij", 5, "abcd…", id="cut"),
    ],
)
def test_cut(text: str, width: int, expected: str) -> None:
    assert cut(text, width) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        pytest.param("users/u1", 20, "users/u1", id="fits"),
        pytest.param("digital_twins/t1/messages/m1", 15, "digital…ages/m1", id="both-ends-show"),
        pytest.param("abcdef", 2, "a…", id="tiny"),
    ],
)
def test_cut_middle(text: str, width: int, expected: str) -> None:
    assert cut_middle(text, width) == expected
    assert len(cut_middle(text, width)) == min(len(text), width)


def test_wrap() -> None:
    assert wrap("one two three", "  ", "    ", width=9) == ["  one two", "    three"]
    assert wrap("x" * 25, width=10) == ["x" * 10, "x" * 10, "x" * 5]
    assert wrap("", "  ") == [""]


def test_tuple_cells_join_with_a_slash() -> None:
    columns = (("gone/deleted", ("stale", "deleted")),)
    rows = [{"stale": 3, "deleted": 1}, {"stale": None, "deleted": 0}, {}]
    assert render_table(rows, columns, set()).splitlines()[2:] == [
        "         3/1",
        "           -",
        "           -",
    ]


COLUMNS_WIDE = (*((f"h{i}", f"k{i}") for i in range(10)), ("name", "name"), ("mode", "mode"))


@pytest.mark.parametrize(
    ("row", "compacted", "cut_text"),
    [
        pytest.param({"k0": 1, "name": "users"}, False, False, id="fits-as-is"),
        pytest.param(
            dict.fromkeys((f"k{i}" for i in range(10)), 123_456_789_012), True, False, id="wide-numbers"
        ),
        pytest.param({"k0": 1, "name": "n" * 200, "mode": "m" * 50}, False, True, id="long-text"),
        pytest.param(
            dict.fromkeys((f"k{i}" for i in range(10)), 10**15) | {"name": "n" * 300, "mode": "m" * 300},
            True,
            True,
            id="both",
        ),
    ],
)
def test_a_table_keeps_within_its_width(row: dict, compacted: bool, cut_text: bool) -> None:
    lines = render_table([row], COLUMNS_WIDE, {"name", "mode"}, width=LINE_WIDTH).splitlines()
    assert max(len(line) for line in lines) <= LINE_WIDTH
    assert ("G" in lines[2] or "T" in lines[2]) == compacted
    assert ("…" in lines[2]) == cut_text
    # Headings are never cut.
    assert lines[0].split() == [heading for heading, _ in COLUMNS_WIDE]


def test_summary_lines_say_once_that_they_cut() -> None:
    lines = SummaryLines(width=40)
    lines.text("a sentence long enough to need a second line here", "  ", "    ")
    lines.item("  ", "e.g. ", "users/short")
    assert not lines.cut
    lines.item("  ", "e.g. ", "digital_twins/" + "t" * 100 + "/end")
    lines.item("  ", "e.g. ", "users/u1 (key {}, also users/u0's, which wins and is long)")
    lines.footnote()
    assert lines.cut
    assert all(len(line) <= 40 for line in lines.lines)
    assert lines.lines[3].endswith("/end")
    assert " ".join(lines.lines).endswith(
        "(… in a name or a path: cut to fit 40 characters a line; the task's XCom holds it whole)"
    )
