"""Fixed-width text tables, readable in a task log."""

from __future__ import annotations

from typing import Any


def render_table(
    rows: list[dict[str, Any]],
    columns: tuple[tuple[str, str], ...],
    text_columns: set[str],
) -> str:
    """A fixed-width text table, readable in a task log: `columns` are (heading, key),
    numbers right-aligned, `text_columns` left-aligned."""
    header = [heading for heading, _ in columns]
    body = [[_cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if heading in text_columns else cell.rjust(width)
            for heading, cell, width in zip(header, cells, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(cells) for cells in body)])


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
