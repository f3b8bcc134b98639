"""The sync page's charts, as inline SVG: documents read and written per run, and capture's lag."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from html import escape
from typing import Any

from include.firestore_to_mongo.ui.format import count_text, is_number, seconds_text, when


def side_by_side(*charts: str) -> str:
    """The charts side by side while they fit, else one under the other."""
    shown = "".join(f"<figure>{chart}</figure>" for chart in charts if chart)
    return f'<div class="cards charts">{shown}</div>' if shown else ""


# The runs chart draws documents read and written per run on a logarithmic scale: a full run
# reads thousands and an incremental one a handful, and on a linear scale the latter would be
# a bar under a pixel high. Here 0 is the axis, 1 is one step above it and each further step
# is ten times more, so a run that read or wrote anything shows at least one step high.
RUN_BARS = (("read", "#9fb3c8"), ("written", "#1c5d99"))


def runs_chart(points: list[dict[str, Any]]) -> str:
    """Documents read and written by the last runs: a pair of bars per run, oldest first,
    each labelled with the time the run ended, on a log scale (see RUN_BARS)."""
    if not points:
        return ""
    width, height = 720, 270
    left, right, top, bottom = 64, 12, 34, 72
    plot_width, plot_height, base = width - left - right, height - top - bottom, height - bottom
    largest = max(_figure(point, key) for point in points for key, _ in RUN_BARS)
    decades = max(1, math.ceil(math.log10(largest))) if largest > 1 else 1
    steps = decades + 1

    def level(value: int) -> float:
        return plot_height * (math.log10(value) + 1) / steps if value > 0 else 0.0

    grid = [
        f'<line x1="{left}" y1="{base - level(10**power):.1f}" x2="{width - right}" '
        f'y2="{base - level(10**power):.1f}" stroke="#e4e7eb"/>'
        f'<text x="{left - 6}" y="{base - level(10**power) + 4:.1f}" font-size="11" fill="#486581" '
        f'text-anchor="end">{_power_of_ten(power)}</text>'
        for power in range(decades + 1)
    ]
    step = plot_width / len(points)
    group = min(step * 0.8, 36)
    runs = []
    for index, point in enumerate(points):
        x = left + index * step
        bars = "".join(
            f'<rect class="{key}" x="{x + (step - group) / 2 + number * group / 2:.1f}" '
            f'y="{base - level(_figure(point, key)):.1f}" width="{group / 2:.1f}" '
            f'height="{level(_figure(point, key)):.1f}" fill="{colour}"/>'
            for number, (key, colour) in enumerate(RUN_BARS)
            if _figure(point, key)
        )
        middle = x + step / 2
        runs.append(
            f'<g class="run"><title>{escape(_run_title(point))}</title>'
            f'<rect x="{x:.1f}" y="{top}" width="{step:.1f}" height="{plot_height}" fill="transparent"/>'
            f"{bars}"
            f'<text x="{middle:.1f}" y="{base + 14}" font-size="10" fill="#486581" text-anchor="end" '
            f'transform="rotate(-45 {middle:.1f} {base + 14})">{_short_when(point.get("ended_at"))}</text></g>'
        )
    newest = points[-1]
    which = "the last run" if len(points) == 1 else f"the last {len(points):,} runs"
    title = f"Documents read and written by {which}"
    description = (
        "A pair of bars per run, oldest on the left, each labelled with the time the run ended "
        "(UTC): documents read (light) and documents written, inserted or updated (dark). The "
        "scale is logarithmic: 0 at the axis, then 1, 10, 100 and so on, so that an incremental "
        "run's few documents still show next to a full run's thousands. The newest run, "
        f"{newest['run_id']}, read {count_text(_figure(newest, 'read'), 'document')} and wrote "
        f"{_figure(newest, 'written'):,}."
    )
    legend = "".join(
        f'<rect x="{left + offset}" y="{top - 24}" width="10" height="10" fill="{colour}"/>'
        f'<text x="{left + offset + 14}" y="{top - 15}" font-size="12" fill="#486581">{key}</text>'
        for offset, (key, colour) in zip((0, 56), RUN_BARS, strict=True)
    )
    return (
        f"<h2>Documents per run, {which}</h2>"
        f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title chart-desc">'
        f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>'
        f"{''.join(grid)}{legend}"
        f'<text x="{width - right}" y="{top - 15}" font-size="12" fill="#486581" text-anchor="end">'
        "documents, log scale; when each run ended, UTC</text>"
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="#829ab1"/>'
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#829ab1"/>'
        f'<text x="{left - 6}" y="{base + 4}" font-size="11" fill="#486581" text-anchor="end">0</text>'
        f"{''.join(runs)}</svg>"
    )


def _power_of_ten(power: int) -> str:
    """An axis label: 1, 10, 100, 1k, 10k, 100k, 1M, 10M…"""
    for unit, size in (("M", 6), ("k", 3)):
        if power >= size:
            return f"{10 ** (power - size)}{unit}"
    return str(10**power)


def _figure(point: dict[str, Any], key: str) -> int:
    """A chart point's count; anything but a non-negative number (a record from before the
    figure existed) is 0."""
    value = point.get(key)
    return max(int(value), 0) if is_number(value) else 0


def _run_title(point: dict[str, Any]) -> str:
    """A run's tooltip: its id, mode, end, and figures."""
    mode = f" ({point['mode']})" if point.get("mode") else ""
    speed = point.get("docs_per_second")
    rate = f", {speed:,} documents read per second" if is_number(speed) and speed > 0 else ""
    return (
        f"{point['run_id']}{mode}, ended {_short_when(point.get('ended_at'), full=True)}: "
        f"{count_text(_figure(point, 'read'), 'document')} read, {_figure(point, 'written'):,} written{rate}"
    )


