"""The sync page and its JSON endpoint (plugins/firestore_to_mongo_ui.py → include's ui.app),
through FastAPI's TestClient, reading a real Mongo wire server (or TEST_MONGODB_URI); and the
page in a real browser (Debian's chromium, driven by Playwright) at 1280 px."""

from __future__ import annotations

import importlib.util
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.run_history import MIGRATION, RUNS, VERIFY, record_run, run_record
from include.firestore_to_mongo.target.run_state import WatermarkStore
from include.firestore_to_mongo.ui.app import create_app
from tests.backends import airflow_mongo_connection
from tests.browser import chromium, needs_chromium
from tests.conftest import ROOT
from tests.include.ui.test_page import assert_no_script_but_the_links, capture_block_of, cards_of, facts_of

ENDED = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
# Watermarks are this far behind the moment they are seeded.
LAG = timedelta(minutes=95)


def row(collection: str, **figures) -> dict:
    return {
        "collection": collection,
        "status": "ok",
        "mode": "incremental",
        "dry_run": False,
        "read": 120,
        "inserted": 11,
        "updated": 12,
        "unchanged": 97,
        "skipped": 3,
        "failed": 0,
        "stale": 4,
        "deleted": 2,
        "seconds": 2.0,
        "docs_per_second": 60.0,
    } | figures


@pytest.fixture
def app(monkeypatch):
    from airflow.api_fastapi.core_api.security import get_user

    application = create_app()
    application.dependency_overrides[get_user] = lambda: object()
    return application


@pytest.fixture
def client(app, mongo_uri, mongo_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_mongo_connection(mongo_uri, mongo_db.name))
    return TestClient(app)


def seed(mongo_db, runs: int = 3) -> datetime:
    """Runs, a verify, and watermarks LAG behind now; returns the watermark."""
    for number in range(runs):
        rows = [
            row(
                name,
                read=100 * (number + 1),
                without_cursor=7 if name == "messages" else None,
                retried_faults=3 if name == "messages" else 0,
            )
            for name in ("users", "digital_twins", "conversations", "messages")
        ]
        record = run_record(
            MIGRATION, "firestore_to_mongo", f"scheduled__{number}", rows, ENDED + timedelta(hours=number)
        )
        record_run(mongo_db, record)
    verify_rows = [
        row(
            name,
            status="differences" if name == "messages" else "verified",
            depth="full",
            remaining=5 if name == "messages" else 0,
        )
        for name in ("users", "digital_twins", "conversations", "messages")
    ]
    record_run(
        mongo_db, run_record(VERIFY, "firestore_to_mongo_verify", "manual__verify", verify_rows, ENDED)
    )
    watermark = datetime.now(UTC) - LAG
    for name in ("users", "messages"):
        WatermarkStore(mongo_db).advance(name, watermark, "p/(default)", "scheduled__2", "incremental")
    return watermark


def seed_capture(mongo_db, run_id: str = "scheduled__capture") -> None:
    """A running capture (a heartbeat 5 s ago) and its last ten minutes of figures."""
    now = datetime.now(UTC)
    capture = CaptureState(mongo_db)
    capture.update_status(
        {
            "state": "running",
            "run_id": run_id,
            "dag_id": "firestore_to_mongo_capture",
            "started_at": now - timedelta(hours=1),
            "heartbeat_at": now - timedelta(seconds=5),
            "checkpoint": now - timedelta(seconds=8),
            "journal_since": now - timedelta(hours=1),
            "documents": 4321,
            "resets": 0,
            "retried_faults": 4,
            "lag": {"p50": 0.5, "p95": 2.5, "max": 7.0},
            "collections": {
                "messages": {
                    "seen": 4000,
                    "inserted": 100,
                    "updated": 3800,
                    "unchanged": 60,
                    "deleted": 40,
                    "failed": 0,
                    "lag_p50": 0.5,
                    "lag_p95": 2.5,
                    "lag_max": 7.0,
                    "last_change_at": now - timedelta(seconds=12),
                }
            },
        }
    )
    for number in range(20):
        at = now - timedelta(seconds=30 * (20 - number))
        record = {"at": at, "run_id": run_id, "checkpoint": at - timedelta(seconds=3), "collections": {}}
        capture.append_figures(record | {"lag": {"p50": 0.5, "p95": 1.0 + number % 3, "max": 4.0 + number}})


