"""A failure a retry can't fix fails once: a summary's verdict (differences remain, a
collection failed) and a partition over `max_failures` are final, so Airflow doesn't try
them again. The real DAGs on the emulator and the Mongo test server."""

from __future__ import annotations

import pytest

from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag

pytestmark = pytest.mark.integration


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    firestore_client.document("users/u1").set({"username": "ada"})
    firestore_client.document("users/u2").set({"username": "bob"})
    return firestore_client


def test_a_verify_that_finds_a_difference_reports_it_once(seeded, mongo_db):
    assert run_dag({"mode": "full", "collections": ["users"]}).state == "success"
    mongo_db.users.update_one({"user_id": "u1"}, {"$set": {"username": "eve"}})

    result = run_dag({"collections": ["users"]}, dag_id=VERIFY_DAG_ID)

    assert result.state == "failed"
    assert result.summary["collections"]["users"]["different"] == 1
    assert result.tries["summary"] == 1


def test_a_partition_over_max_failures_and_the_summary_are_tried_once(seeded, mongo_db):
    seeded.document("users/bad").set({"user_id": 1.5})  # can't be a key

    result = run_dag({"mode": "full", "collections": ["users"], "max_failures": 0})

    assert result.state == "failed"
    assert result.task_states["users"] == "failed"
    assert result.tries["users"] == 1
    assert result.tries["summary"] == 1
    # Everything else was still written.
    assert mongo_db.users.count_documents({}) == 2
