"""Tests for include.firestore_to_mongo.ui.page: the sync page rendered from a state, rule
by rule (the error, the empty state, the lag and cell formats, run links, the picker, the
chart, no script). The page served through the app is tested in tests/plugins/test_sync_page.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.migrate.report import missing_report
from include.firestore_to_mongo.target.run_history import MIGRATION, record_run, run_record
from include.firestore_to_mongo.ui.page import _cell, _chart, _lag, _run_link, render_page
from include.firestore_to_mongo.ui.state import CHART_RUNS, load_state

EVIL = "<script>alert('x')</script>&\""


def last_run(run_id: str = "scheduled__1", **changes) -> dict:
    return {
        "dag_id": "firestore_to_mongo",
        "run_id": run_id,
        "ended_at": "2026-11-29T09:00:00+00:00",
        "mode": "incremental",
        "status": "ok",
        "dry_run": False,
    } | changes


def collection(name: str = "users", **changes) -> dict:
    return {
        "name": name,
        "last_run": last_run(),
        "watermark": "2026-11-29T08:00:00+00:00",
        "lag_seconds": 3600,
        "figures": {
            "read": 1200,
            "inserted": 1,
            "updated": 2,
            "unchanged": 3,
            "skipped": 4,
            "failed": 5,
            "gone": 6,
            "deleted": 7,
        },
        "failed_examples": [],
        "without_cursor": None,
        "last_verify": None,
    } | changes


def point(run_id: str = "scheduled__1", written: int = 10, docs_per_second: float = 5.0) -> dict:
    return {
        "run_id": run_id,
        "ended_at": "2026-11-29T09:00:00+00:00",
        "written": written,
        "docs_per_second": docs_per_second,
    }


def state(collections: list[dict] | None = None, chart: list[dict] | None = None, **changes) -> dict:
    return {
        "database": "app",
        "generated_at": "2026-11-30T12:00:00+00:00",
        "has_runs": True,
        "collections": [collection()] if collections is None else collections,
        "chart": [point()] if chart is None else chart,
    } | changes


def rows_of(page: str) -> list[list[str]]:
    """The collections table's body rows, as their cells' inner HTML."""
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    return [re.findall(r"<td[^>]*>(.*?)</td>", found) for found in re.findall(r"<tr>(.*?)</tr>", table)]


def headings_of(page: str) -> list[str]:
    return re.findall(r"<th>(.*?)</th>", page)


# --- error and empty state -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        pytest.param("MongoDB did not answer.", "MongoDB did not answer.", id="plain"),
        pytest.param("Can't use 'x'", "Can&#x27;t use &#x27;x&#x27;", id="quotes"),
        pytest.param("<b>bold</b> & more", "&lt;b&gt;bold&lt;/b&gt; &amp; more", id="markup"),
        pytest.param(EVIL, "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;", id="script"),
    ],
)
@pytest.mark.parametrize("given_state", [None, state()], ids=["no-state", "with-state"])
def test_an_error_is_shown_escaped(error: str, shown: str, given_state) -> None:
    page = render_page(given_state, "mongo_default", None, error)

    assert f'<p class="error">{shown}</p>' in page
    assert '<table id="collections">' not in page
    assert "No runs recorded" not in page
    assert "<svg" not in page


@pytest.mark.parametrize(
    ("given_state", "database_line"),
    [
        pytest.param(None, False, id="no-state"),
        pytest.param(state(has_runs=False, chart=[]), True, id="no-runs"),
    ],
)
def test_the_empty_state(given_state, database_line: bool) -> None:
    page = render_page(given_state, "mongo_default", None)

    assert '<p class="empty">No runs recorded in this database yet.' in page
    assert '<table id="collections">' not in page
    assert ("database <code>app</code>" in page) is database_line


def test_the_state_is_shown() -> None:
    page = render_page(state(database="app<2>"), "mongo_default", None)

    assert '<table id="collections">' in page
    assert '<svg id="chart"' in page
    assert "Mongo connection <code>mongo_default</code> · database <code>app&lt;2&gt;</code>" in page
    assert "No runs recorded" not in page


# --- _lag and _cell ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        pytest.param(None, "-", id="none"),
        pytest.param(0, "0 min", id="zero"),
        pytest.param(59, "0 min", id="under-a-minute"),
        pytest.param(60, "1 min", id="a-minute"),
        pytest.param(59 * 60, "59 min", id="59-minutes"),
        pytest.param(3599, "59 min", id="just-under-an-hour"),
        pytest.param(3600, "1 h 0 min", id="an-hour"),
        pytest.param(95 * 60, "1 h 35 min", id="95-minutes"),
        pytest.param(86399, "23 h 59 min", id="just-under-a-day"),
        pytest.param(86400, "1 d 0 h", id="a-day"),
        pytest.param(86400 + 2 * 3600, "1 d 2 h", id="1-d-2-h"),
        pytest.param(86400 + 2 * 3600 + 59 * 60, "1 d 2 h", id="days-drop-minutes"),
        pytest.param(400 * 86400, "400 d 0 h", id="long-ago"),
        pytest.param(-1, "0 min", id="a-second-ahead"),
        pytest.param(-7200, "0 min", id="hours-ahead"),
    ],
)
def test_lag(seconds: int | None, shown: str) -> None:
    assert _lag(seconds) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(None, "-", id="none"),
        pytest.param(True, "yes", id="true"),
        pytest.param(False, "no", id="false"),
        pytest.param(0, "0", id="zero"),
        pytest.param(999, "999", id="int"),
        pytest.param(1234567, "1,234,567", id="thousands"),
        pytest.param(-1234, "-1,234", id="negative"),
        pytest.param(1234.5, "1,234.5", id="float"),
        pytest.param(0.0, "0.0", id="float-zero"),
        pytest.param("ok", "ok", id="text"),
        pytest.param("", "", id="empty-text"),
        pytest.param("a<b>&'\"", "a&lt;b&gt;&amp;&#x27;&quot;", id="text-escaped"),
        pytest.param(["x"], "[&#x27;x&#x27;]", id="other-as-text"),
    ],
)
def test_cell(value, shown: str) -> None:
    assert _cell(value) == shown


# --- run links -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dag_id", "run_id", "href", "text"),
    [
        pytest.param(
            "firestore_to_mongo",
            "scheduled__1",
            "../dags/firestore_to_mongo/runs/scheduled__1",
            "scheduled__1",
            id="plain",
        ),
        pytest.param(
            "firestore_to_mongo",
            "manual__2026-11-29T08:00:00+00:00",
            "../dags/firestore_to_mongo/runs/manual__2026-11-29T08%3A00%3A00%2B00%3A00",
            "manual__2026-11-29T08:00:00+00:00",
            id="timestamp",
        ),
        pytest.param("d", "a/../b", "../dags/d/runs/a%2F..%2Fb", "a/../b", id="slashes-quoted"),
        pytest.param("d", "a b?c#d", "../dags/d/runs/a%20b%3Fc%23d", "a b?c#d", id="query-and-fragment"),
        pytest.param(
            "d",
            "<b>&\"'",
            "../dags/d/runs/%3Cb%3E%26%22%27",
            "&lt;b&gt;&amp;&quot;&#x27;",
            id="markup",
        ),
        pytest.param("dag/<x>", "r", "../dags/dag%2F%3Cx%3E/runs/r", "r", id="dag-id-quoted"),
    ],
)
def test_run_link(dag_id: str, run_id: str, href: str, text: str) -> None:
    link = _run_link(last_run(run_id, dag_id=dag_id))

    assert link == f'<a href="{href}" target="_top">{text}</a>'


def test_the_table_links_the_last_run_and_the_last_verify() -> None:
    verify = last_run("manual__v", dag_id="firestore_to_mongo_verify", depth="full", differences=0)
    del verify["mode"]
    page = render_page(state([collection(last_verify=verify)]), "mongo_default", None)

    (cells,) = rows_of(page)
    assert cells[1] == '<a href="../dags/firestore_to_mongo/runs/scheduled__1" target="_top">scheduled__1</a>'
    assert cells[16] == (
        '<a href="../dags/firestore_to_mongo_verify/runs/manual__v" target="_top">manual__v</a>'
        "<br>2026-11-29 09:00:00 UTC"
    )
    assert all('href="/' not in cell and "://" not in cell for cell in cells)


# --- the collections table -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            collection(),
            {
                0: "users",
                2: "incremental",
                3: "2026-11-29 09:00:00 UTC",
                4: "ok",
                5: "2026-11-29 08:00:00 UTC",
                6: "1 h 0 min",
                7: "1,200",
                13: "6",
                15: "-",
                16: "never (DAG <code>firestore_to_mongo_verify</code>)",
                17: "-",
                19: "-",
            },
            id="run-never-verified",
        ),
        pytest.param(
            collection(last_run=last_run(dry_run=True, mode="full")),
            {2: "full (dry run)"},
            id="dry-run",
        ),
        pytest.param(
            collection(last_run=None, figures=None, watermark=None, lag_seconds=None, without_cursor=None),
            {1: "never", 2: "-", 3: "-", 4: "-", 5: "-", 6: "-", **dict.fromkeys(range(7, 16), "-")},
            id="never-run",
        ),
        pytest.param(collection(without_cursor=7), {15: "7"}, id="incremental-gap"),
        pytest.param(
            collection(last_verify=last_run("v", depth="sample", status="differences", differences=1234)),
            {17: "sample", 18: "differences", 19: "1,234"},
            id="verified",
        ),
        # A collection task that crashed leaves a row without a mode (report.missing_report).
        pytest.param(
            collection(last_run=last_run(mode=None, status="failed")), {2: "-", 4: "failed"}, id="no-mode"
        ),
        pytest.param(
            collection(last_run=last_run(mode=None, status="failed", dry_run=True)),
            {2: "-", 4: "failed"},
            id="no-mode-dry-run",
        ),
    ],
)
def test_collection_row(item: dict, expected: dict[int, str]) -> None:
    page = render_page(state([item]), "mongo_default", None)

    (cells,) = rows_of(page)
    assert len(cells) == len(headings_of(page)) == 20
    assert {index: cells[index] for index in expected} == expected


@pytest.fixture
def crashed_state(mongo_db) -> dict:
    rows = [missing_report("users", "failed")]
    record = run_record(
        MIGRATION, "firestore_to_mongo", "manual__1", rows, datetime(2026, 11, 29, tzinfo=UTC)
    )
    record_run(mongo_db, record)
    return load_state(mongo_db, datetime(2026, 11, 30, tzinfo=UTC))


def test_a_run_whose_collection_task_crashed_renders(crashed_state: dict) -> None:
    """From the summary's row for a crashed task, through the stored record and the state."""
    page = render_page(crashed_state, "mongo_default", None)

    users = next(cells for cells in rows_of(page) if cells[0] == "users")
    assert users[2] == "-"
    assert users[4] == "failed"


