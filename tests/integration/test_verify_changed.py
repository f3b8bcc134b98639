"""The verify DAG with `changed_since` compares only the documents change capture journaled since
then, by path, and reads no other document from Firestore. The real DAGs on the Firestore
emulator and a Mongo wire server (or TEST_MONGODB_URI); the change journal and capture's
per-path records are written here as capture writes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.cloud.firestore_v1.client import Client

from include.firestore_to_mongo.contract.mapping import encode_key, map_document, upsert_key
from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.target.capture_state import CaptureState, PathVersion
from include.firestore_to_mongo.target.change_journal import DELETED, UPDATED, ChangeJournal, JournalEntry
from include.firestore_to_mongo.target.run_history import RUNS
from include.firestore_to_mongo.target.writer import UpsertWriter
from include.firestore_to_mongo.verify.changed import iso, verify_changed
from include.firestore_to_mongo.verify.config import VerifyConfig
from include.firestore_to_mongo.verify.errors import JournalGapError
from include.firestore_to_mongo.verify.store import VERIFY_RECORDS
from tests.integration import edge_cases
from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag
from tests.integration.test_verify import MIGRATE, ZERO, findings

pytestmark = pytest.mark.integration

M1_T2 = "digital_twins/t2/conversations/shared/messages/m1"
M2_T1 = "digital_twins/t1/conversations/shared/messages/m2"
M2_T1_KEY = {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m2"}
M1_T2_KEY = {"digital_twin_id": "t2", "conversation_id": "shared", "message_id": "m1"}


def run_verify(conf: dict):
    return run_dag(conf, dag_id=VERIFY_DAG_ID)


@pytest.fixture
def migrated(firestore_client, airflow_db, airflow_connections, mongo_db):
    """The edge cases migrated in full; capture's journal complete from an hour ago."""
    edge_cases.seed(firestore_client)
    result = run_dag(MIGRATE)
    assert result.state == "success", result.task_states
    CaptureState(mongo_db).set_journal_since(datetime.now(UTC) - timedelta(hours=1))
    return firestore_client


@pytest.fixture
def point_reads(monkeypatch) -> list[str]:
    """The paths Firestore is asked for by path (`get_all`), in order."""
    read: list[str] = []
    original = Client.get_all

    def get_all(self, references, *args, **kwargs):
        references = list(references)
        read.extend(reference.path for reference in references)
        yield from original(self, references, *args, **kwargs)

    monkeypatch.setattr(Client, "get_all", get_all)
    return read


