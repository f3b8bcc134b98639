"""Subcollections under parent documents that don't exist (never created, or deleted while
their subcollections stayed): every message is migrated exactly once, with 1 and 4
partitions, and a verify agrees. The real DAGs on the emulator and the Mongo test server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag

pytestmark = pytest.mark.integration


def message(client, twin: str, conversation: str, number: int) -> str:
    path = f"digital_twins/{twin}/conversations/{conversation}/messages/m{number}"
    client.document(path).set(
        {"role": "user", "content": f"{twin} {number}", "timestamp": datetime(2026, 12, 1, tzinfo=UTC)}
    )
    return path


def no_twin_documents(client) -> list[str]:
    return [message(client, twin, "c1", n) for twin in ("t1", "t2") for n in range(3)]


def one_twin_and_three_missing(client) -> list[str]:
    client.document("digital_twins/t2").set({"name": "the only twin there is"})
    return [message(client, twin, "c1", n) for twin in ("t1", "t2", "t3", "t4") for n in range(3)]


def a_deleted_twin_whose_subcollections_stay(client) -> list[str]:
    for twin in ("t1", "t2", "t3"):
        client.document(f"digital_twins/{twin}").set({"name": twin})
    paths = [message(client, twin, "c1", n) for twin in ("t1", "t2", "t3") for n in range(3)]
    client.document("digital_twins/t2").delete()  # its conversations and messages stay
    return paths


@pytest.mark.parametrize("partitions", [1, 4])
@pytest.mark.parametrize(
    "shape", [no_twin_documents, one_twin_and_three_missing, a_deleted_twin_whose_subcollections_stay]
)
def test_every_message_is_migrated_once(
    firestore_client, airflow_db, airflow_connections, mongo_db, shape, partitions
):
    paths = shape(firestore_client)
    result = run_dag({"mode": "full", "partitions": partitions, "collections": ["messages"]})
    assert result.state == "success", result.task_states
    assert result.counts("messages")["inserted"] == len(paths)
    stored = [
        (document["digital_twin_id"], document["conversation_id"], document["message_id"])
        for document in mongo_db.avatar_conversations.find()
    ]
    expected = [tuple(path.split("/")[i] for i in (1, 3, 5)) for path in paths]
    assert sorted(stored) == sorted(expected)
    verify = run_dag({"partitions": partitions, "collections": ["messages"]}, dag_id=VERIFY_DAG_ID)
    assert verify.summary["collections"]["messages"]["status"] == "verified", verify.summary
