"""Tests for include.firestore_to_mongo.ui.page: the sync page rendered from a state, rule
by rule (the error, the empty state, the lag and cell formats, run links, the collections'
cards, change capture, the picker, the charts, no script but the run links' own). The page served through the app,
and in a browser, is tested in tests/plugins/test_sync_page.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.migrate.report import missing_report
from include.firestore_to_mongo.target.run_history import MIGRATION, record_run, run_record
from include.firestore_to_mongo.ui.charts import capture_chart as _capture_chart
from include.firestore_to_mongo.ui.charts import runs_chart as _chart
from include.firestore_to_mongo.ui.format import cell as _cell
from include.firestore_to_mongo.ui.format import lag_text as _lag
from include.firestore_to_mongo.ui.format import seconds_text as _seconds
from include.firestore_to_mongo.ui.page import LINK_SCRIPT, _run_link, render_page
from include.firestore_to_mongo.ui.state import CAPTURE_FIGURES, CHART_RUNS, load_state

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
        "retried_faults": 2,
        "last_verify": None,
        "capture": None,
    } | changes


def collection_capture(**changes) -> dict:
    return {
        "state": "running",
        "lag_p50": 0.4,
        "lag_p95": 1.5,
        "lag_max": 75,
        "seen": 1200,
        "inserted": 1,
        "updated": 2,
        "unchanged": 3,
        "deleted": 4,
        "failed": 0,
        "last_change_at": "2026-11-30T11:59:30+00:00",
    } | changes


def capture(**changes) -> dict:
    return {
        "state": "running",
        "run_id": "manual__capture",
        "dag_id": "firestore_to_mongo_capture",
        "heartbeat_at": "2026-11-30T11:59:50+00:00",
        "checkpoint": "2026-11-30T11:59:55+00:00",
        "checkpoint_lag_seconds": 4.6,
        "documents": 12345,
        "resets": 1,
        "retried_faults": 3,
        "lag": {"p50": 0.4, "p95": 12.25, "max": 3600},
        "journal_since": "2026-11-30T10:00:00+00:00",
    } | changes


def capture_point(minute: int = 0, lag_p95=1.0, lag_max=2.0) -> dict:
    return {
        "at": f"2026-11-30T11:{minute:02d}:00+00:00",
        "lag_p95": lag_p95,
        "lag_max": lag_max,
        "checkpoint_lag_seconds": 3.0,
    }


def point(
    run_id: str = "scheduled__1",
    written: int = 10,
    docs_per_second: float = 5.0,
    read: int = 20,
    ended_at: str = "2026-11-29T09:00:00+00:00",
    mode: str | None = "incremental",
) -> dict:
    return {
        "run_id": run_id,
        "ended_at": ended_at,
        "mode": mode,
        "read": read,
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
        "capture": None,
        "capture_chart": [],
    } | changes


def facts_of(html: str) -> dict[str, dict[str, str]]:
    """A block's facts by part (`data-part`), as {label: value's inner HTML}."""
    parts = re.findall(r'<dl class="[^"]*" data-part="([^"]*)">(.*?)</dl>', html)
    facts = {part: dict(re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", found)) for part, found in parts}
    never = re.findall(r'<p data-part="([^"]*)">(.*?)</p>', html)
    return facts | dict(never)


def cards_of(page: str) -> dict[str, dict[str, dict[str, str]]]:
    """The collections' cards by collection name (as the page escapes it), their facts by part."""
    cards = re.findall(r'<section class="card collection" data-collection="([^"]*)">(.*?)</section>', page)
    return {name: facts_of(card) for name, card in cards}


def scripts_of(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, re.DOTALL | re.IGNORECASE)


def assert_no_script_but_the_links(page: str) -> None:
    """The page's only script is LINK_SCRIPT, a constant: nothing from the data is a script."""
    assert scripts_of(page) == [LINK_SCRIPT]
    assert page.lower().count("<script") == 1