@pytest.mark.parametrize(
    ("status", "css_class"),
    [
        pytest.param("ok", "ok", id="ok"),
        pytest.param("failed", "failed", id="failed"),
        pytest.param('x" onmouseover="y', "x&quot; onmouseover=&quot;y", id="escaped"),
    ],
)
def test_the_status_cell_has_its_class(status: str, css_class: str) -> None:
    page = render_page(state([collection(last_run=last_run(status=status))]), "mongo_default", None)

    assert f'<td class="text {css_class}">' in page
    assert 'onmouseover="' not in page


@pytest.mark.parametrize(
    ("collections", "notes"),
    [
        pytest.param([collection()], None, id="none"),
        pytest.param(
            [
                collection(failed_examples=["users/u1: bad"]),
                collection("messages", failed_examples=["m/1: x", "m/2: y"]),
            ],
            ["users: failed: users/u1: bad", "messages: failed: m/1: x", "messages: failed: m/2: y"],
            id="in-order",
        ),
        pytest.param(
            [collection(failed_examples=[f"users/{EVIL}: bad"])],
            ["users: failed: users/&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;: bad"],
            id="escaped",
        ),
    ],
)
def test_failed_examples_are_listed(collections: list[dict], notes: list[str] | None) -> None:
    page = render_page(state(collections), "mongo_default", None)

    if notes is None:
        assert "<ul id='failed'>" not in page
    else:
        listed = page[page.index("<ul id='failed'>") : page.index("</ul>")]
        assert re.findall(r"<li>(.*?)</li>", listed) == notes