def since_now() -> datetime:
    """Now, to the millisecond (as the param is read)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def journaled(
    mongo_db, name: str, path: str, key: str | None, update_time=None, deleted=False, at=None
) -> None:
    """What capture records for a path it applied: a journal entry and its version."""
    outcome = DELETED if deleted else UPDATED
    ChangeJournal(mongo_db).record([JournalEntry(name, path, update_time, outcome, at or datetime.now(UTC))])
    CaptureState(mongo_db).set_versions([PathVersion(path, name, key, update_time, deleted)])


def change(client, mongo_db, name: str, path: str, fields: dict) -> None:
    """Change (or create) the document at `path`, and apply it as capture does."""
    spec = SPECS[name]
    reference = client.document(path)
    reference.set(fields, merge=True)
    snapshot = reference.get()
    document = map_document(spec, path, snapshot.to_dict())
    assert not UpsertWriter(mongo_db[spec.target], spec).write([document]).failures
    journaled(mongo_db, name, path, encode_key(document.key.values()), snapshot.update_time)


def delete(client, mongo_db, name: str, path: str) -> None:
    """Delete the document at `path` and journal it as capture does, but leave MongoDB as it
    is, as if the delete never reached it."""
    reference = client.document(path)
    key = upsert_key(SPECS[name], path, reference.get().to_dict() or {})
    reference.delete()
    journaled(mongo_db, name, path, encode_key(key.values()), deleted=True)


def test_only_the_journaled_documents_are_read_and_compared(migrated, mongo_db, point_reads, reads):
    # Journaled before `changed_since`: not looked at.
    journaled(mongo_db, "messages", M1_T2, None, at=datetime.now(UTC) - timedelta(minutes=5))
    since = since_now()
    change(migrated, mongo_db, "users", "users/u1", {"username": "ada lovelace"})
    change(migrated, mongo_db, "digital_twins", "digital_twins/t1", {"name": "Twin one, renamed"})
    change(migrated, mongo_db, "conversations", "digital_twins/t2/conversations/shared", {"summary": "2nd"})
    change(migrated, mongo_db, "messages", M2_T1, {"content": "edited"})
    # Outside the migrated paths: ignored, never read.
    journaled(mongo_db, "conversations", "users/u1/conversations/c1", None)
    # A new twin naming t2's key, which the unchanged digital_twins/t2 (listed by capture as
    # live) owns: a key conflict's loser, named, not compared (capture doesn't write it).
    migrated.document("digital_twins/t9").set({"digital_twin_id": "t2", "name": "copy"})
    t2 = migrated.document("digital_twins/t2").get()
    CaptureState(mongo_db).set_versions(
        [PathVersion("digital_twins/t2", "digital_twins", encode_key(["t2"]), t2.update_time, False)]
    )
    journaled(mongo_db, "digital_twins", "digital_twins/t9", encode_key(["t2"]))
    # A difference in a changed document, and one in an unchanged document.
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"username": "eve"}})
    mongo_db.avatar_conversations.update_one(M1_T2_KEY, {"$set": {"message": "tampered"}})
    point_reads.clear()
    reads.clear()

    result = run_verify({"changed_since": iso(since), "batch_size": 2})

    assert result.state == "failed"
    assert result.task_states["summary"] == "failed"
    users = result.counts("users")
    assert (users["compared"], users["different"], users["missing"], users["extra"]) == (1, 1, 0, 0)
    assert (users["status"], users["changed_since"]) == ("differences", iso(since))
    assert findings(mongo_db, "users") == [("different", {"user_id": "u1"}, "users/u1", ["username"])]
    for name in ("digital_twins", "conversations", "messages"):
        figures = result.counts(name)
        assert figures["status"] == f"verified since {iso(since)}", name
        assert (figures["compared"], figures["equal"]) == (1, 1), name
        assert {key: figures[key] for key in ZERO} == ZERO, name
    twins = result.counts("digital_twins")
    assert twins["conflicts"] == 1
    conflict = mongo_db[VERIFY_RECORDS].find_one({"kind": "conflict"})
    assert (conflict["path"], conflict["key"]) == ("digital_twins/t9", {"digital_twin_id": "t2"})
    assert "digital_twins/t2" in conflict["reason"]
    # The unchanged message's difference is not looked for.
    assert mongo_db[VERIFY_RECORDS].count_documents({"collection": "messages"}) == 0
    assert result.counts("conversations")["out_of_scope"] == 1
    # Both sides counted, as depth counts does.
    counts = {
        name: (row["source_count"], row["target_count"])
        for name, row in result.summary["collections"].items()
    }
    assert counts == {"users": (4, 3), "digital_twins": (3, 2), "conversations": (3, 3), "messages": (4, 4)}
    # Read from Firestore: the changed documents by path (users/u1 twice: its re-check), and
    # not one document by a query.
    changed = [
        "users/u1",
        "digital_twins/t1",
        "digital_twins/t9",
        "digital_twins/t2/conversations/shared",
        M2_T1,
    ]
    assert sorted(point_reads) == sorted([*changed, "users/u1"])
    assert not reads
    # One partition per collection, and the sync page's record says since when.
    assert [work["partition"]["method"] for work in result.xcoms["users_plan"]] == ["changed"]
    (run,) = mongo_db[RUNS].find({"kind": "verify"})
    assert run["collections"]["messages"]["status"] == f"verified since {iso(since)}"
    assert run["collections"]["users"]["status"] == "differences"


def test_a_deleted_source_whose_key_mongo_holds_is_extra_and_pruned(migrated, mongo_db, point_reads):
    since = since_now()
    # users/u3 is gone from Firestore; MongoDB still holds u3.
    delete(migrated, mongo_db, "users", "users/u3")
    # users/u2 (key custom-2) is gone, and users/custom-2 took its key: the key lives on.
    delete(migrated, mongo_db, "users", "users/u2")
    change(migrated, mongo_db, "users", "users/custom-2", {"email": "new@example.com"})
    # A path that once claimed t2 is gone; the twin capture lists as live claims it still.
    twin = migrated.document("digital_twins/t2").get()
    CaptureState(mongo_db).set_versions(
        [PathVersion("digital_twins/t2", "digital_twins", encode_key(["t2"]), twin.update_time, False)]
    )
    journaled(mongo_db, "digital_twins", "digital_twins/t2-copy", encode_key(["t2"]), deleted=True)
    # A changed message, different in MongoDB.
    change(migrated, mongo_db, "messages", M2_T1, {"content": "edited"})
    mongo_db.avatar_conversations.update_one(M2_T1_KEY, {"$set": {"message": "tampered"}})
    point_reads.clear()

    repaired = run_verify({"changed_since": iso(since), "repair": True, "prune": True})

    assert repaired.state == "success", repaired.task_states
    users = repaired.counts("users")
    assert (users["compared"], users["extra"], users["pruned"], users["remaining"]) == (1, 1, 1, 0)
    assert users["status"] == f"verified since {iso(since)}"
    assert mongo_db.users.find_one({"user_id": "u3"}) is None
    assert mongo_db.users.find_one({"user_id": "custom-2"})["email"] == "new@example.com"
    ((kind, key, path, _),) = findings(mongo_db, "users")
    assert (kind, key, path) == ("extra", {"user_id": "u3"}, None)
    assert mongo_db[VERIFY_RECORDS].find_one({"kind": "extra"})["repaired"] is True
    twins = repaired.counts("digital_twins")
    assert (twins["extra"], twins["pruned"], twins["status"]) == (0, 0, f"verified since {iso(since)}")
    assert mongo_db.digital_twins.find_one({"digital_twin_id": "t2"}) is not None
    messages = repaired.counts("messages")
    assert (messages["different"], messages["repaired"], messages["remaining"]) == (1, 1, 0)
    assert mongo_db.avatar_conversations.find_one(M2_T1_KEY)["message"] == "edited"
    # Only journaled paths were read (users/u3 again when its key was re-checked, the
    # message again when it was re-checked).
    journaled_paths = {"users/u3", "users/u2", "users/custom-2", "digital_twins/t2-copy", M2_T1}
    assert set(point_reads) == journaled_paths

    again = run_verify({"changed_since": iso(since)})

    assert again.state == "success", again.task_states
    for name, figures in again.summary["collections"].items():
        assert figures["status"] == f"verified since {iso(since)}", name
        assert {key: figures[key] for key in ZERO} == ZERO, name


@pytest.mark.parametrize(
    ("journal_starts", "reason"),
    [
        pytest.param(None, "change capture has never run against this database", id="capture-never-ran"),
        pytest.param(
            timedelta(hours=2), "is before {start}, the start of the change journal", id="too-early"
        ),
    ],
)
def test_a_time_the_journal_cant_vouch_for_fails_the_plan(
    firestore_client, airflow_db, airflow_connections, mongo_db, capfd, journal_starts, reason
):
    edge_cases.seed(firestore_client)
    since = since_now() - timedelta(days=1)
    start = None
    if journal_starts is not None:
        start = since + journal_starts
        CaptureState(mongo_db).set_journal_since(start)

    result = run_verify({"changed_since": iso(since)})

    assert result.state == "failed"
    assert {state for task, state in result.task_states.items() if task.endswith("_plan")} == {"failed"}
    # At once, without retries, before any work.
    assert {tries for task, tries in result.tries.items() if task.endswith("_plan")} == {1}
    captured = capfd.readouterr()
    expected = f"changed_since {iso(since)}" + (
        "" if start is None else " " + reason.format(start=iso(start))
    )
    assert expected in captured.out + captured.err
    if start is None:
        assert reason in captured.out + captured.err
    assert VERIFY_RECORDS not in mongo_db.list_collection_names()


def test_the_cutover_verifies_in_process(migrated, mongo_db):
    """verify_changed, as the cut-over calls it: one collection, no DAG around it."""
    since = since_now()
    change(migrated, mongo_db, "users", "users/u1", {"username": "ada lovelace"})
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"username": "eve"}})
    config = VerifyConfig.from_params({"repair": True, "collections": ["users"]})

    row = verify_changed(config, "users", since, "firestore_to_mongo_cutover/manual__1")

    assert row["status"] == f"verified since {iso(since)}"
    assert (row["compared"], row["different"], row["repaired"], row["remaining"]) == (1, 1, 1, 0)
    assert (row["collection"], row["changed_since"], row["source_count"], row["target_count"]) == (
        "users",
        iso(since),
        4,
        3,
    )
    (record,) = mongo_db[VERIFY_RECORDS].find({"collection": "users"})
    assert (record["run_id"], record["kind"], record["repaired"]) == ("manual__1", "different", True)
    assert mongo_db.users.find_one({"user_id": "u1"})["username"] == "ada lovelace"
    with pytest.raises(JournalGapError, match="the start of the change journal"):
        verify_changed(config, "users", since - timedelta(days=1), "firestore_to_mongo_cutover/manual__1")
