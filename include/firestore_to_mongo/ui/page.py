"""The sync page as HTML, from `state.load_state()`: pure, no I/O, no JavaScript.

Every value that comes from the data is escaped (a Firestore path can hold `<script>`).
The charts are inline SVG drawn here, so the page works without internet. The page is
blocks (cards) that wrap, not one wide table: it reads at 1280 px, and narrower inside
the Airflow UI's frame, without sideways scrolling.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from include.firestore_to_mongo.contract.dropped import NAME_LIMIT, DroppedKeys
from include.firestore_to_mongo.ui.state import CAPTURE_DAG_ID, CAPTURE_FIGURES, CHART_RUNS, RUN_FIGURES
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
            '<p class="empty">No runs recorded in this database yet. Trigger the '
            "<code>firestore_to_mongo</code> DAG (a dry run is fine): every run's summary task "
            "records its figures here.</p>"
        )
        if state is not None and state.get("capture"):
            body += _capture_block(state["capture"]) + _charts(_capture_chart(state.get("capture_chart", [])))
    else:
        body = (
            _capture_block(state.get("capture"))
            + _collection_cards(state)
            + _notes(state)
            + _charts(_chart(state["chart"]), _capture_chart(state.get("capture_chart", [])))
        )
    where = f" · database <code>{escape(state['database'])}</code>" if state else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><title>Firestore → MongoDB</title>"
        f"<style>{STYLE}</style></head><body><h1>Firestore → MongoDB</h1>"
        f"{_picker(conn_id, database)}<p>Mongo connection <code>{escape(conn_id)}</code>{where}</p>"
        f"{body}</body></html>"
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
    href = f"../dags/{quote(run['dag_id'], safe='')}/runs/{quote(run['run_id'], safe='')}"
    return f'<a href="{escape(href, quote=True)}" target="_top">{escape(run["run_id"])}</a>'


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    return escape(str(value))


def _when(iso: str | None) -> str:
    """An ISO instant (UTC) as the page shows it: to the second, with its zone."""
    if not iso:
        return "-"
    return escape(f"{iso[:10]} {iso[11:19]} UTC")


def _lag(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, _ = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _seconds(value: Any) -> str:
    """A capture lag: seconds under a minute, else as `_lag`."""
    if not _is_number(value):
        return _cell(value)
    if abs(value) < 60:
        return f"{value:.1f} s" if abs(value) < 10 else f"{value:.0f} s"
    return _lag(round(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _facts(part: str, facts: list[Fact], kind: str = "facts") -> str:
    items = "".join(
        f"<div{_class(block)}><dt>{escape(label)}</dt><dd{_class(css)}>{html}</dd></div>"
        for label, html, css, block in facts
    )
    return f'<dl class="{kind}" data-part="{part}">{items}</dl>'


def _class(name: str) -> str:
    return f' class="{escape(name, quote=True)}"' if name else ""


def _status(label: str, value: Any) -> Fact:
    return (label, _cell(value), "" if value is None else str(value), "")


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
        ("checkpoint", _when(capture["checkpoint"]), "", "time"),
        ("checkpoint lag", _seconds(capture["checkpoint_lag_seconds"]), "", ""),
        ("documents received", _cell(capture["documents"]), "", ""),
        ("resets", _cell(capture["resets"]), "", ""),
        ("faults ridden out", _cell(capture.get("retried_faults")), "", ""),
        *((f"lag {key}", _seconds(lag.get(key)), "", "") for key in ("p50", "p95", "max")),
        ("last heartbeat", _when(capture["heartbeat_at"]), "", "time"),
        ("journal since", _when(capture["journal_since"]), "", "time"),
        ("run", _run_link(run) if isinstance(run["run_id"], str) else _cell(run["run_id"]), "", "wide"),
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
        ("ended", _when(run and run["ended_at"]), "", "time"),
        ("watermark", _when(item["watermark"]), "", "time"),
        ("lag", _lag(item["lag_seconds"]), "", ""),
        ("invisible to incremental", _cell(item["without_cursor"]), "", ""),
        ("faults ridden out", _cell(item.get("retried_faults")), "", ""),
    ]
    figure_facts: list[Fact] = [(label, _cell(figures.get(label)), "", "") for label, _ in RUN_FIGURES]
    verify_facts: list[Fact] = [
        ("last verify", _verify_link(verify), "", "wide"),
        ("ended", _when(verify and verify["ended_at"]), "", "time"),
        ("depth", _cell(verify and verify["depth"]), "", ""),
        _status("status", verify and verify["status"]),
        ("differences", _cell(verify and verify["differences"]), "", ""),
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
        *((f"lag {key}", _seconds(capture[f"lag_{key}"]), "", "") for key in ("p50", "p95", "max")),
        ("checkpoint", _when(checkpoint), "", "time"),
        ("last change", _when(capture["last_change_at"]), "", "time"),
    ]
    figures: list[Fact] = [(key, _cell(capture[key]), "", "") for key in CAPTURE_FIGURES]
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
    return _cell(run["mode"] + (" (dry run)" if run["dry_run"] else ""))


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


def _charts(*charts: str) -> str:
    """The charts side by side while they fit, else one under the other."""
    shown = "".join(f"<figure>{chart}</figure>" for chart in charts if chart)
    return f'<div class="cards charts">{shown}</div>' if shown else ""


def _chart(points: list[dict[str, Any]]) -> str:
    """Documents written (bars) and documents per second (line) of the last runs."""
    if not points:
        return ""
    width, height, pad = 720, 220, 40
    step = (width - 2 * pad) / max(len(points), 1)
    most_written = max(point["written"] for point in points) or 1
    fastest = max(point["docs_per_second"] for point in points) or 1
    bars, line = [], []
    for index, point in enumerate(points):
        x = pad + index * step
        bar = (height - 2 * pad) * point["written"] / most_written
        title = escape(
            f"{point['run_id']}: {point['written']:,} written, {point['docs_per_second']:,} docs/s"
        )
        bar_width = min(step * 0.7, 24)
        bars.append(
            f'<rect x="{x + (step - bar_width) / 2:.1f}" y="{height - pad - bar:.1f}" width="{bar_width:.1f}" '
            f'height="{bar:.1f}" fill="#9fb3c8"><title>{title}</title></rect>'
        )
        y = height - pad - (height - 2 * pad) * point["docs_per_second"] / fastest
        line.append(f"{x + step / 2:.1f},{y:.1f}")
    return (
        f"<h2>Last {min(len(points), CHART_RUNS)} runs</h2>"
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="documents written and documents per second per run">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#829ab1"/>'
        f"{''.join(bars)}"
        f'<polyline points="{" ".join(line)}" fill="none" stroke="#d9480f" stroke-width="2"/>'
        f'<text x="{pad}" y="{pad - 12}" font-size="12" fill="#486581">bars: documents written '
        f"(max {most_written:,})</text>"
        f'<text x="{width - pad}" y="{pad - 12}" font-size="12" fill="#d9480f" text-anchor="end">line: '
        f"docs/s (max {fastest:,})</text></svg>"
    )


CAPTURE_LINES = (("lag_p95", "#486581"), ("lag_max", "#d9480f"))


def _capture_chart(points: list[dict[str, Any]]) -> str:
    """The capture's lag over time, p95 and max in seconds: a line each, x by time (a gap
    in the records is a gap on the axis), broken where a figure is unknown."""
    timed = sorted(
        ((at, point) for point in points if (at := _instant(point.get("at"))) is not None),
        key=lambda pair: pair[0],
    )
    if not timed:
        return ""
    width, height, pad = 720, 220, 40
    first, last = timed[0][0], timed[-1][0]
    span = (last - first).total_seconds() or 1
    values = [point[key] for _, point in timed for key, _ in CAPTURE_LINES if _is_number(point.get(key))]
    top = max([*values, 0]) or 1
    drawn = []
    for key, colour in CAPTURE_LINES:
        segments: list[list[tuple[float, float]]] = [[]]
        for at, point in timed:
            value = point.get(key)
            if not _is_number(value):
                segments.append([])
                continue
            x = pad + (width - 2 * pad) * (at - first).total_seconds() / span
            y = height - pad - (height - 2 * pad) * max(value, 0) / top
            segments[-1].append((x, y))
        for segment in filter(None, segments):
            # A lone point (a figure known between two unknown ones) is a dot.
            drawn.append(
                f'<polyline class="{key}" points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in segment)}" '
                f'fill="none" stroke="{colour}" stroke-width="2"/>'
                if len(segment) > 1
                else f'<circle class="{key}" cx="{segment[0][0]:.1f}" cy="{segment[0][1]:.1f}" r="2.5" '
                f'fill="{colour}"/>'
            )
    return (
        "<h2>Capture lag over time</h2>"
        f'<svg id="capture-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="change capture lag over time, p95 and max">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#829ab1"/>'
        f"{''.join(drawn)}"
        f'<text x="{pad}" y="{pad - 12}" font-size="12" fill="#486581">p95 (blue) and max (orange) lag, '
        f"seconds (top {_seconds(top)})</text>"
        f'<text x="{pad}" y="{height - pad + 16}" font-size="12" fill="#486581">{_when(first.isoformat())}</text>'
        f'<text x="{width - pad}" y="{height - pad + 16}" font-size="12" fill="#486581" text-anchor="end">'
        f"{_when(last.isoformat())}</text></svg>"
    )


def _instant(iso: Any) -> datetime | None:
    if not isinstance(iso, str):
        return None
    try:
        found = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo else None
