"""Partitioned reads: the same MongoDB contents as one partition, in full and incremental
runs, with dry runs, re-runs and resumed partitions, on the emulator's fallback split."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from include.firestore_to_mongo.target import writer
from tests.integration import edge_cases
from tests.integration.dag_runner import run_dag
from tests.integration.edge_cases import TARGETS, contents, data_collections

pytestmark = pytest.mark.integration

EXTRA_TWINS = ("t3", "t4", "t5", "t6")


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    """The edge cases plus four more twins with messages, so a twin split has parts to make."""
    edge_cases.seed(firestore_client)
    batch = firestore_client.batch()
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    for number, twin in enumerate(EXTRA_TWINS):
        batch.set(firestore_client.document(f"digital_twins/{twin}"), {"name": twin})
        for conversation in ("c1", "c2"):
            path = f"digital_twins/{twin}/conversations/{conversation}"
            batch.set(firestore_client.document(path), {"summary": conversation, "updated_at": moment})
            for message in range(3):
                batch.set(
                    firestore_client.document(f"{path}/messages/m{message}"),
                    {
                        "role": "user",
                        "content": f"{twin} {message}",
                        "timestamp": moment + timedelta(hours=number),
                    },
                )
    batch.commit()
    return firestore_client


def snapshot(database) -> dict:
    return {target: contents(database, target) for target in TARGETS}


def test_partitioned_full_run_writes_exactly_what_one_partition_writes(seeded, mongo_db, mongo_client):
    single_db = mongo_client[mongo_db.name + "_single"]
    try:
        single = run_dag({"mode": "full", "max_failures": 1, "partitions": 1, "mongo_db": single_db.name})
        split = run_dag({"mode": "full", "max_failures": 1, "partitions": 4})

        assert (single.state, split.state) == ("success", "success")
        plan = split.xcoms["messages_plan"]
        assert len(plan) >= 3
        assert {work["partition"]["method"] for work in plan} == {"twin ranges"}
        assert split.counts("messages")["partitions"] == len(plan)
        assert snapshot(mongo_db) == snapshot(single_db)
        assert mongo_db.avatar_conversations.count_documents({}) == 4 + 6 * len(EXTRA_TWINS)
        for name in ("conversations", "messages"):
            assert split.counts(name)["read"] == single.counts(name)["read"], name
            assert split.counts(name)["inserted"] == single.counts(name)["inserted"], name
    finally:
        mongo_client.drop_database(single_db.name)


def test_partitioned_dry_run_rerun_and_incremental_run(seeded, mongo_db):
    conf = {"max_failures": 1, "partitions": 4}
    dry = run_dag(conf | {"mode": "full", "dry_run": True})
    assert dry.state == "success", dry.task_states
    assert data_collections(mongo_db) == []
    assert dry.counts("messages")["inserted"] == 4 + 6 * len(EXTRA_TWINS)

    run_dag(conf | {"mode": "full"})
    first = snapshot(mongo_db)
    again = run_dag(conf | {"mode": "full"})
    assert snapshot(mongo_db) == first
    assert again.counts("messages")["inserted"] == 0

    seeded.document("digital_twins/t5/conversations/c2/messages/late").set(
        {"role": "user", "content": "late", "timestamp": datetime.now(UTC)}
    )
    incremental = run_dag(conf | {"lookback_minutes": 0})
    assert incremental.state == "success", incremental.task_states
    plan = incremental.xcoms["messages_plan"]
    assert {work["partition"]["method"] for work in plan} == {"time windows"}
    assert len(plan) == 4
    assert incremental.counts("messages")["read"] == 1
    assert mongo_db.avatar_conversations.count_documents({"message_id": "late"}) == 1


def kill_a_partition_after_its_checkpoint(monkeypatch) -> Counter:
    """Make one partition's second batch write die once: it has a checkpoint by then."""
    original_write = writer.UpsertWriter.write
    writes = Counter()

    def a_partitions_second_write_dies_once(self, documents):
        # Each partition task has its own writer: count per writer, so the failure
        # hits a partition that already has a checkpoint, whatever order they run in.
        # The count lives on the writer itself: CPython reuses a freed writer's id(),
        # so a count keyed by id() could carry over from one partition to the next.
        self._test_writes = getattr(self, "_test_writes", 0) + 1
        if self._test_writes == 2 and not writes["killed"]:
            writes["killed"] += 1
            raise RuntimeError("worker killed")
        return original_write(self, documents)

    monkeypatch.setattr(writer.UpsertWriter, "write", a_partitions_second_write_dies_once)
    return writes


