"""include.firestore_to_mongo.capture: change capture on the real emulator (reset mode: every
change is answered with the whole set again) and the Mongo test server (or TEST_MONGODB_URI)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.source.listen import ListenStream
from include.firestore_to_mongo.target.change_journal import CHANGES
from tests.capture_support import assert_target_equals_source, commit_time

pytestmark = pytest.mark.integration

M = "digital_twins/t1/conversations/c1/messages"


def at(minute: int) -> datetime:
    return datetime(2026, 12, 1, 12, minute, tzinfo=UTC)


def seed(client) -> datetime:
    writes = [
        client.document("users/u1").set({"username": "ada", "email": "ada@example.com"}),
        client.document("users/u2").set({"username": "bob"}),
        client.document("digital_twins/t1").set({"name": "twin", "user_id": "u1"}),
        client.document("digital_twins/t1/conversations/c1").set({"summary": "hi", "updated_at": at(1)}),
        client.document(f"{M}/m1").set({"role": "user", "content": "hello", "timestamp": at(1)}),
        client.document(f"{M}/m2").set({"role": "assistant", "content": "hi there", "timestamp": at(2)}),
    ]
    return max(commit_time(write) for write in writes)


def test_every_kind_of_change_reaches_mongodb_exactly(firestore_client, mongo_db, capture):
    client = firestore_client
    running = capture()
    running.caught_up(seed(client))
    assert_target_equals_source(client, mongo_db)

    last = max(
        commit_time(write)
        for write in [
            client.document("users/u3").set({"username": "cy"}),  # create
            client.document("users/u1").update({"username": "ada lovelace"}),  # update
            client.document(f"{M}/m1").update({"content": "hello, edited"}),  # no cursor bump
            client.document(f"{M}/m2").delete(),  # delete
            client.document("users/zz").set({"user_id": "u1", "username": "impostor"}),  # conflict: loses
            client.document("users/bad").set({"user_id": 1.5}),  # can't be a key
            client.document("digital_twins/t1/conversations/c2").set({"summary": "new", "updated_at": at(3)}),
            client.document("users/u1/conversations/x").set({"summary": "not migrated"}),  # outside the paths
        ]
    )
    running.caught_up(last)
    assert_target_equals_source(client, mongo_db)
    assert mongo_db.users.find_one({"user_id": "u1"})["username"] == "ada lovelace"
    assert mongo_db.avatar_conversations.find_one({"message_id": "m1"})["message"] == "hello, edited"
    assert mongo_db.avatar_conversations.find_one({"message_id": "m2"}) is None
    assert mongo_db.conversations.count_documents({}) == 2

    result = running.finish()
    users, messages = result["collections"]["users"], result["collections"]["messages"]
    assert users["failed"] == 2  # the conflict's loser and the bad key, named in the log
    assert messages["deleted"] == 1
    assert result["collections"]["conversations"]["ignored"] >= 1
    failures = {
        example["path"]: example["reason"] for example in running.session.figures["users"].failed_examples
    }
    assert "key conflict" in failures["users/zz"]
    assert "users/u1" in failures["users/zz"]
    assert "users/bad" in failures


def test_a_document_a_reset_resends_unchanged_is_not_written_again(firestore_client, mongo_db, capture):
    client = firestore_client
    running = capture()
    running.caught_up(seed(client))
    before = mongo_db[CHANGES].count_documents({"path": "users/u2"})
    running.caught_up(commit_time(client.document("users/u1").update({"username": "ada 2"})))
    running.caught_up(commit_time(client.document("users/u1").update({"username": "ada 3"})))
    result = running.finish()
    # The emulator resent users whole after each change: u2 came again, unchanged, and
    # was neither compared nor journaled again.
    assert result["resets"] >= 2
    assert mongo_db[CHANGES].count_documents({"path": "users/u2"}) == before == 1
    assert mongo_db[CHANGES].count_documents({"path": "users/u1"}) == 3
    assert result["collections"]["users"]["updated"] == 2


class CutOnce:
    """The real stream, cut once in the middle of the first reset after `armed` is set
    (after the reset and one document, before CURRENT); the stream that replaces it
    opens only once `release` is set."""

    def __init__(self) -> None:
        self.armed = threading.Event()
        self.cut = threading.Event()
        self.release = threading.Event()
        self.streams = 0

    def __call__(self, client, specs, read_time=None, resume_token=None):
        self.streams += 1
        stream = ListenStream(client, specs, read_time=read_time, resume_token=resume_token)
        if self.streams > 1:
            self.release.wait(180)
            return stream
        return _Cutting(stream, self)


class _Cutting:
    def __init__(self, stream: ListenStream, plan: CutOnce) -> None:
        self.stream, self.plan = stream, plan

    def handler(self):
        return self.stream.handler()

    def close(self) -> None:
        self.stream.close()

    def __iter__(self):
        from google.cloud.firestore_v1.types import TargetChange

        in_reset = 0
        for response in self.stream:
            yield response
            kind = response._pb.WhichOneof("response_type")
            if kind == "target_change" and self.plan.armed.is_set():
                if response.target_change.target_change_type == TargetChange.TargetChangeType.RESET:
                    in_reset = 1
            elif kind == "document_change" and in_reset:
                self.stream.close()
                self.plan.cut.set()
                raise ConnectionError("cut in the middle of a reset")


def test_a_reset_cut_before_current_deletes_nothing_and_the_next_set_decides(
    firestore_client, mongo_db, capture
):
    client = firestore_client
    plan = CutOnce()
    running = capture(stream_factory=plan)
    checkpoint = running.caught_up(seed(client))
    plan.armed.set()
    deleted = commit_time(client.document("users/u2").delete())
    assert plan.cut.wait(180)
    # The replacing stream is held back: what the session did with the cut one is all done
    # once it asks for a new one (streams == 2).
    while plan.streams < 2:
        running.thread.join(0.05)
    assert mongo_db.users.find_one({"user_id": "u2"}) is not None
    # Consistent points after the seed may still have moved the checkpoint on, but never to
    # the delete: the set that carried it was cut before CURRENT.
    assert checkpoint <= running.session.state.checkpoint() < deleted
    plan.release.set()
    running.caught_up(deleted)
    assert mongo_db.users.find_one({"user_id": "u2"}) is None
    assert_target_equals_source(client, mongo_db)
    running.finish()
