"""MkDocs hook: a page includes a Markdown file from outside docs/, so that one text lives in
one place (bench/README.md is read on GitHub next to the bench's code, and on the site).

`<!-- include: PATH -->` on a line of its own (PATH from the repository's root) is replaced by that file, its
headings one level down (its `#` title becomes a section of the page). The images it links
by a relative path are published with the site at the same path, and its links to them
rewritten to match. A missing file fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!--\s*include:\s*(\S+)\s*-->[ \t]*$", re.MULTILINE)
# A Markdown image or link to a relative path (no scheme, no leading slash, no anchor only).
RELATIVE_LINK = re.compile(r"(!?\[[^\]]*\]\()(?![a-z][\w+.-]*:|/|#)([^)\s]+)(\))")
FENCE = re.compile(r"^\s*(```|~~~)")


def _source(path: str) -> Path:
    source = (ROOT / path).resolve()
    if not source.is_file() or ROOT not in source.parents:
        raise PluginError(f"include: no file {path!r} in the repository")
    return source


def _linked_files(path: str) -> list[str]:
    """The repository paths of the files `path` links by a relative path."""
    folder = PurePosixPath(path).parent
    return [str(folder / target) for _, target, _ in RELATIVE_LINK.findall(_source(path).read_text())]


def included(path: str, page_uri: str) -> str:
    """The text of `path`, headings one level down, relative links made relative to the page."""
    folder = PurePosixPath(path).parent
    depth = len(PurePosixPath(page_uri).parent.parts)
    up = "../" * depth

    def relink(match: re.Match[str]) -> str:
        opening, target, closing = match.groups()
        return f"{opening}{up}{folder / target}{closing}"

    lines, in_fence = [], False
    for line in _source(path).read_text().splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            if line.startswith("#"):
                line = "#" + line
            line = RELATIVE_LINK.sub(relink, line)
        lines.append(line)
    return "\n".join(lines)


def on_files(files: Files, config: Any) -> Files:
    """Publish what the included files link to, at their repository paths."""
    for page in list(files.documentation_pages()):
        for path in MARKER.findall(Path(page.abs_src_path).read_text()):
            for linked in _linked_files(path):
                source = _source(linked)
                if files.get_file_from_path(linked) is None:
                    files.append(File.generated(config, linked, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return MARKER.sub(lambda match: included(match.group(1), page.file.src_uri), markdown)
