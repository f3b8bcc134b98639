"""Fixed-width text tables and wrapped lines, readable in a task log.

The summaries keep every line within `LINE_WIDTH` characters: a table too wide shows its
numbers compactly (12.3k, 4.56M), then cuts its text cells (marked `…`); other text is
wrapped (`wrap`), and a path or name too long for its line is cut in the middle
(`cut_middle`, marked `…`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

LINE_WIDTH = 120
# The narrowest a text column is cut to, when a table must shrink.
MIN_TEXT_WIDTH = 4
_UNITS = (("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12))


def render_table(
    rows: list[dict[str, Any]],
    columns: tuple[tuple[str, Any], ...],
    text_columns: set[str],
    width: int | None = None,
) -> str:
    """A fixed-width text table, readable in a task log: `columns` are (heading, key),
    numbers right-aligned, `text_columns` left-aligned. A key may be a tuple of keys: the
    cell shows their values joined by `/` ("-" when the first is None).

    With `width`, no line is longer: numbers of 10,000 and more turn compact (12.3k), then
    the widest text columns are cut (their cells end with `…`), then, as a last resort,
    the lines themselves."""
    headings = [heading for heading, _ in columns]
    text = [heading in text_columns for heading in headings]
    lines = _lines(headings, [[_value(row, key) for _, key in columns] for row in rows], text, False, {})
    if width is None or _fits(lines, width):
        return "\n".join(lines)
    values = [[_value(row, key) for _, key in columns] for row in rows]
    limits: dict[int, int] = {}
    lines = _lines(headings, values, text, True, limits)
    floor = [max(len(heading), MIN_TEXT_WIDTH) for heading in headings]
    while not _fits(lines, width):
        widths = [len(dashes) for dashes in lines[1].split("  ")]
        shrinkable = [i for i, is_text in enumerate(text) if is_text and widths[i] > floor[i]]
        if not shrinkable:
            return "\n".join(cut(line, width) for line in lines)
        widest = max(shrinkable, key=lambda i: widths[i])
        excess = max(len(line) for line in lines) - width
        limits[widest] = max(floor[widest], widths[widest] - excess)
        lines = _lines(headings, values, text, True, limits)
    return "\n".join(lines)


def _fits(lines: list[str], width: int) -> bool:
    return all(len(line) <= width for line in lines)


def _value(row: dict[str, Any], key: Any) -> Any:
    if isinstance(key, tuple):
        return tuple(row.get(part) for part in key)
    return row.get(key)


def _lines(
    headings: list[str], values: list[list[Any]], text: list[bool], compact: bool, limits: dict[int, int]
) -> list[str]:
    body = [
        [
            cut(_cell(value, compact), limits[i]) if i in limits else _cell(value, compact)
            for i, value in enumerate(line)
        ]
        for line in values
    ]
    widths = [max(len(line[i]) for line in [headings, *body]) for i in range(len(headings))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if is_text else cell.rjust(width)
            for is_text, cell, width in zip(text, cells, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(headings), rule, *(line(cells) for cells in body)]


def _cell(value: Any, compact: bool = False) -> str:
    if isinstance(value, tuple):
        if not value or value[0] is None:
            return "-"
        return "/".join(_cell(part, compact) for part in value)
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float) and compact and abs(value) >= 10_000:
        return compact_number(value)
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def compact_number(value: float) -> str:
    """A number in at most 5 characters (6 with a sign) from 10,000 on: 12.3k, 456k, 7.89M."""
    magnitude = abs(value)
    if magnitude < 10_000:
        return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
    for unit, size in _UNITS:
        shown = float(f"{magnitude / size:.3g}")
        if shown < 1000 or unit == _UNITS[-1][0]:
            sign = "-" if value < 0 else ""
            return f"{sign}{shown:g}{unit}" if shown < 1000 else f"{sign}{shown:.3g}{unit}"
    raise AssertionError("unreachable")


def cut(text: str, width: int) -> str:
    """`text`, cut to `width` characters, the last one `…`, when it is longer."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…"