def capture_block_of(page: str) -> str:
    return page[page.index('<section class="card capture" id="capture">') :].split("</section>")[0]


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
    assert 'id="collections"' not in page
    assert 'id="capture"' not in page
    assert "No runs recorded" not in page
    assert "<svg" not in page


@pytest.mark.parametrize(
    ("given_state", "database_line", "capture_shown"),
    [
        pytest.param(None, False, False, id="no-state"),
        pytest.param(state(has_runs=False, chart=[]), True, False, id="no-runs"),
        # Capture can run before any run is recorded: it is shown, with its chart.
        pytest.param(
            state(has_runs=False, chart=[], capture=capture(), capture_chart=[capture_point()]),
            True,
            True,
            id="no-runs-capture",
        ),
    ],
)
def test_the_empty_state(given_state, database_line: bool, capture_shown: bool) -> None:
    page = render_page(given_state, "mongo_default", None)

    assert '<p class="empty">No runs recorded in this database yet.' in page
    # Dry runs write nothing, their record included: the page doesn't send anyone to one.
    assert "except dry runs, which write nothing to MongoDB" in page
    assert "a dry run is fine" not in page
    assert 'id="collections"' not in page
    assert ("database <code>app</code>" in page) is database_line
    assert ('id="capture"' in page) is capture_shown
    assert ('<svg id="capture-chart"' in page) is capture_shown
    assert '<svg id="chart"' not in page


def test_the_state_is_shown() -> None:
    page = render_page(state(database="app<2>"), "mongo_default", None)

    assert '<div class="cards" id="collections">' in page
    assert '<section class="card capture" id="capture">' in page
    assert '<svg id="chart"' in page
    assert "Mongo connection <code>mongo_default</code> · database <code>app&lt;2&gt;</code>" in page
    assert "No runs recorded" not in page
    # Blocks that wrap, not a table as wide as its columns.
    assert "<table" not in page


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

    assert link == f'<a class="run-link" href="{href}">{text}</a>'


def test_the_card_links_the_last_run_and_the_last_verify() -> None:
    verify = last_run("manual__v", dag_id="firestore_to_mongo_verify", depth="full", differences=0)
    del verify["mode"]
    page = render_page(state([collection(last_verify=verify)]), "mongo_default", None)

    card = cards_of(page)["users"]
    assert card["run"]["last run"] == (
        '<a class="run-link" href="../dags/firestore_to_mongo/runs/scheduled__1">scheduled__1</a>'
    )
    assert card["verify"]["last verify"] == (
        '<a class="run-link" href="../dags/firestore_to_mongo_verify/runs/manual__v">manual__v</a>'
    )
    assert card["verify"]["ended"] == "2026-11-29 09:00:00 UTC"
    assert 'href="/' not in page
    assert "://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


# --- the collections' cards ------------------------------------------------------------------------


