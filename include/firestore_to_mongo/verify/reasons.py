"""Why a verify's findings are what they are: each finding counted under its reason in the
collection's figures (`VerifyReport`'s `*_reasons`, `util.reasons.Reasons`), so that the
summary shows the top reasons of every kind of finding with a count and an example path.

How findings group: a difference by its kind (`different` by the names of the fields that
differ), a moving or an unmappable document by its reason's kind (`util.reasons.reason_kind`:
the words of the message, not the value it quotes), a key conflict as one reason whose
example names the key and both paths.
"""

from __future__ import annotations

import json
from typing import Any

from include.firestore_to_mongo.util.reasons import reason_kind
from include.firestore_to_mongo.verify.report import KEY_CONFLICT, VerifyReport
from include.firestore_to_mongo.verify.store import CHANGED, CONFLICT, DIFFERENT, EXTRA, MISSING, Difference


def key_text(key: dict[str, Any] | None) -> str:
    return json.dumps(key, ensure_ascii=False, default=str)


def reason_of(difference: Difference) -> tuple[str, str, str]:
    """(the report's reasons it counts in, its reason, its example) for a finding: a
    difference by its kind (`different` by the fields that differ), a moving document or
    an unmappable one by its reason's kind (`util.reasons.reason_kind`)."""
    example = difference.path or f"key {key_text(difference.key)}"
    if difference.kind == MISSING:
        return "difference_reasons", "missing from MongoDB", example
    if difference.kind == EXTRA:
        return "difference_reasons", "extra in MongoDB: no source document has its key", example
    if difference.kind == DIFFERENT:
        names = sorted({item["field"] for item in difference.fields or []})
        return "difference_reasons", f"different: {', '.join(names) or 'content'}", example
    if difference.kind == CHANGED:
        return "changing_reasons", reason_kind(difference.reason or "it changed during the verify"), example
    if difference.kind == CONFLICT:
        return "conflict_reasons", KEY_CONFLICT, example
    return "unmappable_reasons", reason_kind(difference.reason or "can't be mapped"), example


def count_reason(report: VerifyReport, difference: Difference, count: int = 1) -> Difference:
    """Count `difference` (`count` documents; negative: take them back) in its reasons;
    return it."""
    name, reason, example = reason_of(difference)
    if count > 0:
        getattr(report, name).add(reason, example, count)
    else:
        getattr(report, name).discount(reason, -count)
    return difference


def count_conflict(report: VerifyReport, loser: str, key: dict[str, Any], winner: str) -> None:
    """A key conflict's loser at `loser`: one reason for them all, the example names the
    key and both paths."""
    report.conflicts += 1
    report.conflict_reasons.add(KEY_CONFLICT, f"{loser} (key {key_text(key)}, also {winner}'s, which wins)")
