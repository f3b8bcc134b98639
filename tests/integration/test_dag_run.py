"""The DAG end to end, on the Firestore emulator and a Mongo wire server (or TEST_MONGODB_URI)."""

from __future__ import annotations

import pytest
from google.cloud import firestore

from include.firestore_to_mongo.migrate.report import render_summary
from tests.integration import edge_cases
from tests.integration.dag_runner import run_dag
from tests.integration.edge_cases import TARGETS, contents, data_collections, expected

pytestmark = pytest.mark.integration

# Full runs in small pages, so every collection is read over several of them.
PAGED = {"mode": "full", "batch_size": 2, "max_failures": 1}


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    edge_cases.seed(firestore_client)
    return firestore_client


def test_full_run_writes_each_document_as_the_contract_says(seeded, mongo_db):
    result = run_dag(PAGED)

    assert result.state == "success", result.task_states
    for target in TARGETS:
        assert contents(mongo_db, target) == expected(target), target
    # Same conversation id under two twins, same message id under two conversations:
    # separate documents, and nothing from users/{uid}/conversations.
    assert mongo_db.conversations.count_documents({"conversation_id": "shared"}) == 2
    assert mongo_db.avatar_conversations.count_documents({"message_id": "m1"}) == 2
    assert mongo_db.conversations.count_documents({"summary": "not migrated"}) == 0
    assert mongo_db.avatar_conversations.count_documents({"message": "not migrated"}) == 0


def test_summary_counts_match_what_was_done(seeded, mongo_db):
    result = run_dag(PAGED)

    for collection, (read, failed, warnings) in edge_cases.READ_FAILED_WARNINGS.items():
        counts = result.counts(collection)
        assert counts["read"] == read, collection
        assert counts["failed"] == failed, collection
        assert counts["warnings"] == warnings, collection
        assert counts["inserted"] == read - failed, collection
        assert (counts["updated"], counts["unchanged"], counts["dry_run"]) == (0, 0, False)
        assert counts["status"] == "ok"
    assert result.counts("conversations")["out_of_scope"] == 1
    assert result.counts("messages")["out_of_scope"] == 1
    assert result.counts("users")["failed_examples"][0].startswith(edge_cases.BAD_DOCUMENT + ": user_id")
    # Each failure and warning under its reason, with an example path, through the partitions'
    # XComs and `_done` to the summary's.
    users = result.counts("users")
    assert [(r["count"], r["example"]) for r in users["failure_reasons"]["reasons"]] == [
        (1, edge_cases.BAD_DOCUMENT)
    ]
    assert users["failure_reasons"]["reasons"][0]["reason"].startswith("user_id must be")
    assert sum(r["count"] for r in users["warning_reasons"]["reasons"]) == 1
    for collection in edge_cases.READ_FAILED_WARNINGS:
        counts = result.counts(collection)
        # The rate is over the collection's wall clock, first partition's start to last one's end.
        assert counts["started_at"] <= counts["ended_at"], collection
        assert counts["wall_seconds"] > 0, collection
        assert counts["docs_per_second"] == round(counts["read"] / counts["wall_seconds"], 1), collection
        assert counts["docs_per_second_per_partition"] == round(counts["read"] / counts["seconds"], 1)
    text = render_summary("Firestore → MongoDB", list(result.summary["collections"].values()))
    assert max(len(line) for line in text.splitlines()) <= 120
    assert "  failed 1, top reasons:" in text.splitlines()


def test_dry_run_writes_nothing_and_counts_what_it_would_do(seeded, mongo_db):
    result = run_dag(PAGED | {"dry_run": True})

    assert result.state == "success", result.task_states
    assert mongo_db.list_collection_names() == []
    users = result.counts("users")
    assert (users["read"], users["inserted"], users["updated"], users["dry_run"]) == (4, 3, 0, True)
    assert result.counts("messages")["inserted"] == 4

    run_dag(PAGED)
    mongo_db.users.delete_one({"user_id": "u3"})
    seeded.document("users/u1").update({"email": firestore.DELETE_FIELD})
    before = contents(mongo_db, "users")
    again = run_dag(PAGED | {"dry_run": True})
    # Exactly what a real run would do: u3 inserted, u1 loses its email, custom-2 unchanged.
    users = again.counts("users")
    assert (users["inserted"], users["updated"], users["unchanged"]) == (1, 1, 1)
    messages = again.counts("messages")
    assert (messages["inserted"], messages["updated"], messages["unchanged"]) == (0, 0, 4)
    assert contents(mongo_db, "users") == before

    real = run_dag(PAGED)
    assert {name: real.counts("users")[name] for name in ("inserted", "updated", "unchanged")} == {
        name: users[name] for name in ("inserted", "updated", "unchanged")
    }


def test_rerun_makes_no_duplicates_and_keeps_keys_added_in_mongo(seeded, mongo_db):
    run_dag(PAGED)
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"crm_id": 42}})
    seeded.document("users/u1").update({"username": "ada2"})

    result = run_dag(PAGED)

    assert result.state == "success", result.task_states
    users = contents(mongo_db, "users")
    assert users[("u1",)]["crm_id"] == 42
    assert users[("u1",)]["username"] == "ada2"
    assert len(users) == 3
    assert (result.counts("users")["inserted"], result.counts("users")["updated"]) == (0, 1)
    assert result.counts("users")["unchanged"] == 2
    for target in ("digital_twins", "conversations", "avatar_conversations"):
        assert contents(mongo_db, target) == expected(target), target
    # Nothing changed there, and the comparison before each write knows it.
    for name, count in (("digital_twins", 2), ("conversations", 3), ("messages", 4)):
        figures = result.counts(name)
        assert (figures["inserted"], figures["updated"], figures["unchanged"]) == (0, 0, count), name


def test_a_failing_document_fails_its_task_and_the_run_but_not_the_others(seeded, mongo_db):
    result = run_dag({"mode": "full", "max_failures": 0})

    assert result.task_states["users"] == "failed"
    for task_id in ("digital_twins", "conversations", "messages"):
        assert result.task_states[task_id] == "success"
    assert result.task_states["summary"] == "failed"
    assert result.state == "failed"
    # The failed task's figures still reach the summary, and the rest were written.
    assert result.counts("users")["status"] == "failed"
    assert result.counts("users")["failed"] == 1
    assert contents(mongo_db, "users") == expected("users")
    assert contents(mongo_db, "avatar_conversations") == expected("avatar_conversations")


def test_collections_param_limits_the_run(seeded, mongo_db):
    result = run_dag({"mode": "full", "collections": ["digital_twins"]})

    assert result.state == "success", result.task_states
    assert data_collections(mongo_db) == ["digital_twins"]
    assert result.task_states["users"] == "skipped"
    assert result.counts("users")["status"] == "skipped"
    assert result.counts("digital_twins")["inserted"] == 2


def test_mongo_db_param_overrides_the_connection_schema(seeded, mongo_db, mongo_client):
    other = mongo_db.name + "_param"
    try:
        result = run_dag({"mode": "full", "collections": ["users"], "mongo_db": other, "max_failures": 1})
        assert result.state == "success", result.task_states
        assert mongo_client[other].users.count_documents({}) == 3
        assert mongo_db.list_collection_names() == []
    finally:
        mongo_client.drop_database(other)