RUN_FACTS = {
    "last run": '<a class="run-link" href="../dags/firestore_to_mongo/runs/scheduled__1">scheduled__1</a>',
    "mode": "incremental",
    "status": "ok",
    "ended": "2026-11-29 09:00:00 UTC",
    "watermark": "2026-11-29 08:00:00 UTC",
    "lag": "1 h 0 min",
    "invisible to incremental": "-",
    "faults ridden out": "2",
}
NEVER_VERIFIED = {
    "last verify": "never (DAG <code>firestore_to_mongo_verify</code>)",
    "ended": "-",
    "depth": "-",
    "status": "-",
    "differences": "-",
}
NEVER_CAPTURED = "Never ran (DAG <code>firestore_to_mongo_capture</code>)."


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            collection(),
            {
                "run": RUN_FACTS,
                "figures": {
                    "read": "1,200",
                    "inserted": "1",
                    "updated": "2",
                    "unchanged": "3",
                    "skipped": "4",
                    "failed": "5",
                    "gone": "6",
                    "deleted": "7",
                },
                "verify": NEVER_VERIFIED,
                "capture": NEVER_CAPTURED,
            },
            id="run-never-verified-never-captured",
        ),
        pytest.param(
            collection(last_run=last_run(dry_run=True, mode="full")),
            {"run": RUN_FACTS | {"mode": "full (dry run)"}},
            id="dry-run",
        ),
        pytest.param(
            collection(
                last_run=None,
                figures=None,
                watermark=None,
                lag_seconds=None,
                without_cursor=None,
                retried_faults=None,
            ),
            {
                "run": dict.fromkeys(RUN_FACTS, "-") | {"last run": "never"},
                "figures": dict.fromkeys(
                    ("read", "inserted", "updated", "unchanged", "skipped", "failed", "gone", "deleted"), "-"
                ),
            },
            id="never-run",
        ),
        pytest.param(
            collection(without_cursor=7), {"run": RUN_FACTS | {"invisible to incremental": "7"}}, id="gap"
        ),
        pytest.param(
            collection(last_verify=last_run("v", depth="sample", status="differences", differences=1234)),
            {
                "verify": {
                    "last verify": '<a class="run-link" href="../dags/firestore_to_mongo/runs/v">v</a>',
                    "ended": "2026-11-29 09:00:00 UTC",
                    "depth": "sample",
                    "status": "differences",
                    "differences": "1,234",
                }
            },
            id="verified",
        ),
        # A collection task that crashed leaves a row without a mode (report.missing_report).
        pytest.param(
            collection(last_run=last_run(mode=None, status="failed")),
            {"run": RUN_FACTS | {"mode": "-", "status": "failed"}},
            id="no-mode",
        ),
        pytest.param(
            collection(last_run=last_run(mode=None, status="failed", dry_run=True)),
            {"run": RUN_FACTS | {"mode": "-", "status": "failed"}},
            id="no-mode-dry-run",
        ),
        pytest.param(
            collection(capture=collection_capture()),
            {
                "capture": {
                    "state": "running",
                    "lag p50": "0.4 s",
                    "lag p95": "1.5 s",
                    "lag max": "1 min",
                    "checkpoint": "-",
                    "last change": "2026-11-30 11:59:30 UTC",
                },
                "capture-figures": {
                    "seen": "1,200",
                    "inserted": "1",
                    "updated": "2",
                    "unchanged": "3",
                    "deleted": "4",
                    "failed": "0",
                },
            },
            id="captured",
        ),
        pytest.param(
            collection(capture=collection_capture(state="stopped") | dict.fromkeys(CAPTURE_FIGURES)),
            {"capture-figures": dict.fromkeys(CAPTURE_FIGURES, "-")},
            id="captured-nothing-yet",
        ),
    ],
)
def test_collection_card(item: dict, expected: dict[str, dict[str, str] | str]) -> None:
    page = render_page(state([item]), "mongo_default", None)

    (card,) = cards_of(page).values()
    assert {part: card[part] for part in expected} == expected


def test_a_card_per_collection_in_order() -> None:
    page = render_page(state([collection(name) for name in ("users", "messages", "<b>")]), "m", None)

    assert list(cards_of(page)) == ["users", "messages", "&lt;b&gt;"]
    assert "<h2>&lt;b&gt;</h2>" in page


def test_each_card_shows_the_captures_checkpoint() -> None:
    page = render_page(
        state([collection(capture=collection_capture())], capture=capture()), "mongo_default", None
    )

    assert cards_of(page)["users"]["capture"]["checkpoint"] == "2026-11-30 11:59:55 UTC"


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

    users = cards_of(page)["users"]["run"]
    assert users["mode"] == "-"
    assert users["status"] == "failed"


@pytest.mark.parametrize(
    ("status", "css_class"),
    [
        pytest.param("ok", "ok", id="ok"),
        pytest.param("failed", "failed", id="failed"),
        pytest.param('x" onmouseover="y', "x&quot; onmouseover=&quot;y", id="escaped"),
    ],
)
@pytest.mark.parametrize("where", ["run", "verify", "capture"])
def test_a_status_has_its_class(status: str, css_class: str, where: str) -> None:
    item = {
        "run": collection(last_run=last_run(status=status)),
        "verify": collection(last_verify=last_run(status=status, depth="full", differences=0)),
        "capture": collection(capture=collection_capture(state=status)),
    }[where]
    page = render_page(state([item], capture=capture(state=status)), "mongo_default", None)

    assert f'<dd class="{css_class}">' in page
    assert 'onmouseover="' not in page


