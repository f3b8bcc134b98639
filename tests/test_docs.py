"""The documentation site's promises: it builds with --strict, offline, every `make` target it
(or the README) names exists, and the params tables and task graphs it generates from the
DAGs hold every param and every task of every DAG."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import chromium, needs_chromium
from tests.conftest import ROOT
from tests.devtools.test_make import makefile_targets

# The pages, the README, and bench/README.md (the Benchmarks page includes it).
DOC_FILES = sorted([*ROOT.glob("docs/**/*.md"), ROOT / "README.md", ROOT / "bench" / "README.md"])
CODE_SPAN = re.compile(r"`([^`\n]+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
# `make TARGET` inside code: a target is lower-case (`make PYTHON313=… test` sets a variable).
MAKE = re.compile(r"(?<![\w-])make ([a-z][\w-]*)")
# A shell comment in a code block (`# make messages' next run a full one`) names no target.
COMMENT = re.compile(r"(?:^|\s)#.*$", re.MULTILINE)


def named_targets(text: str) -> set[str]:
    """The `make` targets named in the code (spans and fenced blocks) of a Markdown text."""
    code = FENCE.findall(text)
    prose = FENCE.sub("", text)
    code += CODE_SPAN.findall(prose)
    return {target for chunk in code for target in MAKE.findall(COMMENT.sub("", chunk))}


def test_named_targets_reads_code_only() -> None:
    text = "To make sense of it, run `make demo`, then\n```\nmake ui   # and make it so\nFOO=1 make query\n# make this\n```\n"

    assert named_targets(text) == {"demo", "ui", "query"}


@pytest.mark.parametrize("path", DOC_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_make_target_the_docs_name_exists(path: Path) -> None:
    named = named_targets(path.read_text())

    assert sorted(named - makefile_targets()) == [], f"{path.name} names targets the Makefile lacks"


def test_the_docs_name_the_main_targets() -> None:
    named = set().union(*(named_targets(path.read_text()) for path in DOC_FILES))

    assert {"test", "demo", "ui", "docs", "docs-serve", "bench", "test-celery", "lint"} <= named


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make docs` builds it (--strict: a warning fails), in a temporary folder."""
    out = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"},
        check=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="module")
def dags() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag.dags


def tables(page: str) -> dict[str, list[str]]:
    """Each generated params table of a built page: DAG id → its rows' param names, in order."""
    found = re.findall(r'<div class="dag-params" data-dag="([\w.-]+)">(.*?)</div>', page, re.DOTALL)
    return {dag_id: re.findall(r"<tr>\s*<td><code>([\w-]+)</code></td>", table) for dag_id, table in found}


def test_every_param_of_every_dag_is_in_the_generated_tables(site: Path, dags: dict) -> None:
    generated = tables((site / "dags" / "index.html").read_text())

    assert {"firestore_to_mongo", "firestore_to_mongo_verify"} <= set(dags)
    assert sorted(generated) == sorted(dags), "a DAG without its params table, or a table of no DAG"
    for dag_id, dag in dags.items():
        assert generated[dag_id] == list(dag.params.keys()), dag_id


def test_the_generated_tables_show_each_params_default_and_description(site: Path, dags: dict) -> None:
    page = html.unescape((site / "dags" / "index.html").read_text())

    param = dags["firestore_to_mongo"].params.get_param("batch_size")
    assert param.description
    assert param.description.split(".")[0] in page
    assert re.search(r"<td><code>batch_size</code></td>\s*<td>500</td>", page)
    assert re.search(r"<td><code>depth</code></td>\s*<td><code>full</code></td>", page)


def test_every_task_of_every_dag_is_in_its_generated_graph(site: Path, dags: dict) -> None:
    page = html.unescape((site / "dags" / "index.html").read_text())
    graphs = re.findall(r'<pre class="mermaid"><code>(flowchart LR.*?)</code></pre>', page, re.DOTALL)

    for dag_id, dag in dags.items():
        edges = {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}
        assert any(
            all(f"{up} --> {down}" in graph for up, down in edges)
            and all(f"{task.task_id}[" in graph for task in dag.tasks)
            for graph in graphs
        ), f"no graph of {dag_id}'s tasks"


