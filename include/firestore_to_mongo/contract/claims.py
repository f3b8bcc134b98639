"""The key conflict rule: which of two source documents that map to one upsert key wins.

Two Firestore documents of one collection can name the same key (`users/a` and
`users/b` both holding `user_id: "same"`, or a message whose `message_id` is a
sibling's doc id). Upserting both would merge them into one MongoDB document. So
exactly one claimant is migrated, by a rule that doesn't depend on page size,
partitioning or read order:

1. a document that owns its key (no id field, or one equal to its own doc id)
   beats one that names it in a field;
2. otherwise the smallest Firestore path (code-point order) wins.

Pure: the ledgers that hold claims are in `keys/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from include.firestore_to_mongo.contract.specs import CollectionSpec


@dataclass(frozen=True)
class Claim:
    """A source document claiming a key."""

    path: str
    # True when the key's id is the document's own id.
    owner: bool

    @property
    def rank(self) -> tuple[bool, str]:
        """Smallest wins: owners first, then by path."""
        return (not self.owner, self.path)


def decode_key(spec: CollectionSpec, encoded: str) -> dict[str, Any]:
    return dict(zip(spec.key_fields, json.loads(encoded), strict=True))


def encoded_key_text(spec: CollectionSpec, encoded: str) -> str:
    return json.dumps(decode_key(spec, encoded), ensure_ascii=False)