# --- change capture --------------------------------------------------------------------------------

CAPTURE_FACTS = {
    "state": "running",
    "checkpoint": "2026-11-30 11:59:55 UTC",
    "checkpoint lag": "4.6 s",
    "documents received": "12,345",
    "resets": "1",
    "faults ridden out": "3",
    "lag p50": "0.4 s",
    "lag p95": "12 s",
    "lag max": "1 h 0 min",
    "last heartbeat": "2026-11-30 11:59:50 UTC",
    "journal since": "2026-11-30 10:00:00 UTC",
    "run": '<a class="run-link" href="../dags/firestore_to_mongo_capture/runs/manual__capture">manual__capture</a>',
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(capture(), CAPTURE_FACTS, id="running"),
        pytest.param(capture(state="stopped"), CAPTURE_FACTS | {"state": "stopped"}, id="stopped"),
        pytest.param(
            capture(
                run_id=None,
                dag_id=None,
                heartbeat_at=None,
                checkpoint=None,
                checkpoint_lag_seconds=None,
                documents=None,
                resets=None,
                retried_faults=None,
                lag=None,
                journal_since=None,
                state=None,
            ),
            dict.fromkeys(CAPTURE_FACTS, "-"),
            id="all-unknown",
        ),
        pytest.param(
            capture(run_id=EVIL, dag_id="dag/<x>"),
            CAPTURE_FACTS
            | {
                "run": '<a class="run-link" href="../dags/dag%2F%3Cx%3E/runs/%3Cscript%3Ealert%28%27x%27%29%3C%2Fscript%3E%26%22">'
                "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;</a>"
            },
            id="hostile-run-id",
        ),
        pytest.param(
            capture(documents=EVIL, lag={"p95": EVIL}),
            CAPTURE_FACTS
            | {
                "documents received": "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;",
                "lag p50": "-",
                "lag p95": "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;",
                "lag max": "-",
            },
            id="hostile-figures",
        ),
    ],
)
def test_the_capture_block(given: dict, expected: dict[str, str]) -> None:
    page = render_page(state(capture=given), "mongo_default", None)

    block = capture_block_of(page)
    assert facts_of(block) == {"capture": expected}
    assert page.index('id="capture"') < page.index('id="collections"')
    assert_no_script_but_the_links(page)


def test_a_capture_that_never_ran() -> None:
    page = render_page(state(capture=None), "mongo_default", None)

    assert capture_block_of(page).endswith(f"<h2>Change capture</h2><p>{NEVER_CAPTURED}</p>")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        pytest.param(None, "-", id="none"),
        pytest.param(0, "0.0 s", id="zero"),
        pytest.param(0.44, "0.4 s", id="under-a-second"),
        pytest.param(9.94, "9.9 s", id="tenths-under-ten"),
        pytest.param(10, "10 s", id="ten"),
        pytest.param(59.4, "59 s", id="under-a-minute"),
        pytest.param(60, "1 min", id="a-minute"),
        pytest.param(3600, "1 h 0 min", id="an-hour"),
        pytest.param(-2.5, "-2.5 s", id="ahead"),
        pytest.param(True, "yes", id="not-a-number"),
        pytest.param("<b>", "&lt;b&gt;", id="text-escaped"),
    ],
)
def test_seconds(seconds, shown: str) -> None:
    assert _seconds(seconds) == shown


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


def bars_of(chart: str) -> list[dict[str, float]]:
    """Each run's bars, oldest first, as {"read": height, "written": height} (a zero draws none)."""
    runs = re.findall(r'<g class="run">(.*?)</g>', chart)
    return [
        {key: float(height) for key, height in re.findall(r'<rect class="(\w+)" [^>]*height="([\d.]+)"', run)}
        for run in runs
    ]