def _short_when(iso: Any, full: bool = False) -> str:
    """An ISO instant as a chart label: "11-29 09:00" (UTC), or with its year when `full`."""
    at = _instant(iso)
    if at is None:
        return "-"
    return f"{at:%Y-%m-%d %H:%M} UTC" if full else f"{at:%m-%d %H:%M}"


CAPTURE_LINES = (("lag_p95", "#486581"), ("lag_max", "#d9480f"))


def capture_chart(points: list[dict[str, Any]]) -> str:
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
    values = [point[key] for _, point in timed for key, _ in CAPTURE_LINES if is_number(point.get(key))]
    top = max([*values, 0]) or 1
    drawn = []
    for key, colour in CAPTURE_LINES:
        segments: list[list[tuple[float, float]]] = [[]]
        for at, point in timed:
            value = point.get(key)
            if not is_number(value):
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
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="capture-chart-title capture-chart-desc">'
        '<title id="capture-chart-title">Change capture lag over time</title>'
        '<desc id="capture-chart-desc">Two lines over the time capture recorded its figures, every '
        f"30 s: the p95 lag (blue) and the max lag (orange), from 0 s at the axis to {seconds_text(top)} "
        "at the top; a line breaks where a figure is unknown.</desc>"
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#829ab1"/>'
        f"{''.join(drawn)}"
        f'<text x="{pad}" y="{pad - 12}" font-size="12" fill="#486581">p95 (blue) and max (orange) lag, '
        f"seconds (top {seconds_text(top)})</text>"
        f'<text x="{pad}" y="{height - pad + 16}" font-size="12" fill="#486581">{when(first.isoformat())}</text>'
        f'<text x="{width - pad}" y="{height - pad + 16}" font-size="12" fill="#486581" text-anchor="end">'
        f"{when(last.isoformat())}</text></svg>"
    )


def _instant(iso: Any) -> datetime | None:
    if not isinstance(iso, str):
        return None
    try:
        found = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return found.astimezone(UTC) if found.tzinfo else None