def test_a_partition_that_dies_resumes_on_its_own(seeded, mongo_db, monkeypatch):
    writes = kill_a_partition_after_its_checkpoint(monkeypatch)

    result = run_dag({"mode": "full", "collections": ["messages"], "partitions": 4, "batch_size": 2})

    assert result.state == "success", result.task_states
    assert writes["killed"] == 1
    messages = result.counts("messages")
    assert messages["resumed"] is True
    assert messages["cpu_seconds"] > 0
    assert messages["read"] == 4 + 6 * len(EXTRA_TWINS)
    assert mongo_db.avatar_conversations.count_documents({}) == 4 + 6 * len(EXTRA_TWINS)
    assert len(contents(mongo_db, "avatar_conversations")) == 4 + 6 * len(EXTRA_TWINS)


def test_a_resumed_partition_still_finds_exactly_the_deleted_sources(seeded, mongo_db, monkeypatch, reads):
    conf = {"mode": "full", "collections": ["messages"], "partitions": 4, "batch_size": 2, "max_failures": 1}
    assert run_dag(conf).state == "success"
    total = mongo_db.avatar_conversations.count_documents({})
    seeded.document("digital_twins/t4/conversations/c1/messages/m1").delete()
    writes = kill_a_partition_after_its_checkpoint(monkeypatch)
    reads.clear()

    result = run_dag(conf | {"prune": True})

    assert result.state == "success", result.task_states
    assert writes["killed"] == 1
    messages = result.counts("messages")
    assert messages["resumed"] is True
    # The pages journaled before the checkpoint count as much as those after it: had
    # the retry lost them, their documents would look deleted and be pruned.
    assert (messages["stale"], messages["deleted"]) == (1, 1)
    assert messages["stale_samples"] == [
        {"digital_twin_id": "t4", "conversation_id": "c1", "message_id": "m1"}
    ]
    assert mongo_db.avatar_conversations.count_documents({}) == total - 1
    # The look for deleted sources read nothing from Firestore.
    assert reads["messages ids"] == 0


# Firestore orders `__id<n>__` ids as numbers, before every string id; a string sort
# puts them after "T…". Cut in string order, the ranges overlapped and read twice.
NUMERIC_ID_TWINS = ("__id5__", "__id10__", "__id100__", *(f"T{n:02}" for n in range(1, 10)))


@pytest.fixture
def numeric_id_twins(firestore_client, airflow_db, airflow_connections):
    batch = firestore_client.batch()
    moment = datetime(2024, 6, 1, tzinfo=UTC)
    for twin in NUMERIC_ID_TWINS:
        batch.set(firestore_client.document(f"digital_twins/{twin}"), {"name": twin})
        path = f"digital_twins/{twin}/conversations/c1"
        batch.set(firestore_client.document(path), {"summary": twin, "updated_at": moment})
        for message in ("m1", "m2"):
            batch.set(
                firestore_client.document(f"{path}/messages/{message}"),
                {"role": "user", "content": f"{twin} {message}", "timestamp": moment},
            )
    batch.commit()
    return firestore_client


def test_twin_ranges_follow_firestores_order_of_numeric_ids(numeric_id_twins, mongo_db):
    result = run_dag({"mode": "full", "collections": ["conversations", "messages"], "partitions": 4})

    assert result.state == "success", result.task_states
    plan = result.xcoms["messages_plan"]
    assert [(work["partition"]["start"], work["partition"]["end"]) for work in plan] == [
        (None, "digital_twins/T01"),
        ("digital_twins/T01", "digital_twins/T04"),
        ("digital_twins/T04", "digital_twins/T07"),
        ("digital_twins/T07", None),
    ]
    for name, total in (("conversations", 12), ("messages", 24)):
        counts = result.counts(name)
        assert (counts["read"], counts["inserted"], counts["unchanged"]) == (total, total, 0), name
    assert mongo_db.avatar_conversations.count_documents({}) == 24