def run_titles_of(chart: str) -> list[str]:
    return re.findall(r'<g class="run"><title>(.*?)</title>', chart)


def labels_of(chart: str) -> list[str]:
    return re.findall(r'transform="rotate\(-45 [^"]*\)">(.*?)</text>', chart)


@pytest.mark.parametrize("points", [1, 2, 5, CHART_RUNS])
def test_the_chart_has_a_pair_of_bars_per_run_labelled_with_its_time(points: int) -> None:
    chart = _chart(
        [
            point(
                f"run_{number}",
                number + 1,
                read=10 * (number + 1),
                ended_at=f"2026-11-29T09:{number:02d}:00Z",
            )
            for number in range(points)
        ]
    )

    runs = "the last run" if points == 1 else f"the last {points} runs"
    assert chart.startswith(f"<h2>Documents per run, {runs}</h2>")
    assert f'<title id="chart-title">Documents read and written by {runs}</title>' in chart
    assert [title.split(" ")[0] for title in run_titles_of(chart)] == [
        f"run_{number}" for number in range(points)
    ]
    assert [set(bars) for bars in bars_of(chart)] == [{"read", "written"}] * points
    assert labels_of(chart) == [f"11-29 09:{number:02d}" for number in range(points)]
    assert "docs/s" not in chart
    assert "<polyline" not in chart


def test_the_chart_has_axes_a_title_and_a_description() -> None:
    chart = _chart([point("full__1", 2950, read=3000, mode="full"), point("incremental__2", 3, read=5)])

    assert 'aria-labelledby="chart-title chart-desc"' in chart
    assert '<title id="chart-title">Documents read and written by the last 2 runs</title>' in chart
    (description,) = re.findall(r'<desc id="chart-desc">(.*?)</desc>', chart)
    assert "logarithmic" in description
    assert "The newest run, incremental__2, read 5 documents and wrote 3." in description
    # The y axis: 0, then every power of ten up to the first one above the largest figure.
    assert re.findall(r'text-anchor="end">([\dkM]+)</text>', chart) == ["1", "10", "100", "1k", "10k", "0"]
    assert chart.count('<line x1="64" y1="34" x2="64"') == 1  # the y axis
    assert "documents, log scale; when each run ended, UTC" in chart


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        pytest.param(
            [point(read=3000, written=2950), point(read=5, written=3), point(read=1, written=1)],
            # 10k at the top: 5 steps of 32.8 px; 1 is one step, 5 is 1.7 steps, 3,000 is 4.48.
            [
                {"read": 146.8, "written": 146.6},
                {"read": 55.7, "written": 48.4},
                {"read": 32.8, "written": 32.8},
            ],
            id="an-incremental-run-next-to-a-full-one",
        ),
        pytest.param(
            [point(read=1_000_000, written=1_000_000), point(read=2, written=1)],
            [{"read": 164.0, "written": 164.0}, {"read": 30.5, "written": 23.4}],
            id="a-million-and-one",
        ),
        pytest.param([point(read=0, written=0)], [{}], id="nothing-read-no-bars"),
        pytest.param([point(read=7, written=0)], [{"read": 151.3}], id="nothing-written"),
        pytest.param(
            [{"run_id": "old", "ended_at": None, "written": 4, "docs_per_second": 0.0}],
            [{"written": 131.4}],
            id="a-point-from-before-read-was-charted",
        ),
    ],
)
def test_every_run_that_did_anything_shows_on_the_log_scale(points, expected) -> None:
    assert bars_of(_chart(points)) == expected


