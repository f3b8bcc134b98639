"""The sync page inside the real Airflow UI, in a real browser at 1280x800: the stack `make ui`
starts (devtools/ui.py: the emulator, mongoeco, the sample data, `airflow standalone`, change
capture), a run triggered through the REST API, a document edited in the emulator while
capture runs, Debian's chromium driven by Playwright. One stack for the module's tests; the
last one runs every collection (the sample's messages have warnings) and reads its summary's
log in the UI.

`UPDATE_SCREENSHOT=1` also writes the screenshots to docs/: the first test's to sync-page.png,
the summary log's to summary-log.png.
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from devtools.ui import DATABASE, PROJECT, USER, Stack, capture_status, start_capture, start_stack
from tests.browser import chromium, needs_chromium
from tests.conftest import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page

pytestmark = pytest.mark.integration

CONF = {"mode": "full", "collections": ["users", "digital_twins"]}
WIDTH, HEIGHT = 1280, 800
# The plugin's navigation entry (plugins/firestore_to_mongo_ui.py).
NAV_NAME = "Sync"
# Every <dl data-part> of a block as {its dt: its dd}, the texts as shown.
FACTS = """block => Object.fromEntries([...block.querySelectorAll('dl[data-part]')].map(dl => [
    dl.dataset.part,
    Object.fromEntries([...dl.querySelectorAll(':scope > div')].map(fact => [
        fact.querySelector('dt').innerText.trim(), fact.querySelector('dd').innerText.trim()])),
]))"""
SCROLL = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
NAV_LABEL = """link => [...link.querySelectorAll('*')]
    .filter(element => element.children.length === 0 && element.textContent.trim())
    .map(element => [element.textContent.trim(), element.scrollWidth, element.clientWidth])"""
# Airflow 3.3's log view (pages/TaskInstance/Logs): a virtualized list of log lines, each
# `max-content` wide while "wrap" is off (the default), inside a scroller for the height; the
# list itself scrolls sideways when a line is wider than the view.
LOG_SCROLLER = "[data-testid='virtual-scroll-container']"
LOG_LIST = "[data-testid='virtualized-list']"
LOG_LINE = "[data-testid^='virtualized-item-']"
# [scrollWidth, clientWidth, white-space] of the log view's scroller and of its list.
LOG_SCROLL = f"""() => [{LOG_SCROLLER!r}, {LOG_LIST!r}].map(selector => {{
    const element = document.querySelector(selector);
    return [element.scrollWidth, element.clientWidth, getComputedStyle(element).whiteSpace];
}})"""
# Scroll the log view to put the summary's line at its top: true once it is there (the view
# scrolls to its last line as the lines arrive, and the virtualizer may adjust after).
TO_THE_TABLE = f"""line => {{
    const scroller = document.querySelector({LOG_SCROLLER!r});
    const off = line.getBoundingClientRect().top - scroller.getBoundingClientRect().top;
    if (Math.abs(off) <= 1) return true;
    line.scrollIntoView({{block: 'start'}});
    return false;
}}"""


def run_to_the_end(stack: Stack, conf: dict, timeout: float = 300) -> str:
    """Unpause the migration DAG, trigger it with `conf`, wait for its end; return the run id."""
    stack.api("PATCH", "/api/v2/dags/firestore_to_mongo", {"is_paused": False})
    run_id = stack.api(
        "POST", "/api/v2/dags/firestore_to_mongo/dagRuns", {"logical_date": None, "conf": conf}
    )["dag_run_id"]
    path = f"/api/v2/dags/firestore_to_mongo/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    state = wait_for(
        lambda: (found := stack.api("GET", path)["state"]) in ("success", "failed") and found,
        timeout,
        f"run {run_id} to end",
    )
    assert state == "success"
    return run_id


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    """Poll `check` until it returns something true (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, f"still waiting for {what} after {timeout:.0f} s"
        time.sleep(every)
    return found


def rename_user(stack: Stack, user: str, username: str) -> None:
    """Change a user's username in the stack's emulator, as the app would."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from devtools.ui import _emulator_host

    with _emulator_host(stack.firestore):
        client = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
        client.document(f"users/{user}").update({"username": username})
        client.close()


def mongo_username(stack: Stack, user: str) -> str | None:
    import pymongo

    with pymongo.MongoClient(stack.mongo_uri, serverSelectionTimeoutMS=5_000) as client:
        found = client[DATABASE]["users"].find_one({"user_id": user}, {"username": 1})
    return found and found.get("username")


@pytest.fixture(scope="module")
def stack_and_run(tmp_path_factory) -> Iterator[tuple[Stack, str]]:
    """The stack, with a full run of users and digital_twins ended: (stack, its run id)."""
    stack = start_stack(tmp_path_factory.mktemp("ui") / "stack")
    try:
        yield stack, run_to_the_end(stack, CONF)
    finally:
        stack.stop()


def sign_in(page: Page, stack: Stack) -> None:
    """Open the Airflow UI and sign in on its own login page."""
    page.goto(stack.url)
    page.locator("input[name=username]").fill(USER)
    page.locator("input[name=password]").fill(stack.password)
    page.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "login" not in url, timeout=60_000)


def open_the_sync_page(page: Page, stack: Stack) -> FrameLocator:
    """Sign in to the Airflow UI, open the sync page from the navigation; its frame, loaded."""
    # Airflow's own login page first: the page needs a signed-in user.
    sign_in(page, stack)
    # The navigation entry the plugin adds opens the page inside the UI.
    page.get_by_role("link", name=NAV_NAME, exact=True).click()
    page.wait_for_url(lambda url: "/plugin/firestore-to-mongo" in url, timeout=60_000)
    frame = page.frame_locator("iframe")
    frame.locator("#collections section[data-collection='users']").wait_for(timeout=60_000)
    return frame


@needs_chromium
def test_the_sync_page_shows_a_run_and_capture_inside_the_airflow_ui(stack_and_run, tmp_path):

    stack, run_id = stack_and_run
    # As `make ui` does; capture's first start reads the whole current set (conversations
    # and messages too, which the run left out) before its first checkpoint.
    status = start_capture(stack)
    assert status["state"] == "running"
    assert status["checkpoint"] is not None

    # An edit in Firestore reaches MongoDB within seconds, and the figures capture stores
    # every 30 s count it.
    renamed = "user001, renamed while capture runs"
    rename_user(stack, "user001", renamed)
    wait_for(lambda: mongo_username(stack, "user001") == renamed, 60, "the new username in MongoDB")
    wait_for(
        lambda: ((capture_status(stack).get("collections") or {}).get("users") or {}).get("updated"),
        90,
        "capture's stored figures to count the update",
        every=2,
    )

    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        frame = open_the_sync_page(page, stack)
        # The label's text elements, as [text, scrollWidth, clientWidth]: the sidebar cuts a
        # longer name with an ellipsis ("Firestore …"), which innerText would not show.
        nav_label = page.get_by_role("link", name=NAV_NAME, exact=True).evaluate(NAV_LABEL)
        capture = frame.locator("section#capture").evaluate(FACTS)
        cards = {
            name: frame.locator(f"#collections section[data-collection='{name}']").evaluate(FACTS)
            for name in ("users", "digital_twins", "conversations", "messages")
        }
        run_link = frame.locator("section[data-collection='users'] dl[data-part='run'] a")
        run_href = run_link.get_attribute("href")
        capture_href = frame.locator("section#capture dl[data-part='capture'] a").get_attribute("href")
        framed_scroll = frame.locator("html").evaluate("html => [html.scrollWidth, html.clientWidth]")
        ui_scroll = page.evaluate(SCROLL)
        screenshot = tmp_path / "sync-page.png"
        page.screenshot(path=str(screenshot))

        # The page on its own, at 1280 px: blocks that wrap, nothing to scroll sideways.
        page.goto(f"{stack.url}/firestore-to-mongo/")
        page.locator("#collections section[data-collection='users']").wait_for(timeout=30_000)
        page_scroll = page.evaluate(SCROLL)

    # The run's own figures: 10 users and 20 twins read and inserted, in full mode.
    users, twins = cards["users"], cards["digital_twins"]
    assert users["run"]["last run"] == run_id
    assert run_href.endswith(f"/dags/firestore_to_mongo/runs/{urllib.parse.quote(run_id, safe='')}")
    assert (users["run"]["mode"], users["run"]["status"]) == ("full", "ok")
    assert (users["figures"]["read"], users["figures"]["inserted"]) == ("10", "10")
    assert (twins["figures"]["read"], twins["figures"]["inserted"]) == ("20", "20")
    assert cards["messages"]["run"]["last run"] == "never"
    # Capture: running, with a checkpoint, at the top and in each card; the edit counted.
    assert capture["capture"]["state"] == "running"
    assert capture["capture"]["checkpoint"].endswith(" UTC")
    # The Airflow run of the continuous schedule that is capturing, linked to its page.
    capture_run = capture["capture"]["run"]
    assert capture_run.startswith("scheduled__")
    assert capture_href.endswith(
        f"/dags/firestore_to_mongo_capture/runs/{urllib.parse.quote(capture_run, safe='')}"
    )
    assert users["capture"]["state"] == "running"
    assert users["capture"]["checkpoint"].endswith(" UTC")
    assert int(users["capture-figures"]["updated"].replace(",", "")) >= 1
    assert users["capture"]["last change"].endswith(" UTC")
    # No sideways scrolling at 1280 px: the UI around the page, the page in its frame, the page alone.
    assert ui_scroll[0] <= WIDTH, ui_scroll
    assert framed_scroll[0] <= framed_scroll[1], framed_scroll
    assert page_scroll[0] <= WIDTH, page_scroll
    assert screenshot.stat().st_size > 10_000
    # The navigation shows the entry's whole name, not cut short.
    ((label, scroll_width, client_width),) = nav_label
    assert label == NAV_NAME
    assert scroll_width <= client_width, nav_label
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(screenshot, ROOT / "docs" / "sync-page.png")


@needs_chromium
def test_a_run_link_in_the_framed_page_opens_that_run_in_the_airflow_ui(stack_and_run):
    """Airflow frames the page without allow-top-navigation: a click on a run link must still
    land on that run's page in the UI (page.LINK_SCRIPT), not be blocked, and not open a
    second UI inside the frame; Back returns to the sync page."""

    stack, run_id = stack_and_run
    run_path = f"/dags/firestore_to_mongo/runs/{urllib.parse.quote(run_id, safe='')}"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        blocked = []
        page.on("console", lambda message: "Unsafe attempt" in message.text and blocked.append(message.text))
        frame = open_the_sync_page(page, stack)
        framed_scroll = frame.locator("html").evaluate("html => [html.scrollWidth, html.clientWidth]")

        frame.locator("section[data-collection='users'] dl[data-part='run'] a").click()
        page.wait_for_url(f"{stack.url}{run_path}", timeout=30_000)
        # The UI's own page of that run: its id as the heading, its state, no frame.
        heading = page.get_by_role("heading", name=run_id)
        heading.wait_for(timeout=30_000)
        frames_on_the_run_page = page.locator("iframe").count()
        run_page_text = page.locator("body").inner_text()

        page.go_back()
        page.wait_for_url(lambda url: "/plugin/firestore-to-mongo" in url, timeout=30_000)
        back = page.frame_locator("iframe").locator("section[data-collection='users'] dl[data-part='run'] a")
        back.wait_for(timeout=60_000)
        back_text = back.inner_text()

    assert blocked == []
    assert framed_scroll[0] <= framed_scroll[1], framed_scroll
    assert frames_on_the_run_page == 0
    assert "Success" in run_page_text
    assert back_text == run_id


@needs_chromium
def test_the_summary_log_of_a_full_run_with_warnings_reads_without_scrolling_sideways(
    stack_and_run, tmp_path
):
    """The summary task's log in the UI's log view, "wrap" off, at 1280x800: its lines (at most
    120 characters) fit the view, so the table reads without scrolling sideways."""

    stack, _ = stack_and_run
    # Every collection: the sample's messages have unparseable timestamps, kept with a warning.
    run_id = run_to_the_end(stack, {"mode": "full"}, timeout=600)
    # The UI's route of a task instance (dags/:dagId/runs/:runId/tasks/:taskId): its logs.
    log_url = f"{stack.url}/dags/firestore_to_mongo/runs/{urllib.parse.quote(run_id, safe='')}/tasks/summary"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        sign_in(page, stack)
        page.goto(log_url)
        # The summary logs its table as one message: one line of the view, many lines tall.
        line = page.locator(LOG_LINE).filter(has_text="docs/s")
        line.wait_for(timeout=60_000)
        page.wait_for_function(TO_THE_TABLE, arg=line.element_handle(), timeout=30_000)
        text = line.inner_text()
        log_scroll = page.evaluate(LOG_SCROLL)
        line_width = line.evaluate("line => line.getBoundingClientRect().width")
        ui_scroll = page.evaluate(SCROLL)
        screenshot = tmp_path / "summary-log.png"
        page.screenshot(path=str(screenshot))

    lines = text.splitlines()
    (header,) = [found for found in lines if found.startswith("collection ") and "docs/s" in found]
    assert header.split() == [
        "collection", "status", "mode", "read", "written", "unchanged", "failed", "warnings",
        "gone/deleted", "wall", "s", "docs/s",
    ]  # fmt: skip
    rows = {
        found.split()[0]: found.split()
        for found in lines
        if found.split()[:1] in (["users"], ["digital_twins"], ["conversations"], ["messages"])
    }
    assert {name: row[1:3] for name, row in rows.items()} == {
        name: ["ok", "full"] for name in ("users", "digital_twins", "conversations", "messages")
    }
    # The run has warnings: the messages' count in the table, and its top reasons below.
    warnings = rows["messages"][header.split().index("warnings")]
    assert int(warnings.replace(",", "")) > 0, rows["messages"]
    assert any(found.strip().startswith("warnings ") and "top reasons" in found for found in lines)
    # "Wrap" off, and nothing to scroll sideways: the view's scroller, its list, the UI.
    (scroller, listing) = log_scroll
    assert listing[2] == "nowrap", log_scroll
    assert scroller[0] <= scroller[1], log_scroll
    assert listing[0] <= listing[1], log_scroll
    assert line_width <= listing[1], (line_width, log_scroll)
    assert ui_scroll[0] <= WIDTH, ui_scroll
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(screenshot, ROOT / "docs" / "summary-log.png")
