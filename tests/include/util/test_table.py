"""Unit tests for include.firestore_to_mongo.util.table: cells, alignment and columns of a
fixed-width text table."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.util.table import _cell, render_table


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
