"""The sync page as HTML, from `state.load_state()`: pure, no I/O.

Every value that comes from the data is escaped (a Firestore path can hold `<script>`).
The charts are inline SVG drawn here, so the page works without internet. The page is
blocks (cards) that wrap, not one wide table: it reads at 1280 px, and narrower inside
the Airflow UI's frame, without sideways scrolling. Its one script is `LINK_SCRIPT`, a
constant: it makes the run links work inside that frame.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from include.firestore_to_mongo.contract.dropped import NAME_LIMIT, DroppedKeys
from include.firestore_to_mongo.ui.charts import capture_chart, runs_chart, side_by_side
from include.firestore_to_mongo.ui.format import cell, lag_text, seconds_text, when
from include.firestore_to_mongo.ui.state import CAPTURE_DAG_ID, CAPTURE_FIGURES, RUN_FIGURES
from include.firestore_to_mongo.util.quoting import shorten

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 0 0 .6rem; }
h3 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #627d98; margin: .9rem 0 .3rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); gap: 1rem; margin: 1rem 0; }
.card { border: 1px solid #d9e2ec; border-radius: 6px; padding: .8rem 1rem; min-width: 0; }
dl { display: flex; flex-wrap: wrap; gap: .4rem 1rem; margin: 0; }
dl > div { flex: 1 1 7rem; min-width: 0; } dl > div.time { flex-basis: 13.5rem; } dl > div.wide { flex-basis: 100%; }
dl + dl { margin-top: .4rem; }
dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(6.5rem, 1fr)); }
dt { font-size: .75rem; color: #627d98; } dd { margin: 0; font-variant-numeric: tabular-nums; }
.dropped { margin-top: .4rem; } .dropped > span { font-size: .75rem; color: #627d98; }
.dropped ul { margin: .1rem 0 0; padding-left: 1.2rem; }
.error { background: #ffe3e3; padding: .8rem; border-radius: 4px; }
.empty { background: #f0f4f8; padding: .8rem; border-radius: 4px; }
.failed, .differences { color: #c92a2a; } .success, .ok, .verified, .running { color: #2b8a3e; }
.waiting, .yielded { color: #b35c00; } .stopped { color: #627d98; }
figure { margin: 0; min-width: 0; } svg { max-width: 100%; height: auto; }
form { margin-bottom: 1rem; } input { margin-right: .6rem; }
"""
# The run links, inside the Airflow UI. Airflow 3.3 shows a plugin's `external_views` page
# in an iframe with sandbox="allow-scripts allow-same-origin allow-forms allow-downloads"
# (airflow-core/src/airflow/ui/src/pages/ExternalView.tsx; in the installed 3.3.2, the
# bundle airflow/ui/dist/assets/index-*.js): no allow-top-navigation, so a target="_top" link
# is blocked, and Airflow has no message protocol for a framed page to ask the UI to go
# somewhere (no "message" listener in the bundle; its useIframeUrlSync hook, apache/airflow
# PR 72196, only mirrors the frame's own location into the address bar under
# /plugin/<url_route>/, so a plain link would open the whole UI again inside the frame). What the
# sandbox does grant, on purpose ("intentionally less restrictive": plugins are trusted), is
# scripts and the same origin: the page may use the UI window's own History. So a click on
# a run link pushes the run's URL onto the UI's history, in React Router's state shape
# ({usr, key, idx}), and sends the UI a popstate: its router then renders that run, as it
# does for the Back button; Back returns to this page. Outside Airflow's frame (the page
# opened on its own, or a modified click), the link is an ordinary link.
LINK_SCRIPT = """
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("a.run-link") : null;
  if (!link || event.defaultPrevented || event.button !== 0 ||
      event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  var ui = window.parent;
  try {
    if (ui === window || ui.location.origin !== window.location.origin ||
        ui.location.pathname.indexOf("/plugin/") < 0) return;
  } catch (error) { return; }
  var target = new URL(link.href);
  var state = ui.history.state || {};
  var idx = typeof state.idx === "number" ? state.idx + 1 : 1;
  ui.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: idx }, "",
    target.pathname + target.search + target.hash);
  ui.dispatchEvent(new ui.PopStateEvent("popstate", { state: ui.history.state }));
  event.preventDefault();
});
"""
# A fact: (label, its value as HTML, the value's CSS class (escaped here), the block's class).
Fact = tuple[str, str, str, str]


