"""The keys the contract drops, end to end: a run over source documents with keys outside the
contract (a twin's `voice_id`) reports each key in every collection's XCom, the summary's
blocks and the runs record, added up over partitions and pages, full and incremental."""

from __future__ import annotations

import pytest

from include.firestore_to_mongo.migrate.report import render_block
from include.firestore_to_mongo.target.run_history import RUNS
from include.firestore_to_mongo.util.table import SummaryLines
from tests.integration import edge_cases
from tests.integration.dag_runner import run_dag

pytestmark = pytest.mark.integration

MESSAGES = "digital_twins/t1/conversations/shared/messages"


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    edge_cases.seed(firestore_client)
    # The app adds a field to twins, and another to some messages.
    for twin in ("t1", "t2"):
        firestore_client.document(f"digital_twins/{twin}").update({"voice_id": f"voice-{twin}"})
    for message in ("m1", "m2"):
        firestore_client.document(f"{MESSAGES}/{message}").update({"reactions": ["👍"]})
    return firestore_client


def block(row: dict) -> list[str]:
    """The collection's block in the summary's log."""
    lines = SummaryLines()
    render_block(row, lines)
    return lines.lines


def names(figures: dict) -> list[tuple[str, int, str]]:
    return [(key["name"], key["documents"], key["example"]) for key in figures["dropped_keys"]["names"]]


EXPECTED = {
    "users": [("password_hash", 1, "users/u1")],
    "digital_twins": [("secret_key", 1, "digital_twins/t1"), ("voice_id", 2, "digital_twins/t1")],
    # A stale `digital_twin_id` is the contract's (the path wins): not reported.
    "conversations": [],
    "messages": [("reactions", 2, f"{MESSAGES}/m1")],
}


@pytest.mark.parametrize("partitions", [1, 4])
def test_a_run_reports_the_keys_the_contract_drops(seeded, mongo_db, partitions: int):
    result = run_dag({"mode": "full", "batch_size": 1, "max_failures": 1, "partitions": partitions})

    assert result.state == "success", result.task_states
    for collection, expected in EXPECTED.items():
        # The summary's XCom, and `<name>_done`'s, which added the partitions up.
        assert sorted(names(result.counts(collection))) == sorted(expected), collection
        assert sorted(names(result.xcoms[f"{collection}_done"])) == sorted(expected), collection
        assert result.counts(collection)["dropped_keys"]["more"] == 0
    blocks = {name: block(row) for name, row in result.summary["collections"].items()}
    # Most documents first; the example is the smallest path, whichever partition or page read it.
    assert [line for line in blocks["digital_twins"] if "dropped" in line or line.startswith("    `")] == [
        "  dropped by the contract: 2 names",
        "    `voice_id` in 2 documents, e.g. digital_twins/t1",
        "    `secret_key` in 1 document, e.g. digital_twins/t1",
    ]
    assert f"    `reactions` in 2 documents, e.g. {MESSAGES}/m1" in blocks["messages"]
    assert not any("dropped" in line for line in blocks["conversations"])
    # The runs record, which the sync page reads.
    (record,) = mongo_db[RUNS].find({"kind": "migration"})
    for collection, expected in EXPECTED.items():
        assert sorted(names(record["collections"][collection])) == sorted(expected), collection
    # Nothing dropped reached MongoDB.
    assert mongo_db.digital_twins.count_documents({"voice_id": {"$exists": True}}) == 0
    assert mongo_db.avatar_conversations.count_documents({"reactions": {"$exists": True}}) == 0


def test_every_run_reports_them_also_when_it_writes_nothing(seeded, mongo_db):
    """Run after run: an incremental run reads the twins again but writes none (skipped),
    and still says what the contract drops from them."""
    assert run_dag({"mode": "full", "max_failures": 1}).state == "success"

    again = run_dag({"max_failures": 1, "lookback_minutes": 0})

    twins = again.counts("digital_twins")
    assert (twins["mode"], twins["skipped"], twins["inserted"], twins["updated"]) == ("incremental", 2, 0, 0)
    assert sorted(names(twins)) == sorted(EXPECTED["digital_twins"])
    latest = mongo_db[RUNS].find_one({"kind": "migration"}, sort=[("ended_at", -1)])
    assert sorted(names(latest["collections"]["digital_twins"])) == sorted(EXPECTED["digital_twins"])