def cut_middle(text: str, width: int) -> str:
    """`text` (a path, a name), cut to `width` characters by leaving out its middle (`…`),
    so both its start and its end show."""
    if len(text) <= width:
        return text
    if width < 3:
        return cut(text, width)
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:]}"


def wrap(text: str, indent: str = "", subsequent: str | None = None, width: int = LINE_WIDTH) -> list[str]:
    """`text` on lines of at most `width` characters: broken at spaces, the first line
    indented by `indent`, the others by `subsequent` (`indent` by default). A word longer
    than a line (a path, say) is broken where the line ends."""
    lines = textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=True,
        break_on_hyphens=False,
    )
    return lines or [indent.rstrip()]


class SummaryLines:
    """The lines of a summary under construction, none longer than `width`: text is
    wrapped, a path or a name too long for its line is cut in the middle, and `footnote`
    says so once."""

    def __init__(self, width: int = LINE_WIDTH) -> None:
        self.width = width
        self.lines: list[str] = []
        self.cut = False

    def text(self, text: str, indent: str = "", subsequent: str | None = None) -> None:
        self.lines.extend(wrap(text, indent, subsequent, self.width))

    def fit(self, text: str, width: int) -> str:
        """`text` cut in the middle to `width` characters, remembering that it was."""
        fitted = cut_middle(text, width)
        self.cut = self.cut or fitted != text
        return fitted

    def item(self, indent: str, prefix: str, value: str) -> None:
        """`prefix` and `value`, a path (or a short sentence that names one) on one line;
        a path too long for it is cut in the middle, a sentence wrapped. A value cut
        before (a `util.reasons` example) counts as cut too."""
        self.cut = self.cut or "…" in value
        if " " in value:
            self.text(prefix + value, indent, indent + "  ")
            return
        room = self.width - len(indent) - len(prefix)
        if room < 24:
            # A long prefix: the path goes on a line of its own.
            self.text(prefix.rstrip(), indent, indent + "  ")
            indent, prefix, room = indent + "  ", "", self.width - len(indent) - 2
        self.lines.append(f"{indent}{prefix}{self.fit(value, room)}")

    def reasons(self, label: str, total: int | None, reasons, indent: str = "  ") -> None:
        """When `total` is non-zero: "<label> <total>, top reasons:", then each of the top
        reasons of `reasons` (a `util.reasons.Reasons`) with its count and example, and how
        many documents had another reason."""
        if not total:
            return
        self.text(f"{label} {total:,}, top reasons:", indent)
        inner = indent + "  "
        top = reasons.top()
        if not top:
            self.text("none recorded (figures from an older version)", inner)
            return
        digits = max(len(f"{reason.count:,}") for reason in top)
        for reason in top:
            head = f"{inner}{reason.count:>{digits},} × "
            self.text(reason.reason, head, " " * len(head))
            self.item(" " * len(head), "e.g. ", reason.example)
        hidden = max(total, reasons.total) - sum(reason.count for reason in top)
        if hidden > 0:
            self.text(f"and {hidden:,} more with other reasons", inner)

    def footnote(self) -> None:
        if self.cut:
            self.text(
                f"(… in a name or a path: cut to fit {self.width} characters a line; the task's XCom "
                "holds it whole)"
            )


def render_summary_log(
    title: str,
    table: str,
    legend: tuple[str, ...],
    rows: list[dict[str, Any]],
    render_block: Callable[[dict[str, Any], SummaryLines], None],
) -> str:
    """A summary task's log (both DAGs'): the title, the table, its legend, then a block
    per row (`{"collection", "status", "read", ...}`) after a blank line, no line over
    LINE_WIDTH characters. A skipped collection has no block; one whose task left no
    figures (`read` None) gets a line saying so; the others, `render_block`'s lines."""
    lines = SummaryLines()
    lines.text(title)
    lines.lines.extend(table.splitlines())
    for text in legend:
        lines.text(text)
    for row in rows:
        if row.get("status") == "skipped":
            continue
        lines.text("")
        if row.get("read") is None:
            lines.text(f"{row['collection']}: {row.get('status')}: its task left no figures (see its log)")
        else:
            render_block(row, lines)
    lines.footnote()
    return "\n".join(lines.lines)