def test_every_route_asks_for_an_airflow_user(mongo_uri, mongo_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", airflow_mongo_connection(mongo_uri, mongo_db.name))
    seed(mongo_db)
    client = TestClient(create_app())

    for path in ("/", "/api/state", "/?database=other"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert "users" not in response.text


def test_a_seeded_target_shows_every_figure(client, mongo_db):
    watermark = seed(mongo_db)

    seed_capture(mongo_db)

    page = client.get("/").text

    cards = cards_of(page)
    assert list(cards) == ["users", "digital_twins", "conversations", "messages"]
    messages = cards["messages"]
    assert messages["run"] == {
        "last run": '<a class="run-link" href="../dags/firestore_to_mongo/runs/scheduled__2">scheduled__2</a>',
        "mode": "incremental",
        "status": "ok",
        "ended": "2026-11-29 11:00:00 UTC",
        "watermark": watermark.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "lag": "1 h 35 min",
        "invisible to incremental": "7",
        "faults ridden out": "3",
    }
    # read, inserted, updated, unchanged, skipped, failed, gone, deleted
    assert list(messages["figures"].values()) == ["300", "11", "12", "97", "3", "0", "4", "2"]
    assert "../dags/firestore_to_mongo_verify/runs/manual__verify" in messages["verify"]["last verify"]
    assert [messages["verify"][key] for key in ("depth", "status", "differences")] == [
        "full",
        "differences",
        "5",
    ]
    assert [cards["users"]["verify"][key] for key in ("status", "differences")] == ["verified", "0"]
    # Change capture: the block at the top, and each collection's figures.
    summary = facts_of(capture_block_of(page))["capture"]
    assert summary["state"] == "running"
    assert summary["documents received"] == "4,321"
    assert summary["faults ridden out"] == "4"
    assert 8 <= float(summary["checkpoint lag"].removesuffix(" s")) < 60
    assert "../dags/firestore_to_mongo_capture/runs/scheduled__capture" in summary["run"]
    assert messages["capture"]["state"] == "running"
    assert [messages["capture"][key] for key in ("lag p50", "lag p95", "lag max")] == [
        "0.5 s",
        "2.5 s",
        "7.0 s",
    ]
    assert list(messages["capture-figures"].values()) == ["4,000", "100", "3,800", "60", "40", "0"]
    assert cards["users"]["capture-figures"]["seen"] == "-"
    # The charts: a pair of bars per run (read and written), a line each for p95 and max lag;
    # inline SVG; no script but the run links' own.
    assert page.count('<g class="run">') == 3
    assert page.count('<rect class="read"') == page.count('<rect class="written"') == 3
    assert '<svg id="capture-chart"' in page
    assert page.count('<polyline class="lag_max"') == 1
    assert_no_script_but_the_links(page)


def test_a_capture_whose_heartbeat_stopped_shows_stopped(client, mongo_db):
    seed(mongo_db)
    seed_capture(mongo_db)
    CaptureState(mongo_db).update_status({"heartbeat_at": datetime.now(UTC) - timedelta(minutes=3)})

    page = client.get("/").text
    state = client.get("/api/state").json()

    assert facts_of(capture_block_of(page))["capture"]["state"] == "stopped"
    assert '<dd class="stopped">stopped</dd>' in page
    assert state["capture"]["state"] == "stopped"
    assert {item["capture"]["state"] for item in state["collections"]} == {"stopped"}


def test_an_empty_target_says_so(client, mongo_db):
    page = client.get("/")

    assert page.status_code == 200
    assert "No runs recorded in this database yet" in page.text
    assert client.get("/api/state").json()["has_runs"] is False


def test_another_database_can_be_picked(client, mongo_db, mongo_client):
    other = mongo_client[mongo_db.name + "_other"]
    try:
        seed(other, runs=1)
        assert "No runs recorded" in client.get("/").text
        picked = client.get("/", params={"database": other.name}).text
        assert "scheduled__0" in picked
        assert f'value="{other.name}"' in picked
    finally:
        mongo_client.drop_database(other.name)


def test_every_value_from_the_data_is_escaped(client, mongo_db):
    evil = "users/<script>alert(1)</script>"
    rows = [
        row("users", failed=1, failed_examples=[f"{evil}: user_id must be a string"], mode='"><img src=x>')
    ]
    record_run(mongo_db, run_record(MIGRATION, "firestore_to_mongo", "manual__<b>x</b>", rows, ENDED))

    page = client.get("/", params={"conn_id": "mongo_default"}).text

    assert_no_script_but_the_links(page)
    assert "<img" not in page
    assert "<b>x" not in page
    assert "users/&lt;script&gt;alert(1)&lt;/script&gt;: user_id must be a string" in page
    assert "manual__%3Cb%3Ex%3C%2Fb%3E" in page  # the run link's URL is quoted too


def test_the_json_endpoint_has_the_same_data(client, mongo_db):
    seed(mongo_db)

    seed_capture(mongo_db)

    state = client.get("/api/state").json()

    assert set(state) == {
        "database",
        "generated_at",
        "has_runs",
        "collections",
        "chart",
        "capture",
        "capture_chart",
    }
    assert state["database"] == mongo_db.name
    messages = next(item for item in state["collections"] if item["name"] == "messages")
    assert set(messages) == {
        "name",
        "last_run",
        "watermark",
        "lag_seconds",
        "figures",
        "failed_examples",
        "without_cursor",
        "retried_faults",
        "dropped_keys",
        "last_verify",
        "capture",
    }
    assert messages["last_run"] == {
        "dag_id": "firestore_to_mongo",
        "run_id": "scheduled__2",
        "ended_at": "2026-11-29T11:00:00+00:00",
        "mode": "incremental",
        "status": "ok",
        "dry_run": False,
    }
    assert messages["figures"] == {
        "read": 300,
        "inserted": 11,
        "updated": 12,
        "unchanged": 97,
        "skipped": 3,
        "failed": 0,
        "gone": 4,
        "deleted": 2,
    }
    assert 95 * 60 <= messages["lag_seconds"] < 97 * 60
    assert messages["last_verify"]["differences"] == 5
    assert [point["run_id"] for point in state["chart"]] == ["scheduled__0", "scheduled__1", "scheduled__2"]
    assert state["chart"][0] == {
        "run_id": "scheduled__0",
        "ended_at": "2026-11-29T09:00:00+00:00",
        "mode": "incremental",
        "read": 4 * 100,
        "written": 4 * 23,
        "docs_per_second": 200.0,  # 400 documents, the longest collection 2 s (no start recorded)
    }
    conversations = next(item for item in state["collections"] if item["name"] == "conversations")
    assert conversations["watermark"] is None
    assert conversations["lag_seconds"] is None
    assert messages["capture"]["seen"] == 4000
    assert conversations["capture"]["seen"] is None
    assert state["capture"]["state"] == "running"
    assert state["capture"]["documents"] == 4321
    assert 8 <= state["capture"]["checkpoint_lag_seconds"] < 60
    assert len(state["capture_chart"]) == 20
    assert state["capture_chart"][0]["lag_max"] == 4.0
    assert state["capture_chart"][0]["checkpoint_lag_seconds"] == 3.0


def test_an_unreachable_target_is_an_error_within_the_timeout(app, monkeypatch, closed_port):
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", f"mongo://user:s3cret-pw@127.0.0.1:{closed_port}/app")
    client = TestClient(app)

    started = time.monotonic()
    page = client.get("/", params={"timeout_seconds": 1})
    state = client.get("/api/state", params={"timeout_seconds": 1})

    assert time.monotonic() - started < 10
    assert page.status_code == 200
    assert "did not answer within 1 s" in page.text
    assert "Traceback" not in page.text
    assert "s3cret-pw" not in page.text
    assert state.status_code == 503
    assert "did not answer within 1 s" in state.json()["error"]


def test_an_unknown_connection_is_named_not_a_stack_trace(app):
    page = TestClient(app).get("/", params={"conn_id": "no_such_connection"})

    assert page.status_code == 200
    assert "Can&#x27;t use the Airflow connection &#x27;no_such_connection&#x27;" in page.text
    assert "Traceback" not in page.text


def test_bad_query_params_are_rejected(client):
    assert client.get("/", params={"timeout_seconds": 0}).status_code == 422
    assert client.get("/", params={"timeout_seconds": 61}).status_code == 422
    assert client.get("/", params={"conn_id": ""}).status_code == 422


def test_the_plugin_registers_the_app_and_a_navigation_entry():
    spec = importlib.util.spec_from_file_location(
        "firestore_to_mongo_ui", ROOT / "plugins" / "firestore_to_mongo_ui.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    plugin = module.FirestoreToMongoPlugin
    (app,) = plugin.fastapi_apps
    assert app["url_prefix"] == "/firestore-to-mongo"
    (view,) = plugin.external_views
    assert view == {
        "name": "Sync",
        "href": "firestore-to-mongo/",
        "url_route": "firestore-to-mongo",
        "destination": "nav",
    }
    assert RUNS == "_firestore_to_mongo_runs"


@needs_chromium
def test_the_page_reads_at_1280_px_in_a_browser(client, mongo_db):
    """The page as served, in chromium at 1280x800: the capture block shows, nothing is
    loaded from anywhere, and nothing scrolls sideways, even with long unbroken run ids."""

    seed(mongo_db)
    long_id = "manual__" + "x" * 150
    seed_capture(mongo_db, run_id=long_id)
    # And the keys the contract drops, with a long unbroken name and path.
    dropped = {
        "names": [{"name": "k" * 100, "documents": 12345, "example": "users/" + "u" * 300}],
        "more": 49,
    }
    record_run(mongo_db, run_record(MIGRATION, "firestore_to_mongo", long_id, [row("users")], ENDED))
    twins = [row("digital_twins", dropped_keys=dropped)]
    record_run(
        mongo_db, run_record(MIGRATION, "firestore_to_mongo", "manual__2", twins, ENDED + timedelta(days=1))
    )
    html = client.get("/").text
    assert 'data-part="dropped"' in html

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        requests = []
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        capture = page.locator("#capture")
        capture_visible = capture.is_visible()
        capture_text = capture.inner_text()
        cards_visible = page.locator("#collections section").evaluate_all(
            "cards => cards.filter(card => card.offsetWidth > 0).length"
        )
        charts = page.locator("svg").evaluate_all(
            "svgs => svgs.map(svg => svg.getBoundingClientRect().right)"
        )
        scroll_width = page.evaluate("document.documentElement.scrollWidth")

    assert capture_visible
    assert "running" in capture_text
    assert "4,321" in capture_text
    assert cards_visible == 4
    assert len(charts) == 2
    assert all(right <= 1280 for right in charts)
    assert scroll_width <= 1280
    assert requests == []


def test_the_keys_the_contract_drops_are_shown_and_in_the_json(client, mongo_db):
    seed(mongo_db)
    voice = {"name": "voice_id", "documents": 20, "example": "digital_twins/t1"}
    rows = [row("digital_twins", dropped_keys={"names": [voice], "more": 0, "more_at_least": False})]
    record_run(
        mongo_db,
        run_record(MIGRATION, "firestore_to_mongo", "manual__voice", rows, ENDED + timedelta(days=1)),
    )

    page = client.get("/").text
    twins = page[page.index('data-collection="digital_twins"') :].split("</section>")[0]

    assert (
        '<div class="dropped" data-part="dropped"><span>dropped by the contract</span><ul>'
        "<li><code>voice_id</code> in 20 documents, e.g. <code>digital_twins/t1</code></li></ul></div>"
    ) in twins
    users = page[page.index('data-collection="users"') :].split("</section>")[0]
    assert 'class="dropped"' not in users
    state = {item["name"]: item for item in client.get("/api/state").json()["collections"]}
    assert state["digital_twins"]["dropped_keys"] == {"names": [voice], "more": 0, "more_at_least": False}