# --- the picker ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("conn_id", "database", "conn_value", "database_value"),
    [
        pytest.param("mongo_default", None, "mongo_default", "", id="defaults"),
        pytest.param("mongo_default", "", "mongo_default", "", id="empty-database"),
        pytest.param("other", "app_staging", "other", "app_staging", id="picked"),
        pytest.param('a"b', "c'd", "a&quot;b", "c&#x27;d", id="quotes"),
        pytest.param(
            '"><script>x</script>',
            "<db>&",
            "&quot;&gt;&lt;script&gt;x&lt;/script&gt;",
            "&lt;db&gt;&amp;",
            id="markup",
        ),
    ],
)
def test_the_picker_keeps_its_values(conn_id: str, database, conn_value: str, database_value: str) -> None:
    page = render_page(None, conn_id, database)

    assert f'<input name="conn_id" value="{conn_value}">' in page
    assert f'<input name="database" value="{database_value}" ' in page
    assert f"Mongo connection <code>{conn_value}</code>" in page
    assert '<form method="get">' in page


# --- the chart -------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [1, 2, 5, CHART_RUNS])
def test_the_chart_has_a_bar_per_run_and_a_line(points: int) -> None:
    chart = _chart([point(f"run_{number}", number * 10, number) for number in range(points)])

    assert chart.startswith(f"<h2>Last {points} runs</h2>")
    assert chart.count("<rect ") == points
    assert [
        re.search(r"<title>(.*?)</title>", bar).group(1).split(":")[0] for bar in chart.split("<rect ")[1:]
    ] == [f"run_{number}" for number in range(points)]
    (line,) = re.findall(r'<polyline points="([^"]*)"', chart)
    assert len(line.split()) == points
    xs = [float(pair.split(",")[0]) for pair in line.split()]
    assert xs == sorted(xs)


