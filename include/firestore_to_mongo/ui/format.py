"""How the sync page writes its values: counts with their nouns, instants, durations, cells."""

from __future__ import annotations

from html import escape
from typing import Any


def count_text(number: int, noun: str) -> str:
    """The count and its noun, which agrees with it: "1 run", "2 runs", "1,000 documents"."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:,}"
    return escape(str(value))


def when(iso: str | None) -> str:
    """An ISO instant (UTC) as the page shows it: to the second, with its zone."""
    if not iso:
        return "-"
    return escape(f"{iso[:10]} {iso[11:19]} UTC")


def lag_text(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    minutes, _ = divmod(max(seconds, 0), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"


def seconds_text(value: Any) -> str:
    """A capture lag: seconds under a minute, else as `_lag`."""
    if not is_number(value):
        return cell(value)
    if abs(value) < 60:
        return f"{value:.1f} s" if abs(value) < 10 else f"{value:.0f} s"
    return lag_text(round(value))


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