def test_the_site_loads_nothing_from_the_internet(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 15
    external = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
    for page in pages:
        text = page.read_text()
        assert not external.search(text), f"{page.relative_to(site)} loads something from the internet"
        assert "fonts.googleapis" not in text
        assert "unpkg.com" not in text
    # Mermaid is served with the site: Material then doesn't fetch it from a CDN.
    assert (site / "assets" / "javascripts" / "mermaid.min.js").stat().st_size > 1_000_000
    # The chart bench/README.md links is published with it.
    assert (site / "bench" / "scale.png").is_file()


# The pages with diagrams: Material draws each ```mermaid block (a <pre class="mermaid"> as
# served) into a <div class="mermaid">, with the Mermaid the site serves.
DIAGRAM_PAGES = ["", "cutover/", "dags/"]


@needs_chromium
def test_make_docs_serve_shows_the_site_offline(tmp_path: Path) -> None:
    """`make docs-serve` as a reader meets it, in chromium at 1280x800 with every request that
    doesn't go to the server refused and recorded: the home page, the diagrams drawn, search
    answering, nothing fetched from elsewhere, nothing to scroll sideways.
    `UPDATE_SCREENSHOT=1` also writes the home page's screenshot to docs/site-home.png."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    from devtools.servers import free_port, stop_process_group, wait_for_port

    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    with (tmp_path / "docs-serve.log").open("w") as log:
        server = subprocess.Popen(
            ["make", "-s", "docs-serve", f"DOCS_PORT={port}"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    elsewhere: list[str] = []

    def only_the_server(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        wait_for_port("127.0.0.1", port, 300, server)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.route("**/*", only_the_server)
            drawn = {}
            for path in DIAGRAM_PAGES:
                diagrams = page.request.get(base + path).text().count('<pre class="mermaid">')
                assert diagrams >= 1, path
                page.goto(base + path)
                # Not drawn in time: the assertions below say what was, and what was fetched elsewhere.
                with contextlib.suppress(PlaywrightTimeoutError):
                    page.wait_for_function(
                        "n => document.querySelectorAll('div.mermaid').length === n"
                        " && !document.querySelector('pre.mermaid')",
                        arg=diagrams,
                        timeout=60_000,
                    )
                heights = page.evaluate(
                    "() => [...document.querySelectorAll('div.mermaid')].map(d => d.getBoundingClientRect().height)"
                )
                drawn[path] = (diagrams, heights)
                assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
            page.goto(base)
            title = page.locator("article h1").inner_text()
            nav = page.locator("nav.md-nav--primary a.md-nav__link").all_inner_texts()
            screenshot = tmp_path / "site-home.png"
            page.screenshot(path=str(screenshot))
            # Search runs in the page (a worker and the site's own index): "s" opens it.
            # The results follow each keystroke, so wait for those of the whole word (each
            # result links with ?h=<the query>), not for the first ones to show.
            page.keyboard.press("s")
            page.keyboard.type("freeze_seconds")
            with contextlib.suppress(PlaywrightTimeoutError):
                page.locator('.md-search-result__item a[href*="h=freeze_seconds"]').first.wait_for(
                    timeout=60_000
                )
            found = page.locator(".md-search-result__item a").evaluate_all("links => links.map(a => a.href)")
    finally:
        stop_process_group(server)

    assert elsewhere == []
    assert title.rstrip("¶") == "firestore-to-mongo"
    assert {"Getting started", "Change capture", "Cut-over and its checklist", "Development"} <= set(nav)
    # A diagram Mermaid could not draw (or never ran on) stays a <pre>, or draws nothing.
    assert all(len(heights) == diagrams for diagrams, heights in drawn.values()), drawn
    assert all(height > 50 for _, heights in drawn.values() for height in heights), drawn
    assert any("/cutover/" in href and "h=freeze_seconds" in href for href in found), found
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT"):
        shutil.copy(screenshot, ROOT / "docs" / "site-home.png")
