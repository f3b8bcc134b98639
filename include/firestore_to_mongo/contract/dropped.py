"""The source keys the contract drops: per collection, each top-level field name outside
the contract (`CollectionSpec.dropped_keys`), how many documents have it and one example
path. A run's notes, its record and the sync page show it, and so do capture's figures.

`map_document` names each document's dropped keys (`MappedDocument.dropped`); whoever maps
documents adds them to a `DroppedKeys` (a page's, a partition's, a capture session's) and
merges those up, so the count costs no read and no pass of its own.

Memory, XCom and the runs record stay bounded whatever the source holds (a document that
keeps ids as top-level field names has as many names as ids): exact counts and an example
are kept for the first `SHOWN` distinct names met, and each further name only as a 16-hex
digest in a set of at most `MORE_TRACKED`; past that, further names set `more_at_least`
and are reported as "and at least K more names". So a `DroppedKeys` holds at most `SHOWN`
names with their paths and `MORE_TRACKED` digests (about 20 KB).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from include.firestore_to_mongo.util.quoting import shorten

SHOWN = 50
MORE_TRACKED = 1_000
NAME_LIMIT = 100


@dataclass
class DroppedKey:
    name: str
    documents: int
    # The smallest path among the documents counted: the same whatever the read order.
    example: str
    # True when some documents with the name went uncounted (a merged part met it past
    # its cap), so `documents` is a lower bound.
    at_least: bool = False

    def documents_text(self) -> str:
        """The count as text: "in 20 documents", or "in at least 20 documents"."""
        plural = "" if self.documents == 1 else "s"
        return f"in {'at least ' if self.at_least else ''}{self.documents:,} document{plural}"


def _digest(name: str) -> str:
    return hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


class DroppedKeys:
    """Mergeable counts of the source keys a collection's contract drops; JSON-safe through
    `as_dict()` / `from_dict()`, for XCom, checkpoints and the runs record."""

    def __init__(self) -> None:
        self._names: dict[str, DroppedKey] = {}
        # Digests of the names met past the first SHOWN (bounded by MORE_TRACKED).
        self._more: set[str] = set()
        # Names past the cap known only by their number (from a dict without digests).
        self._more_untracked = 0
        self._more_at_least = False

    def add(self, path: str, keys: Iterable[str]) -> None:
        """One document's dropped keys (each of its names once)."""
        for name in keys:
            found = self._names.get(name)
            if found is not None:
                found.documents += 1
                if path < found.example:
                    found.example = path
            elif len(self._names) < SHOWN:
                self._names[name] = DroppedKey(name, 1, path)
            else:
                self._add_more(_digest(name))

    def merge(self, other: DroppedKeys) -> None:
        """Add `other`'s counts (another page's, partition's) to these."""
        had = set(self._names)
        for theirs in other._names.values():
            mine = self._names.get(theirs.name)
            if mine is not None:
                mine.documents += theirs.documents
                mine.example = min(mine.example, theirs.example)
                mine.at_least = mine.at_least or theirs.at_least
            elif len(self._names) < SHOWN:
                self._names[theirs.name] = DroppedKey(**vars(theirs))
            else:
                self._add_more(_digest(theirs.name))
        if other._more or other._more_at_least:
            # A name counted here that `other` met past its cap: its documents there are
            # unknown, so its count is a lower bound (and when `other` stopped tracking
            # names, any name it didn't count may be one).
            counted = {_digest(name): name for name in self._names}
            for digest in other._more:
                if digest in counted:
                    self._names[counted[digest]].at_least = True
                else:
                    self._add_more(digest)
            if other._more_at_least:
                for name in had - set(other._names):
                    self._names[name].at_least = True
        self._more_untracked += other._more_untracked
        self._more_at_least = self._more_at_least or other._more_at_least

    def _add_more(self, digest: str) -> None:
        if digest in self._more:
            return
        if len(self._more) < MORE_TRACKED:
            self._more.add(digest)
        else:
            self._more_at_least = True

    def __bool__(self) -> bool:
        return bool(self._names) or self.more > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DroppedKeys) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"DroppedKeys({self.as_dict()!r})"

    @property
    def more(self) -> int:
        """How many names past the first SHOWN (a lower bound when `more_at_least`)."""
        return len(self._more) + self._more_untracked

    @property
    def more_at_least(self) -> bool:
        return self._more_at_least

    def counted(self) -> list[DroppedKey]:
        """The names counted, most documents first (then by name)."""
        return sorted(self._names.values(), key=lambda key: (-key.documents, key.name))

    def as_dict(self, mergeable: bool = True) -> dict[str, Any]:
        """JSON- and BSON-safe (names are values, never keys: a name may hold `.` or start
        with `$`). `mergeable` keeps the digests of the names past the cap, for `merge`;
        without them (the summary, the runs record, capture's figures) they are a number."""
        figures: dict[str, Any] = {
            "names": [
                {"name": key.name, "documents": key.documents, "example": key.example}
                | ({"at_least": True} if key.at_least else {})
                for key in self._names.values()
            ],
            "more": self.more,
            "more_at_least": self._more_at_least,
        }
        if mergeable and self._more:
            figures["more_digests"] = sorted(self._more)
        return figures

    @classmethod
    def from_dict(cls, figures: Any) -> DroppedKeys:
        """From `as_dict()`'s output; anything missing or malformed (an older run, a record
        written by hand) counts as nothing."""
        dropped = cls()
        if not isinstance(figures, dict):
            return dropped
        for entry in figures.get("names") or []:
            if not isinstance(entry, dict):
                continue
            name, documents, example = entry.get("name"), entry.get("documents"), entry.get("example")
            if (
                isinstance(name, str)
                and isinstance(documents, int)
                and not isinstance(documents, bool)
                and isinstance(example, str)
                and len(dropped._names) < SHOWN
            ):
                dropped._names[name] = DroppedKey(name, documents, example, entry.get("at_least") is True)
        digests = figures.get("more_digests") or []
        dropped._more = {digest for digest in digests if isinstance(digest, str)}
        more = figures.get("more")
        if isinstance(more, int) and not isinstance(more, bool):
            dropped._more_untracked = max(0, more - len(dropped._more))
        dropped._more_at_least = figures.get("more_at_least") is True
        return dropped

    def lines(self) -> list[str]:
        """One line per name, most documents first, then "and K more names"."""
        lines = [
            f"`{shorten(key.name, NAME_LIMIT)}` {key.documents_text()} (e.g. {key.example})"
            for key in self.counted()
        ]
        if self.more:
            lines.append(self.more_line())
        return lines

    def more_line(self) -> str:
        at_least = "at least " if self._more_at_least else ""
        return f"and {at_least}{self.more:,} more name{'' if self.more == 1 else 's'}"

    def notes(self, collection: str) -> list[str]:
        """The summary's note for `collection`: none when nothing was dropped."""
        if not self:
            return []
        return [f"{collection}: dropped by the contract: {'; '.join(self.lines())}"]