def render_page(
    state: dict[str, Any] | None, conn_id: str, database: str | None, error: str | None = None
) -> str:
    """The whole page: the target picker, then the state, the empty state or the error."""
    if error is not None:
        body = f'<p class="error">{escape(error)}</p>'
    elif state is None or not state["has_runs"]:
        body = (
            '<p class="empty">No runs recorded in this database yet. Each run of the '
            "<code>firestore_to_mongo</code> DAG and of <code>firestore_to_mongo_verify</code> "
            "records its figures here when its summary task ends, except dry runs, which write "
            "nothing to MongoDB, this record included. Trigger a full or incremental run (not a "
            "dry run) to fill the page.</p>"
        )
        if state is not None and state.get("capture"):
            body += _capture_block(state["capture"]) + side_by_side(
                capture_chart(state.get("capture_chart", []))
            )
    else:
        body = (
            _capture_block(state.get("capture"))
            + _collection_cards(state)
            + _notes(state)
            + side_by_side(runs_chart(state["chart"]), capture_chart(state.get("capture_chart", [])))
        )
    where = f" · database <code>{escape(state['database'])}</code>" if state else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Firestore → MongoDB</title>"
        f"<style>{STYLE}</style></head><body><h1>Firestore → MongoDB</h1>"
        f"{_picker(conn_id, database)}<p>Mongo connection <code>{escape(conn_id)}</code>{where}</p>"
        f"{body}<script>{LINK_SCRIPT}</script></body></html>"
    )


def _picker(conn_id: str, database: str | None) -> str:
    return (
        '<form method="get">'
        f'<label>Connection <input name="conn_id" value="{escape(conn_id, quote=True)}"></label>'
        f'<label>Database <input name="database" value="{escape(database or "", quote=True)}" '
        'placeholder="the connection\'s"></label><button>Show</button></form>'
    )


def _run_link(run: dict[str, Any]) -> str:
    # Relative: the page is served under <airflow>/firestore-to-mongo/, maybe behind a proxy.
    # No target: inside Airflow's frame LINK_SCRIPT opens it in the UI (see there).
    href = f"../dags/{quote(run['dag_id'], safe='')}/runs/{quote(run['run_id'], safe='')}"
    return f'<a class="run-link" href="{escape(href, quote=True)}">{escape(run["run_id"])}</a>'


def _facts(part: str, facts: list[Fact], kind: str = "facts") -> str:
    items = "".join(
        f"<div{_class(block)}><dt>{escape(label)}</dt><dd{_class(css)}>{html}</dd></div>"
        for label, html, css, block in facts
    )
    return f'<dl class="{kind}" data-part="{part}">{items}</dl>'


def _class(name: str) -> str:
    return f' class="{escape(name, quote=True)}"' if name else ""


def _status(label: str, value: Any) -> Fact:
    return (label, cell(value), "" if value is None else str(value), "")


def _capture_block(capture: dict[str, Any] | None) -> str:
    """The capture at the top: its state, its run, its checkpoint and how far behind it is."""
    if capture is None:
        return (
            '<section class="card capture" id="capture"><h2>Change capture</h2>'
            f"<p>Never ran (DAG <code>{CAPTURE_DAG_ID}</code>).</p></section>"
        )
    lag = capture["lag"] or {}
    run = {"dag_id": str(capture["dag_id"] or CAPTURE_DAG_ID), "run_id": capture["run_id"]}
    facts: list[Fact] = [
        _status("state", capture["state"]),
        ("checkpoint", when(capture["checkpoint"]), "", "time"),
        ("checkpoint lag", seconds_text(capture["checkpoint_lag_seconds"]), "", ""),
        ("documents received", cell(capture["documents"]), "", ""),
        ("resets", cell(capture["resets"]), "", ""),
        ("faults ridden out", cell(capture.get("retried_faults")), "", ""),
        *((f"lag {key}", seconds_text(lag.get(key)), "", "") for key in ("p50", "p95", "max")),
        ("last heartbeat", when(capture["heartbeat_at"]), "", "time"),
        ("journal since", when(capture["journal_since"]), "", "time"),
        ("run", _run_link(run) if isinstance(run["run_id"], str) else cell(run["run_id"]), "", "wide"),
    ]
    return (
        '<section class="card capture" id="capture"><h2>Change capture</h2>'
        f"{_facts('capture', facts)}</section>"
    )