def test_a_runs_tooltip_has_its_mode_end_and_figures_in_correct_plurals() -> None:
    chart = _chart(
        [
            point("a", 1, 12.5, read=1, mode="full"),
            point("b", 2950, 0.0, read=3000, mode="full, incremental"),
            point("c", 0, 0.0, read=0, mode=None, ended_at=None),
        ]
    )

    assert run_titles_of(chart) == [
        "a (full), ended 2026-11-29 09:00 UTC: 1 document read, 1 written, 12.5 documents read per second",
        "b (full, incremental), ended 2026-11-29 09:00 UTC: 3,000 documents read, 2,950 written",
        "c, ended -: 0 documents read, 0 written",
    ]
    assert "<h2>Documents per run, the last 3 runs</h2>" in chart


def test_no_points_no_chart() -> None:
    assert _chart([]) == ""
    assert _capture_chart([]) == ""
    page = render_page(state(chart=[], capture_chart=[]), "mongo_default", None)
    assert "<svg" not in page
    assert "<figure>" not in page
    assert 'class="cards charts"' not in page


def test_a_runs_title_and_the_description_are_escaped() -> None:
    chart = _chart([point(EVIL, 1234, 56.5, read=2000)])

    assert run_titles_of(chart) == [
        "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot; (incremental), ended 2026-11-29 09:00 UTC: "
        "2,000 documents read, 1,234 written, 56.5 documents read per second"
    ]
    assert "The newest run, &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;, read" in chart
    assert "<script" not in chart


# --- the capture chart ----------------------------------------------------------------------------


def polylines(chart: str, key: str) -> list[list[tuple[float, float]]]:
    found = re.findall(rf'<polyline class="{key}" points="([^"]*)"', chart)
    return [[tuple(map(float, pair.split(","))) for pair in line.split()] for line in found]


def test_the_capture_chart_draws_p95_and_max_over_time() -> None:
    chart = _capture_chart(
        [capture_point(0, 1.0, 4.0), capture_point(1, 2.0, 8.0), capture_point(3, 0.0, 2.0)]
    )

    assert chart.startswith("<h2>Capture lag over time</h2>")
    assert '<svg id="capture-chart"' in chart
    # x by time: minute 1 is a third of the way from minute 0 to minute 3; y scaled to the
    # largest lag (8 s at the top, 40; 0 s on the axis, 180).
    assert polylines(chart, "lag_p95") == [[(40.0, 162.5), (253.3, 145.0), (680.0, 180.0)]]
    assert polylines(chart, "lag_max") == [[(40.0, 110.0), (253.3, 40.0), (680.0, 145.0)]]
    assert "(top 8.0 s)" in chart
    assert "2026-11-30 11:00:00 UTC</text>" in chart
    assert "2026-11-30 11:03:00 UTC</text>" in chart


@pytest.mark.parametrize(
    ("points", "p95_lines", "p95_dots"),
    [
        pytest.param([capture_point(0)], 0, 1, id="one-record-a-dot"),
        pytest.param([capture_point(minute) for minute in range(5)], 1, 0, id="one-line"),
        pytest.param(
            [
                capture_point(0),
                capture_point(1),
                capture_point(2, lag_p95=None),
                capture_point(3),
                capture_point(4),
            ],
            2,
            0,
            id="broken-where-unknown",
        ),
        pytest.param(
            [capture_point(0, lag_p95=None), capture_point(1), capture_point(2, lag_p95=EVIL)],
            0,
            1,
            id="not-numbers-are-unknown",
        ),
        pytest.param([capture_point(0, None, None), capture_point(1, None, None)], 0, 0, id="all-unknown"),
    ],
)
def test_the_capture_chart_lines(points: list[dict], p95_lines: int, p95_dots: int) -> None:
    chart = _capture_chart(points)

    assert len(polylines(chart, "lag_p95")) == p95_lines
    assert chart.count('<circle class="lag_p95"') == p95_dots


def test_the_capture_chart_skips_records_without_a_time() -> None:
    points = [capture_point(0), {"at": None, "lag_p95": 5.0}, {"at": EVIL, "lag_max": 9.0}, capture_point(2)]

    chart = _capture_chart(points)

    assert polylines(chart, "lag_p95") == [[(40.0, 110.0), (680.0, 110.0)]]
    assert "&lt;script" not in chart
    assert _capture_chart([{"at": EVIL}]) == ""