def test_no_points_no_chart() -> None:
    assert _chart([]) == ""
    page = render_page(state(chart=[]), "mongo_default", None)
    assert "<svg" not in page
    assert "<h2>" not in page


@pytest.mark.parametrize(
    ("points", "heights", "maxima"),
    [
        pytest.param(
            [point(written=10), point(written=5)], ["140.0", "70.0"], ("10", "5.0"), id="scaled-to-the-most"
        ),
        pytest.param([point(written=0, docs_per_second=0.0)], ["0.0"], ("1", "1"), id="all-zero"),
        pytest.param(
            [point(written=1500, docs_per_second=2500.5)], ["140.0"], ("1,500", "2,500.5"), id="thousands"
        ),
    ],
)
def test_the_bars_scale_to_the_largest(
    points: list[dict], heights: list[str], maxima: tuple[str, str]
) -> None:
    chart = _chart(points)

    assert re.findall(r'height="([\d.]+)" fill', chart) == heights
    written, fastest = maxima
    assert f"documents written (max {written})" in chart
    assert f"docs/s (max {fastest})" in chart


def test_the_line_reaches_the_top_for_the_fastest_run() -> None:
    chart = _chart([point(docs_per_second=1.0), point(docs_per_second=4.0), point(docs_per_second=0.0)])

    (line,) = re.findall(r'<polyline points="([^"]*)"', chart)
    ys = [float(pair.split(",")[1]) for pair in line.split()]
    assert ys == [145.0, 40.0, 180.0]


def test_a_bars_title_is_escaped() -> None:
    chart = _chart([point(EVIL, 1234, 56.5)])

    assert (
        "<title>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;: 1,234 written, 56.5 docs/s</title>"
        in chart
    )


# --- no script -----------------------------------------------------------------------------------------


RENDERINGS = {
    "error": lambda: render_page(None, EVIL, EVIL, EVIL),
    "error-with-state": lambda: render_page(state(database=EVIL), EVIL, EVIL, EVIL),
    "empty": lambda: render_page(None, EVIL, EVIL),
    "no-runs": lambda: render_page(state(database=EVIL, has_runs=False), EVIL, None),
    "everything": lambda: render_page(
        state(
            [
                collection(
                    EVIL,
                    last_run=last_run(EVIL, dag_id=EVIL, mode=EVIL, status=EVIL, ended_at=EVIL, dry_run=True),
                    watermark=EVIL,
                    figures=dict.fromkeys(("read", "inserted", "gone"), EVIL),
                    failed_examples=[EVIL],
                    without_cursor=EVIL,
                    last_verify=last_run(
                        EVIL, dag_id=EVIL, depth=EVIL, status=EVIL, ended_at=EVIL, differences=EVIL
                    ),
                )
            ],
            [point(EVIL), point(EVIL)],
            database=EVIL,
        ),
        EVIL,
        EVIL,
    ),
}


@pytest.mark.parametrize("render", list(RENDERINGS.values()), ids=list(RENDERINGS))
def test_no_rendering_has_a_script(render) -> None:
    page = render()

    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    assert page.startswith("<!doctype html>")
    assert page.endswith("</body></html>")
