"""include.firestore_to_mongo.capture.applier, event by event as real Firestore sends them
in delta mode (explicit deletes, each change once), on the Mongo test server: what MongoDB
holds afterwards and what was counted, case by case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from include.firestore_to_mongo.capture.applier import Applier
from include.firestore_to_mongo.capture.figures import CaptureFigures
from include.firestore_to_mongo.capture.versions import LocalVersions
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
from include.firestore_to_mongo.source.listen import DocumentChanged, DocumentGone
from include.firestore_to_mongo.target.capture_state import CaptureState
from include.firestore_to_mongo.target.change_journal import CHANGES, ChangeJournal

pytestmark = pytest.mark.integration


def at(second: int) -> datetime:
    return datetime(2026, 12, 5, 12, 0, second, tzinfo=UTC)


def user(path: str, second: int, **data) -> DocumentChanged:
    return DocumentChanged("users", path, data, at(second))


def gone(path: str) -> DocumentGone:
    return DocumentGone("users", path)


class Source:
    """What a read by path would find in Firestore now (for a conflict's next winner)."""

    def __init__(self) -> None:
        self.documents: dict[str, DocumentChanged] = {}
        self.reads: list[str] = []

    def reread(self, collection: str, paths: list[str]):
        self.reads += paths
        return [self.documents.get(path) or DocumentGone(collection, path) for path in paths]


CASES = {
    "an explicit delete of a known document": (
        [[user("users/a", 1, username="ada")], [gone("users/a")]],
        {},
        {"inserted": 1, "deleted": 1},
    ),
    "a delete of a path capture never saw changes nothing": (
        [[user("users/a", 1, username="ada")], [gone("users/zz")]],
        {"a": {"username": "ada"}},
        {"inserted": 1, "deleted": 0},
    ),
    "two changes of one path in a batch: the last is written, once": (
        [[user("users/a", 1, username="v1"), user("users/a", 2, username="v2")]],
        {"a": {"username": "v2"}},
        {"inserted": 1, "seen": 1},
    ),
    "a change then a delete in one batch: nothing is written": (
        [[user("users/a", 1, username="v1"), gone("users/a")]],
        {},
        {"inserted": 0, "deleted": 0},
    ),
    "a resent version capture already applied is not compared again": (
        [[user("users/a", 1, username="ada")], [user("users/a", 1, username="ada")]],
        {"a": {"username": "ada"}},
        {"inserted": 1, "seen": 1, "unchanged": 0},
    ),
    "a document that moves to another key leaves its old one": (
        [[user("users/a", 1, username="ada")], [user("users/a", 2, user_id="b", username="ada")]],
        {"b": {"user_id": "b", "username": "ada"}},
        {"inserted": 2, "deleted": 1},
    ),
    "a key's owner beats a document naming it in a field, whatever the order": (
        [[user("users/x", 1, user_id="a", username="impostor")], [user("users/a", 2, username="ada")]],
        {"a": {"username": "ada"}},
        {"failed": 1},
    ),
    "the winner deleted: the next claimant is read again and written": (
        [
            [user("users/a", 1, username="ada"), user("users/x", 1, user_id="a", username="next")],
            [gone("users/a")],
        ],
        {"a": {"user_id": "a", "username": "next"}},
        {"failed": 1},
    ),
    "a document outside the migrated paths is ignored": (
        [[DocumentChanged("conversations", "users/a/conversations/c", {"summary": "s"}, at(1))]],
        {},
        {},
    ),
}


@pytest.mark.parametrize(("batches", "expected", "counts"), list(CASES.values()), ids=list(CASES))
def test_the_applier(mongo_db, batches, expected, counts):
    source = Source()
    source.documents["users/x"] = user("users/x", 1, user_id="a", username="next")
    state = CaptureState(mongo_db)
    figures = CaptureFigures(list(COLLECTION_NAMES))
    with LocalVersions() as versions:
        applier = Applier(mongo_db, versions, state, ChangeJournal(mongo_db), figures, source.reread)
        applier.prepare()
        for batch in batches:
            applier.apply(batch)
        # The durable copy of the versions says what the local one says.
        assert {version.path: version for version in state.versions()} == {
            path: version for path, version in versions.get(sorted(source_paths(batches))).items()
        }
    stored = {
        document["user_id"]: {key: value for key, value in document.items() if key not in ("_id", "user_id")}
        for document in mongo_db.users.find()
    }
    assert stored == {
        key: {k: v for k, v in value.items() if k != "user_id"} for key, value in expected.items()
    }
    for name, count in counts.items():
        assert getattr(figures["users"], name) == count, name
    assert mongo_db.conversations.count_documents({}) == 0
    if "ignored" in str(batches):
        assert figures["conversations"].ignored == 1


def source_paths(batches) -> set[str]:
    return {event.path for batch in batches for event in batch}


def test_every_path_applied_is_journaled_with_its_version_and_outcome(mongo_db):
    with LocalVersions() as versions:
        applier = Applier(
            mongo_db,
            versions,
            CaptureState(mongo_db),
            ChangeJournal(mongo_db),
            CaptureFigures(list(COLLECTION_NAMES)),
            Source().reread,
        )
        applier.prepare()
        applier.apply([user("users/a", 1, username="ada"), user("users/b", 1, user_id=1.5)])
        applier.apply([user("users/a", 2, username="ada"), gone("users/a")])
    journal = [
        (entry["path"], entry["update_time"], entry["outcome"])
        for entry in mongo_db[CHANGES].find({}, {"_id": 0}).sort([("written_at", 1), ("path", 1)])
    ]
    assert sorted(journal, key=str) == sorted(
        [("users/a", at(1), "inserted"), ("users/b", at(1), "failed"), ("users/a", None, "deleted")], key=str
    )


def test_the_keys_the_contract_drops_are_counted_as_changes_are_applied(mongo_db):
    def twin(path: str, second: int, **data) -> DocumentChanged:
        return DocumentChanged("digital_twins", path, data, at(second))

    figures = CaptureFigures(list(COLLECTION_NAMES))
    with LocalVersions() as versions:
        applier = Applier(
            mongo_db, versions, CaptureState(mongo_db), ChangeJournal(mongo_db), figures, Source().reread
        )
        applier.prepare()
        applier.apply(
            [twin("digital_twins/t2", 1, name="b", voice_id="v2"), twin("digital_twins/t1", 1, name="a")]
        )
        applier.apply([twin("digital_twins/t1", 2, name="a", voice_id="v1", system_prompt_en="p")])
        # A resent version (a reset) is not seen again, and not counted again.
        applier.apply([twin("digital_twins/t1", 2, name="a", voice_id="v1", system_prompt_en="p")])

    assert figures["digital_twins"].dropped_keys.lines() == [
        "`voice_id` in 2 documents (e.g. digital_twins/t1)"
    ]
    assert mongo_db.digital_twins.find_one({"digital_twin_id": "t1"}, {"_id": 0}) == {
        "digital_twin_id": "t1",
        "name": "a",
        "system_prompt_en": "p",
    }
