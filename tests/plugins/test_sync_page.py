"""The sync page and its JSON endpoint (plugins/firestore_to_mongo_ui.py → include's ui.app),
through FastAPI's TestClient, reading a real Mongo wire server (or TEST_MONGODB_URI)."""

from __future__ import annotations

import importlib.util
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from include.firestore_to_mongo.target.run_history import MIGRATION, RUNS, VERIFY, record_run, run_record
from include.firestore_to_mongo.target.run_state import WatermarkStore
from include.firestore_to_mongo.ui.app import create_app
from tests.backends import airflow_mongo_connection
from tests.conftest import ROOT

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
            row(name, read=100 * (number + 1), without_cursor=7 if name == "messages" else None)
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

    page = client.get("/").text

    table = page[page.index('<table id="collections">') : page.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    assert len(rows) == 1 + 4  # heading and four collections
    messages = next(found for found in rows if found.startswith('<td class="text">messages<'))
    cells = re.findall(r"<td[^>]*>(.*?)</td>", messages)
    assert cells[1] == '<a href="../dags/firestore_to_mongo/runs/scheduled__2" target="_top">scheduled__2</a>'
    assert cells[2:5] == ["incremental", "2026-11-29 11:00:00 UTC", "ok"]
    assert cells[5] == watermark.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert cells[6] == "1 h 35 min"
    # read, inserted, updated, unchanged, skipped, failed, gone, deleted; the invisible gap
    assert cells[7:16] == ["300", "11", "12", "97", "3", "0", "4", "2", "7"]
    assert "../dags/firestore_to_mongo_verify/runs/manual__verify" in cells[16]
    assert cells[17:20] == ["full", "differences", "5"]
    users = next(found for found in rows if found.startswith('<td class="text">users<'))
    assert re.findall(r"<td[^>]*>(.*?)</td>", users)[18:20] == ["verified", "0"]
    # The chart: one bar per run, inline SVG, no script.
    assert page.count("<rect ") == 3
    assert "<script" not in page


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

    assert "<script>" not in page
    assert "<img" not in page
    assert "<b>x" not in page
    assert "users/&lt;script&gt;alert(1)&lt;/script&gt;: user_id must be a string" in page
    assert "manual__%3Cb%3Ex%3C%2Fb%3E" in page  # the run link's URL is quoted too


def test_the_json_endpoint_has_the_same_data(client, mongo_db):
    seed(mongo_db)

    state = client.get("/api/state").json()

    assert set(state) == {"database", "generated_at", "has_runs", "collections", "chart"}
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
        "last_verify",
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
        "written": 4 * 23,
        "docs_per_second": 50.0,
    }
    conversations = next(item for item in state["collections"] if item["name"] == "conversations")
    assert conversations["watermark"] is None
    assert conversations["lag_seconds"] is None


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
        "name": "Firestore → MongoDB",
        "href": "firestore-to-mongo/",
        "url_route": "firestore-to-mongo",
        "destination": "nav",
    }
    assert RUNS == "_firestore_to_mongo_runs"