def _collection_cards(state: dict[str, Any]) -> str:
    checkpoint = (state.get("capture") or {}).get("checkpoint")
    cards = "".join(_collection_card(item, checkpoint) for item in state["collections"])
    return f'<div class="cards" id="collections">{cards}</div>'


def _collection_card(item: dict[str, Any], checkpoint: str | None) -> str:
    run, verify, figures = item["last_run"], item["last_verify"], item["figures"] or {}
    run_facts: list[Fact] = [
        ("last run", _run_link(run) if run else "never", "", "wide"),
        ("mode", _mode(run), "", ""),
        _status("status", run and run["status"]),
        ("ended", when(run and run["ended_at"]), "", "time"),
        ("watermark", when(item["watermark"]), "", "time"),
        ("lag", lag_text(item["lag_seconds"]), "", ""),
        ("invisible to incremental", cell(item["without_cursor"]), "", ""),
        ("faults ridden out", cell(item.get("retried_faults")), "", ""),
    ]
    figure_facts: list[Fact] = [(label, cell(figures.get(label)), "", "") for label, _ in RUN_FIGURES]
    verify_facts: list[Fact] = [
        ("last verify", _verify_link(verify), "", "wide"),
        ("ended", when(verify and verify["ended_at"]), "", "time"),
        ("depth", cell(verify and verify["depth"]), "", ""),
        _status("status", verify and verify["status"]),
        ("differences", cell(verify and verify["differences"]), "", ""),
    ]
    return (
        f'<section class="card collection" data-collection="{escape(item["name"], quote=True)}">'
        f"<h2>{escape(item['name'])}</h2>{_facts('run', run_facts)}"
        f"<h3>Last run's figures</h3>{_facts('figures', figure_facts, 'figures')}"
        f"{_dropped('dropped', item.get('dropped_keys'))}"
        f"<h3>Last verify</h3>{_facts('verify', verify_facts)}"
        f"<h3>Change capture</h3>{_capture_facts(item.get('capture'), checkpoint)}</section>"
    )


def _capture_facts(capture: dict[str, Any] | None, checkpoint: str | None) -> str:
    if capture is None:
        return f'<p data-part="capture">Never ran (DAG <code>{CAPTURE_DAG_ID}</code>).</p>'
    facts: list[Fact] = [
        _status("state", capture["state"]),
        *((f"lag {key}", seconds_text(capture[f"lag_{key}"]), "", "") for key in ("p50", "p95", "max")),
        ("checkpoint", when(checkpoint), "", "time"),
        ("last change", when(capture["last_change_at"]), "", "time"),
    ]
    figures: list[Fact] = [(key, cell(capture[key]), "", "") for key in CAPTURE_FIGURES]
    return (
        _facts("capture", facts)
        + _facts("capture-figures", figures, "figures")
        + _dropped("capture-dropped", capture.get("dropped_keys"))
    )


def _dropped(part: str, dropped: Any) -> str:
    """The source keys the contract dropped, a line each (nothing when none were)."""
    keys = DroppedKeys.from_dict(dropped)
    if not keys:
        return ""
    items = [
        f"<li><code>{escape(shorten(key.name, NAME_LIMIT))}</code> {key.documents_text()}, "
        f"e.g. <code>{escape(key.example)}</code></li>"
        for key in keys.counted()
    ]
    if keys.more:
        items.append(f"<li>{escape(keys.more_line())}</li>")
    return (
        f'<div class="dropped" data-part="{part}"><span>dropped by the contract</span>'
        f"<ul>{''.join(items)}</ul></div>"
    )


def _mode(run: dict[str, Any] | None) -> str:
    if run is None or run["mode"] is None:
        return "-"
    return cell(run["mode"] + (" (dry run)" if run["dry_run"] else ""))


def _verify_link(verify: dict[str, Any] | None) -> str:
    if verify is None:
        return "never (DAG <code>firestore_to_mongo_verify</code>)"
    return _run_link(verify)


def _notes(state: dict[str, Any]) -> str:
    notes = [
        f"{escape(item['name'])}: failed: {escape(example)}"
        for item in state["collections"]
        for example in item["failed_examples"]
    ]
    return f"<ul id='failed'>{''.join(f'<li>{note}</li>' for note in notes)}</ul>" if notes else ""
