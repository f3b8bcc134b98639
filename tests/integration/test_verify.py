"""The verify DAG finds exactly what differs between Firestore and MongoDB, and repairs it.
The real DAGs on the Firestore emulator and a Mongo wire server (or TEST_MONGODB_URI)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.cloud import firestore

from include.firestore_to_mongo.target.run_history import RUNS
from include.firestore_to_mongo.verify import verifier
from include.firestore_to_mongo.verify.report import render_verify_summary
from include.firestore_to_mongo.verify.store import VERIFY_RECORDS
from tests.integration import edge_cases
from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag
from tests.integration.test_convergence import CONFLICTS, assert_converged, assert_winners

pytestmark = pytest.mark.integration

MIGRATE = {"mode": "full", "max_failures": 1, "batch_size": 2}
ZERO = {"missing": 0, "extra": 0, "different": 0, "changed_during_verify": 0, "repaired": 0, "pruned": 0}


def run_verify(conf: dict | None = None):
    return run_dag(conf or {}, dag_id=VERIFY_DAG_ID)


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    edge_cases.seed(firestore_client)
    return firestore_client


@pytest.fixture
def migrated(seeded, mongo_db):
    result = run_dag(MIGRATE)
    assert result.state == "success", result.task_states
    return seeded


def tamper(client: firestore.Client, mongo_db) -> None:
    """The issue's list: six changes in MongoDB (one of them harmless), three in Firestore."""
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"username": "eve"}})
    mongo_db.conversations.update_one(
        {"digital_twin_id": "t1", "conversation_id": "shared"}, {"$set": {"message_count": 2.0}}
    )
    m1 = {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m1"}
    stored = mongo_db.avatar_conversations.find_one(m1)
    mongo_db.avatar_conversations.update_one(
        m1, {"$set": {"timestamp": stored["timestamp"] + timedelta(milliseconds=1)}}
    )
    mongo_db.digital_twins.delete_one({"digital_twin_id": "t2"})
    mongo_db.avatar_conversations.insert_one(
        {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m-extra", "message": "?"}
    )
    mongo_db.users.update_one({"user_id": "custom-2"}, {"$set": {"note": "added by another app"}})

    client.document("digital_twins/t2/conversations/shared/messages/m1").update({"content": "edited"})
    client.document("users/u3").delete()
    client.document("digital_twins/t1").update({"system_prompt_x": "new prompt"})


M1_T1 = {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m1"}
M1_T2 = {"digital_twin_id": "t2", "conversation_id": "shared", "message_id": "m1"}
EXTRA_MESSAGE = {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m-extra"}
EXPECTED = {
    "users": [
        ("different", {"user_id": "u1"}, "users/u1", ["username"]),
        ("extra", {"user_id": "u3"}, None, []),
    ],
    "digital_twins": [
        ("missing", {"digital_twin_id": "t2"}, "digital_twins/t2", []),
        ("different", {"digital_twin_id": "t1"}, "digital_twins/t1", ["system_prompt_x"]),
    ],
    "conversations": [
        (
            "different",
            {"digital_twin_id": "t1", "conversation_id": "shared"},
            "digital_twins/t1/conversations/shared",
            ["message_count"],
        ),
    ],
    "messages": [
        ("different", M1_T1, "digital_twins/t1/conversations/shared/messages/m1", ["timestamp"]),
        ("different", M1_T2, "digital_twins/t2/conversations/shared/messages/m1", ["message"]),
        ("extra", EXTRA_MESSAGE, None, []),
    ],
}
TARGETS = {
    "users": "users",
    "digital_twins": "digital_twins",
    "conversations": "conversations",
    "messages": "avatar_conversations",
}


def findings(mongo_db, collection: str, kinds=("missing", "extra", "different")) -> list[tuple]:
    """(kind, key, path, differing fields) of the stored records, sorted."""
    records = mongo_db[VERIFY_RECORDS].find({"collection": collection, "kind": {"$in": list(kinds)}})
    return sorted(
        (
            (record["kind"], record["key"], record["path"], [item["field"] for item in record["fields"]])
            for record in records
        ),
        key=repr,
    )


def test_full_finds_exactly_the_tampered_documents_and_fails(migrated, mongo_db):
    tamper(migrated, mongo_db)

    result = run_verify({"batch_size": 2})

    assert result.state == "failed"
    assert result.task_states["summary"] == "failed"
    for name, expected in EXPECTED.items():
        figures = result.counts(name)
        kinds = [kind for kind, *_ in expected]
        assert (figures["missing"], figures["extra"], figures["different"]) == (
            kinds.count("missing"),
            kinds.count("extra"),
            kinds.count("different"),
        ), name
        assert figures["changed_during_verify"] == 0, name
        assert figures["status"] == "differences", name
        assert findings(mongo_db, name) == sorted(expected, key=repr), name
        # The summary's reasons: each difference by its kind and differing fields, merged
        # over the partitions, with the smallest path (or an extra key) for example.
        reasons = {
            entry["reason"]: (entry["count"], entry["example"])
            for entry in figures["difference_reasons"]["reasons"]
        }
        assert sum(count for count, _ in reasons.values()) == len(expected), name
        for kind, _key, _path, fields in expected:
            reason = {
                "missing": "missing from MongoDB",
                "extra": "extra in MongoDB: no source document has its key",
            }.get(kind, f"different: {', '.join(sorted(fields))}")
            assert reason in reasons, (name, reason)
        assert figures["wall_seconds"] > 0, name
    text = render_verify_summary("t", list(result.summary["collections"].values()))
    assert max(len(line) for line in text.splitlines()) <= 120
    assert "  differences 3, top reasons:" in text.splitlines()
    users = result.counts("users")
    assert [entry["example"] for entry in users["unmappable_reasons"]["reasons"]] == ["users/bad"]
    # users/u1, users/u2 and users/bad are read; users/bad can't be mapped, so isn't compared.
    assert (users["source_count"], users["target_count"], users["compared"], users["equal"]) == (3, 3, 2, 1)
    assert users["unmappable"] == 1
    # Each differing field names both values, shortened, with their types visible.
    record = mongo_db[VERIFY_RECORDS].find_one({"collection": "conversations", "kind": "different"})
    assert record["fields"] == [{"field": "message_count", "firestore": "2", "mongodb": "2.0"}]
    record = mongo_db[VERIFY_RECORDS].find_one(
        {
            "collection": "messages",
            "key.conversation_id": "shared",
            "key.digital_twin_id": "t1",
            "kind": "different",
        }
    )
    (field,) = record["fields"]
    assert field["firestore"].endswith("123000, tzinfo=datetime.timezone.utc)")
    assert field["mongodb"].endswith("124000, tzinfo=datetime.timezone.utc)")
    assert record["run_id"]


def test_keys_finds_only_missing_and_extra_documents(migrated, mongo_db):
    tamper(migrated, mongo_db)

    result = run_verify({"depth": "keys"})

    assert result.state == "failed"
    for name, expected in EXPECTED.items():
        wanted = sorted((item for item in expected if item[0] != "different"), key=repr)
        assert findings(mongo_db, name) == wanted, name
        assert result.counts(name)["different"] == 0, name


def test_counts_reports_the_count_deltas(migrated, mongo_db):
    tamper(migrated, mongo_db)

    result = run_verify({"depth": "counts"})

    assert result.state == "failed"
    counts = {
        name: (figures["source_count"], figures["target_count"], figures["status"])
        for name, figures in result.summary["collections"].items()
    }
    assert counts == {
        # users/u1, u2, bad vs u1, custom-2, u3: equal counts, though not equal sets (keys says so).
        "users": (3, 3, "counts only"),
        "digital_twins": (2, 1, "differences"),
        # users/u1/conversations/c1 is outside the migrated paths and not counted.
        "conversations": (3, 3, "counts only"),
        "messages": (4, 5, "differences"),
    }
    assert mongo_db[VERIFY_RECORDS].count_documents({}) == 0


def test_repair_and_prune_converge_and_the_next_verify_is_clean(migrated, mongo_db):
    tamper(migrated, mongo_db)

    repaired = run_verify({"repair": True, "prune": True, "batch_size": 2, "partitions": 2})

    # Every difference was repaired, and checked again.
    assert repaired.state == "success", repaired.task_states
    for name, expected in EXPECTED.items():
        figures = repaired.counts(name)
        kinds = [kind for kind, *_ in expected]
        fixed = kinds.count("missing") + kinds.count("different")
        assert (figures["repaired"], figures["pruned"]) == (fixed, kinds.count("extra")), name
        assert figures["remaining"] == 0, name
        assert figures["status"] == "verified", name
    assert_converged(migrated, mongo_db)
    assert mongo_db.users.find_one({"user_id": "custom-2"})["note"] == "added by another app"

    again = run_verify()
    assert again.state == "success", again.task_states
    # Each summary recorded its run for the sync page.
    runs = sorted(mongo_db[RUNS].find(), key=lambda run: run["ended_at"])
    assert [(run["kind"], run["status"]) for run in runs] == [
        ("migration", "success"),
        ("verify", "success"),
        ("verify", "success"),
    ]
    assert runs[-1]["collections"]["messages"]["equal"] == again.counts("messages")["equal"]
    for name in EXPECTED:
        figures = again.counts(name)
        assert {key: figures[key] for key in ZERO} == ZERO, name
        assert figures["status"] == "verified", name
        assert figures["equal"] == figures["compared"] > 0, name


def test_a_sample_compares_only_the_requested_number(
    firestore_client, airflow_db, airflow_connections, mongo_db
):
    for number in range(40):
        firestore_client.collection("digital_twins").document().set({"name": f"twin {number}"})
    assert run_dag({"mode": "full", "collections": ["digital_twins"]}).state == "success"

    result = run_verify({"collections": ["digital_twins"], "sample_size": 7, "batch_size": 3})

    assert result.state == "success", result.task_states
    twins = result.counts("digital_twins")
    assert (twins["read"], twins["compared"], twins["equal"]) == (7, 7, 7)
    assert (twins["source_count"], twins["target_count"]) == (40, 40)
    assert twins["status"] == "sampled"
    assert twins["extra"] == 0


def test_a_document_edited_during_the_verify_is_not_a_difference(migrated, mongo_db, monkeypatch):
    """Hooked into the reader: while the verify reads messages, a message not yet read and
    one already read are edited in Firestore."""
    original = verifier.PartitionVerifier.check_page
    edited = []

    def edit_mid_run(self, page):
        original(self, page)
        if self.spec.name == "messages" and not edited:
            read = page.documents[0].path
            later = "digital_twins/t2/conversations/shared/messages/m1"
            assert read < later  # the page order: names
            for path in (read, later):
                migrated.document(path).update({"content": "edited during the verify"})
            edited.extend([read, later])

    monkeypatch.setattr(verifier.PartitionVerifier, "check_page", edit_mid_run)

    result = run_verify({"batch_size": 1, "partitions": 1, "collections": ["messages"]})

    messages = result.counts("messages")
    assert edited
    # The one read before it changed compared equal; the other was re-checked and is still
    # moving (its update_time is after the verify started).
    assert (messages["different"], messages["missing"], messages["changed_during_verify"]) == (0, 0, 1)
    assert messages["status"] == "changing"
    assert result.state == "success", result.task_states
    (record,) = mongo_db[VERIFY_RECORDS].find({"collection": "messages"})
    assert (record["kind"], record["path"]) == ("changed_during_verify", edited[1])


def test_key_conflicts_are_named_not_reported_as_differences(
    firestore_client, airflow_db, airflow_connections, mongo_db
):
    edge_cases.seed(firestore_client)
    for path, data in CONFLICTS.items():
        firestore_client.document(path).set(data)
    assert run_dag({"mode": "full", "max_failures": 5}).state == "success"

    result = run_verify({"batch_size": 1, "partitions": 4})

    assert result.state == "success", result.task_states
    for name in ("users", "messages"):
        figures = result.counts(name)
        assert (figures["conflicts"], figures["different"], figures["status"]) == (1, 0, "verified"), name
    losers = sorted(record["path"] for record in mongo_db[VERIFY_RECORDS].find({"kind": "conflict"}))
    assert losers == ["digital_twins/t1/conversations/shared/messages/m0", "users/b"]
    # One reason, "key conflict", whose example names the loser, the key and the winner.
    (reason,) = result.counts("users")["conflict_reasons"]["reasons"]
    assert (reason["reason"], reason["count"]) == ("key conflict", 1)
    assert reason["example"].startswith("users/b (key ")
    assert not result.counts("users")["difference_reasons"]["reasons"]
    assert_winners(mongo_db)


@pytest.mark.parametrize(
    "conf",
    [
        {"depth": "deep"},
        {"sample_size": 0},
        {"sample_size": 1_000_001},
        {"max_reported": -1},
        {"repair": "yes"},
        {"collections": ["nope"]},
        {"partitions": 0},
    ],
)
def test_bad_params_are_rejected_by_the_trigger(seeded, mongo_db, conf):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        run_verify(conf)

    assert mongo_db.list_collection_names() == []


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"sample_size": 5, "depth": "keys"}, "sample_size: a sample compares content"),
        ({"prune": True}, "prune: deleting extra documents is part of a repair"),
        ({"repair": True, "depth": "counts"}, "repair: counts don't say which documents to repair"),
        ({"repair": True, "prune": True, "sample_size": 3}, "prune: a sampled verify doesn't look for extra"),
    ],
)
def test_bad_param_combinations_fail_before_any_work(seeded, mongo_db, conf, message, capfd):
    result = run_verify(conf)

    assert result.state == "failed"
    assert {state for task, state in result.task_states.items() if task.endswith("_plan")} == {"failed"}
    captured = capfd.readouterr()
    assert message in captured.out + captured.err
    # Failed at once, without retries, touching nothing.
    assert {tries for task, tries in result.tries.items() if task.endswith("_plan")} == {1}
    assert mongo_db.list_collection_names() == []


