"""Change capture of messages under twin documents that don't exist (never created, or deleted
while their subcollections stayed), in the three shapes of tests/missing_parents.py: written
before capture starts or while it runs, then edited, deleted and added to under a missing
twin. Every message lands in MongoDB exactly once. The real emulator and Mongo test server."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.capture_support import assert_target_equals_source, commit_time
from tests.missing_parents import SHAPES, message, message_key, stored_message_keys

pytestmark = pytest.mark.integration


def marker(client, number: int) -> datetime:
    """A write after everything before it: caught up with its commit, capture has the rest."""
    return commit_time(client.document(f"users/marker{number}").set({"username": f"marker {number}"}))


def assert_every_message_once(client, mongo_db, paths: list[str]) -> None:
    assert sorted(stored_message_keys(mongo_db)) == sorted(map(message_key, paths))
    assert_target_equals_source(client, mongo_db)


def under_a_missing_twin(client, paths: list[str]) -> list[str]:
    return [path for path in paths if not client.document(path.split("/conversations/")[0]).get().exists]


@pytest.mark.parametrize("written", ["before-capture", "during-capture"])
@pytest.mark.parametrize("shape", SHAPES)
def test_every_message_is_captured_once(firestore_client, mongo_db, capture, shape, written):
    client = firestore_client
    if written == "before-capture":
        paths = shape(client)
        running = capture()
    else:
        running = capture()
        running.caught_up(marker(client, 0))
        paths = shape(client)
    running.caught_up(marker(client, 1))
    assert_every_message_once(client, mongo_db, paths)
    assert mongo_db.conversations.count_documents({}) == 0  # no conversation document exists

    # Changes under a twin that doesn't exist: an edit, a delete, and a message under a new one.
    edited, deleted = under_a_missing_twin(client, paths)[:2]
    client.document(edited).update({"content": "edited"})
    client.document(deleted).delete()
    added = message(client, "t9", "c1", 0)
    paths = [path for path in paths if path != deleted] + [added]
    running.caught_up(marker(client, 2))
    assert_every_message_once(client, mongo_db, paths)
    twin, conversation, message_id = message_key(edited)
    stored = mongo_db.avatar_conversations.find_one(
        {"digital_twin_id": twin, "conversation_id": conversation, "message_id": message_id}
    )
    assert stored["message"] == "edited"

    messages = running.finish()["collections"]["messages"]
    # Each message inserted once, the deleted one too.
    assert (messages["inserted"], messages["deleted"], messages["failed"]) == (len(paths) + 1, 1, 0)
