"""The sync page as HTML, from `state.load_state()`: pure, no I/O, no JavaScript.

Every value that comes from the data is escaped (a Firestore path can hold `<script>`).
The chart is inline SVG drawn here, so the page works without internet.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from include.firestore_to_mongo.ui.state import CHART_RUNS, RUN_FIGURES

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d9e2ec; padding: .35rem .6rem; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text { text-align: left; }
.error { background: #ffe3e3; padding: .8rem; border-radius: 4px; }
.empty { background: #f0f4f8; padding: .8rem; border-radius: 4px; }
.failed, .differences { color: #c92a2a; } .success, .ok, .verified { color: #2b8a3e; }
form { margin-bottom: 1rem; } input { margin-right: .6rem; }
"""


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
    else:
        body = _collections_table(state) + _notes(state) + _chart(state["chart"])
    where = f" · database <code>{escape(state['database'])}</code>" if state else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Firestore → MongoDB</title>"
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


def _collections_table(state: dict[str, Any]) -> str:
    headings = [
        "collection",
        "last run",
        "mode",
        "ended",
        "status",
        "watermark",
        "lag",
        *(label for label, _ in RUN_FIGURES),
        "invisible to incremental",
        "last verify",
        "depth",
        "verify status",
        "differences",
    ]
    rows = []
    for item in state["collections"]:
        run, verify, figures = item["last_run"], item["last_verify"], item["figures"] or {}
        cells = [
            f'<td class="text">{escape(item["name"])}</td>',
            f'<td class="text">{_run_link(run) if run else "never"}</td>',
            f'<td class="text">{_mode(run)}</td>',
            f'<td class="text">{_when(run and run["ended_at"])}</td>',
            f'<td class="text {escape(str(run and run["status"]), quote=True)}">{_cell(run and run["status"])}</td>',
            f'<td class="text">{_when(item["watermark"])}</td>',
            f"<td>{_lag(item['lag_seconds'])}</td>",
            *(f"<td>{_cell(figures.get(label))}</td>" for label, _ in RUN_FIGURES),
            f"<td>{_cell(item['without_cursor'])}</td>",
            f'<td class="text">{_verify_link(verify)}</td>',
            f'<td class="text">{_cell(verify and verify["depth"])}</td>',
            f'<td class="text {escape(str(verify and verify["status"]), quote=True)}">{_cell(verify and verify["status"])}</td>',
            f"<td>{_cell(verify and verify['differences'])}</td>",
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{escape(heading)}</th>" for heading in headings)
    return f'<table id="collections"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _mode(run: dict[str, Any] | None) -> str:
    if run is None or run["mode"] is None:
        return "-"
    return _cell(run["mode"] + (" (dry run)" if run["dry_run"] else ""))


def _verify_link(verify: dict[str, Any] | None) -> str:
    if verify is None:
        return "never (DAG <code>firestore_to_mongo_verify</code>)"
    return f"{_run_link(verify)}<br>{_when(verify['ended_at'])}"


def _notes(state: dict[str, Any]) -> str:
    notes = [
        f"{escape(item['name'])}: failed: {escape(example)}"
        for item in state["collections"]
        for example in item["failed_examples"]
    ]
    return f"<ul id='failed'>{''.join(f'<li>{note}</li>' for note in notes)}</ul>" if notes else ""


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
        f'role="img" aria-label="documents written and documents per second per run">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#829ab1"/>'
        f"{''.join(bars)}"
        f'<polyline points="{" ".join(line)}" fill="none" stroke="#d9480f" stroke-width="2"/>'
        f'<text x="{pad}" y="{pad - 12}" font-size="12" fill="#486581">bars: documents written '
        f"(max {most_written:,})</text>"
        f'<text x="{width - pad}" y="{pad - 12}" font-size="12" fill="#d9480f" text-anchor="end">line: '
        f"docs/s (max {fastest:,})</text></svg>"
    )
