"""The sync page inside the real Airflow UI, in a real browser: the stack `make ui` starts
(devtools/ui.py: the emulator, mongoeco, the sample data, `airflow standalone`), a run
triggered through the REST API, Debian's chromium driven by Playwright.

`UPDATE_SCREENSHOT=1` also writes the screenshot to docs/sync-page.png (the README's).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.parse
import urllib.request

import pytest

from devtools.ui import USER, start_stack
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CONF = {"mode": "full", "collections": ["users", "digital_twins"]}


def api(base: str, method: str, path: str, body: dict | None = None, token: str | None = None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def run_to_the_end(base: str, token: str, conf: dict, timeout: float = 300) -> str:
    """Unpause the migration DAG, trigger it with `conf`, wait for its end; return the run id."""
    api(base, "PATCH", "/api/v2/dags/firestore_to_mongo", {"is_paused": False}, token)
    run_id = api(
        base, "POST", "/api/v2/dags/firestore_to_mongo/dagRuns", {"logical_date": None, "conf": conf}, token
    )["dag_run_id"]
    deadline = time.monotonic() + timeout
    path = f"/api/v2/dags/firestore_to_mongo/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    while (state := api(base, "GET", path, token=token)["state"]) not in ("success", "failed"):
        assert time.monotonic() < deadline, f"run {run_id} still {state} after {timeout} s"
        time.sleep(2)
    assert state == "success"
    return run_id


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here: apt-get install -y chromium (.ci/run does)")
def test_the_sync_page_shows_a_run_inside_the_airflow_ui(tmp_path):
    from playwright.sync_api import sync_playwright

    stack = start_stack(tmp_path / "stack")
    try:
        token = api(stack.url, "POST", "/auth/token", {"username": USER, "password": stack.password})[
            "access_token"
        ]
        run_id = run_to_the_end(stack.url, token, CONF)

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 560})
                page.goto(stack.url)
                # Airflow's own login page first: the page needs a signed-in user.
                page.locator("input[name=username]").fill(USER)
                page.locator("input[name=password]").fill(stack.password)
                page.locator("button[type=submit]").click()
                page.wait_for_url(lambda url: "login" not in url, timeout=60_000)
                # The navigation entry the plugin adds opens the page inside the UI.
                page.get_by_role("link", name="Firestore → MongoDB").click()
                page.wait_for_url(lambda url: url.endswith("/plugin/firestore-to-mongo"), timeout=60_000)
                table = page.frame_locator("iframe").locator("table#collections")
                table.wait_for(timeout=60_000)
                rows = {
                    cells[0]: cells
                    for cells in (row.split("\t") for row in table.locator("tbody tr").all_inner_texts())
                }
                screenshot = tmp_path / "sync-page.png"
                page.screenshot(path=str(screenshot))
            finally:
                browser.close()

        # The run's own figures: 10 users and 20 twins read and inserted, in full mode.
        assert rows["users"][1:5] == [run_id, "full", rows["users"][3], "ok"]
        assert rows["users"][7:9] == ["10", "10"]
        assert rows["digital_twins"][7:9] == ["20", "20"]
        assert rows["messages"][1] == "never"
        assert screenshot.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOT"):
            shutil.copy(screenshot, ROOT / "docs" / "sync-page.png")
    finally:
        stack.stop()