# --- no script but the run links' -----------------------------------------------------------------------------------------


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
                    capture=dict.fromkeys(collection_capture(), EVIL),
                )
            ],
            [point(EVIL), point(EVIL)],
            database=EVIL,
            capture=capture(
                state=EVIL,
                run_id=EVIL,
                dag_id=EVIL,
                heartbeat_at=EVIL,
                checkpoint=EVIL,
                documents=EVIL,
                resets=EVIL,
                lag=dict.fromkeys(("p50", "p95", "max"), EVIL),
                journal_since=EVIL,
            ),
            capture_chart=[capture_point(0, EVIL, EVIL), {"at": EVIL}],
        ),
        EVIL,
        EVIL,
    ),
}


@pytest.mark.parametrize("render", list(RENDERINGS.values()), ids=list(RENDERINGS))
def test_no_rendering_has_a_script_but_the_links(render) -> None:
    page = render()

    assert_no_script_but_the_links(page)
    assert "&lt;script&gt;" in page
    assert page.startswith("<!doctype html>")
    assert page.endswith("</body></html>")


# --- the keys the contract drops ---------------------------------------------------------------


def dropped_of(html: str) -> dict[str, list[str]]:
    """The lists of dropped keys by part (`data-part`), as their items' inner HTML."""
    parts = re.findall(
        r'<div class="dropped" data-part="([^"]*)"><span>dropped by the contract</span><ul>(.*?)</ul>', html
    )
    return {part: re.findall(r"<li>(.*?)</li>", items) for part, items in parts}


VOICE = {"name": "voice_id", "documents": 20, "example": "digital_twins/t1"}

DROPPED_CASES = {
    "none dropped: no list": ({"names": [], "more": 0, "more_at_least": False}, None, {}),
    "not in the record (an older run): no list": (None, None, {}),
    "one key": (
        {"names": [VOICE], "more": 0},
        None,
        {"dropped": ["<code>voice_id</code> in 20 documents, e.g. <code>digital_twins/t1</code>"]},
    ),
    "most documents first, then and K more": (
        {
            "names": [{"name": "mood", "documents": 1, "example": "digital_twins/t9"}, VOICE],
            "more": 3,
            "more_at_least": True,
        },
        None,
        {
            "dropped": [
                "<code>voice_id</code> in 20 documents, e.g. <code>digital_twins/t1</code>",
                "<code>mood</code> in 1 document, e.g. <code>digital_twins/t9</code>",
                "and at least 3 more names",
            ]
        },
    ),
    "escaped": (
        {"names": [{"name": EVIL, "documents": 2, "example": f"digital_twins/{EVIL}"}]},
        None,
        {
            "dropped": [
                "<code>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;</code> in 2 documents, "
                "e.g. <code>digital_twins/&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;</code>"
            ]
        },
    ),
    "capture's own list": (
        None,
        {"names": [VOICE | {"documents": 3}]},
        {"capture-dropped": ["<code>voice_id</code> in 3 documents, e.g. <code>digital_twins/t1</code>"]},
    ),
}


@pytest.mark.parametrize(
    ("run", "captured", "expected"), list(DROPPED_CASES.values()), ids=list(DROPPED_CASES)
)
def test_the_keys_the_contract_drops(run, captured, expected: dict[str, list[str]]) -> None:
    item = collection("digital_twins", dropped_keys=run, capture=collection_capture(dropped_keys=captured))
    page = render_page(state([item]), "mongo_default", None)

    card = page[page.index('data-collection="digital_twins"') :].split("</section>")[0]
    assert dropped_of(card) == expected
    assert_no_script_but_the_links(page)


def test_a_state_without_dropped_keys_renders() -> None:
    # States from before the figure existed (and the JSON of another version) lack the key.
    assert 'class="dropped"' not in render_page(state(), "mongo_default", None)
