"""The baseline: what the original one-off migration script did.

Nested loops over twins, their conversations and their messages, each a
streamed query, and one `update_one(..., upsert=True)` round trip per message.
It maps with the product's own `map_document`, so the two differ only in how
they read and write. It does not create the unique index itself (the original
script didn't); the bench creates the same one as the product's before calling
it, so that its upserts are index lookups, as the product's are.
"""

from __future__ import annotations

from include.firestore_to_mongo.contract.mapping import map_document
from include.firestore_to_mongo.contract.specs import MESSAGES


def migrate_messages(client, collection) -> int:
    """Copy every digital_twins/*/conversations/*/messages/* document; return how many."""
    written = 0
    for twin in client.collection("digital_twins").stream():
        for conversation in twin.reference.collection("conversations").stream():
            for message in conversation.reference.collection("messages").stream():
                mapped = map_document(MESSAGES, message.reference.path, message.to_dict() or {})
                collection.update_one(mapped.key, {"$set": mapped.fields}, upsert=True)
                written += 1
    return written