def test_a_retried_partition_counts_and_records_each_difference_once(migrated, mongo_db, monkeypatch):
    tamper(migrated, mongo_db)
    original = verifier.PartitionVerifier.recheck
    attempts = []

    def dies_once_after_recording(self, client, batch_size, timeout):
        original(self, client, batch_size, timeout)
        attempts.append(self.spec.name)
        if self.spec.name == "messages" and attempts.count("messages") == 1:
            raise RuntimeError("worker killed after storing its records")

    monkeypatch.setattr(verifier.PartitionVerifier, "recheck", dies_once_after_recording)

    result = run_verify({"collections": ["messages"], "partitions": 1})

    assert attempts.count("messages") == 2
    assert result.tries["messages"] == 2
    messages = result.counts("messages")
    assert (messages["missing"], messages["extra"], messages["different"]) == (0, 1, 2)
    assert findings(mongo_db, "messages") == sorted(EXPECTED["messages"], key=repr)


def test_counts_leave_out_other_paths_and_count_numeric_ids(
    firestore_client, airflow_db, airflow_connections, mongo_db
):
    """Firestore sorts `__id<n>__` ids before string ids: the count's name range starts below them."""
    for path in (
        "digital_twins/__id7__/conversations/c/messages/m",
        "digital_twins/t/conversations/__id-3__/messages/m",
        "digital_twins/t/conversations/c/messages/m",
        "users/u/conversations/c/messages/m",  # not migrated
        "digital_twins_archive/t/conversations/c/messages/m",  # not migrated
    ):
        firestore_client.document(path).set({"content": "x"})

    result = run_verify({"depth": "counts", "collections": ["messages"]})

    assert result.counts("messages")["source_count"] == 3
    assert result.counts("messages")["target_count"] == 0
    assert result.state == "failed"
