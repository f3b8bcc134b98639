"""Why documents failed, warned or conflicted: a small, bounded, mergeable count per reason.

A `Reasons` maps a reason to how many documents had it and one example (a path: the
smallest met, so the same whatever the read order or the partitioning). Whoever meets
a failure or a warning adds it to a page's `Reasons`; pages merge into a partition's,
partitions into the collection's (`<name>_done`), and the summary shows the top few.

Bounded: at most `TRACKED` distinct reasons are kept, each cut to `REASON_CHARS`, its
example to `EXAMPLE_CHARS` (by leaving out its middle, marked `…`); documents with any further reason are counted in `other`.
A merge keeps the `TRACKED` reasons with the most documents and folds the rest into
`other`, so a kept reason's count is exact unless more than `TRACKED` distinct reasons
met somewhere (then it may be low, and `other` holds the rest: the total stays exact).
JSON- and BSON-safe through `as_dict()` / `from_dict()` (reasons are values, never keys),
for XCom, checkpoints and the runs record.

`reason_kind` groups reasons that differ only in the value they quote: see there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from include.firestore_to_mongo.util.quoting import shorten
from include.firestore_to_mongo.util.table import cut_middle

TRACKED = 10
# The summary's "top reasons".
SHOWN = 3
REASON_CHARS = 160
EXAMPLE_CHARS = 300

# How the varying part of a reason is recognised (see reason_kind).
# A quote opens after no letter or digit ("can't" and "MongoDB's" are words) and closes
# before none; a number stands free (not in a name like user_id_1 or E11000, nor a range
# like 0..999999999).
_CUT_REPR = re.compile(r"""(?<!\w)(['"])(?:(?!\1)[^\\]|\\.)*?… \([\d,]+ characters\)""")
_QUOTED = re.compile(r"""(?<!\w)(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")(?!\w)""")
_NUMBER = re.compile(r"(?<![\w.…])[-+]?\d+(?:[.,_]\d+)*(?:[eE][-+]?\d+)?(?![\w…]|\.\.)")


def reason_kind(reason: str) -> str:
    """The kind of a failure or warning, so that the same kind groups together whatever
    the value it names: every quoted value (a repr, as `util.quoting.quote` writes it,
    cut or whole) and every free-standing number becomes `…`; the field, the words of the
    message and unquoted names stay. "timestamp: unparseable date string 'sometime last
    week': Unknown string format; kept unchanged" → "timestamp: unparseable date string …:
    Unknown string format; kept unchanged"."""
    kind = _CUT_REPR.sub("…", reason)
    kind = _QUOTED.sub("…", kind)
    return _NUMBER.sub("…", kind)


@dataclass
class Reason:
    reason: str
    count: int
    # A path (the smallest met), or what stands for one: an extra document's key, a key
    # conflict's loser with its key and the winner.
    example: str


class Reasons:
    """reason → (documents, one example), bounded; see the module's docstring."""

    def __init__(self) -> None:
        self._reasons: dict[str, Reason] = {}
        # Documents whose reason is not among the kept ones.
        self.other = 0

    def add(self, reason: str, example: str, count: int = 1) -> None:
        """`count` documents with `reason` (give it as `reason_kind` or a fixed text)."""
        # A long example (a path) loses its middle: it stays one word, its ends show.
        reason, example = shorten(reason, REASON_CHARS), cut_middle(example, EXAMPLE_CHARS)
        found = self._reasons.get(reason)
        if found is not None:
            found.count += count
            found.example = min(found.example, example)
        elif len(self._reasons) < TRACKED:
            self._reasons[reason] = Reason(reason, count, example)
        else:
            self.other += count

    def merge(self, other: Reasons) -> None:
        """Add `other`'s counts (a page's, a partition's); keep the TRACKED most common."""
        for theirs in other._reasons.values():
            mine = self._reasons.get(theirs.reason)
            if mine is not None:
                mine.count += theirs.count
                mine.example = min(mine.example, theirs.example)
            else:
                self._reasons[theirs.reason] = Reason(theirs.reason, theirs.count, theirs.example)
        self.other += other.other
        if len(self._reasons) > TRACKED:
            ranked = self.ranked()
            self._reasons = {reason.reason: reason for reason in ranked[:TRACKED]}
            self.other += sum(reason.count for reason in ranked[TRACKED:])

    def discount(self, reason: str, count: int = 1) -> None:
        """Take back `count` documents counted with `reason` (a verify's key conflict loser
        that a partition had counted as a difference). Its example may stay that document."""
        reason = shorten(reason, REASON_CHARS)
        found = self._reasons.get(reason)
        if found is None:
            self.other = max(0, self.other - count)
        elif found.count <= count:
            del self._reasons[reason]
        else:
            found.count -= count

    @property
    def total(self) -> int:
        return sum(reason.count for reason in self._reasons.values()) + self.other

    def ranked(self) -> list[Reason]:
        """The reasons kept, most documents first, then by reason."""
        return sorted(self._reasons.values(), key=lambda reason: (-reason.count, reason.reason))

    def top(self, count: int = SHOWN) -> list[Reason]:
        return self.ranked()[:count]

    def __bool__(self) -> bool:
        return self.total > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reasons) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"Reasons({self.as_dict()!r})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "reasons": [
                {"reason": reason.reason, "count": reason.count, "example": reason.example}
                for reason in self.ranked()
            ],
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, figures: Any) -> Reasons:
        """From `as_dict()`'s output, or a Reasons; anything missing or malformed (an
        older run's figures) counts as nothing."""
        if isinstance(figures, Reasons):
            figures = figures.as_dict()
        reasons = cls()
        if not isinstance(figures, dict):
            return reasons
        for entry in figures.get("reasons") or []:
            if not isinstance(entry, dict):
                continue
            reason, count, example = entry.get("reason"), entry.get("count"), entry.get("example")
            if isinstance(reason, str) and _is_count(count) and isinstance(example, str):
                reasons.add(reason, example, count)
        if _is_count(other := figures.get("other")):
            reasons.other += other
        return reasons


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
