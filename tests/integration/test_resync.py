"""Incremental resyncs, watermarks, resume after a failure, deleted sources, Assets, and faults:
the real DAG on the Firestore emulator and a Mongo wire server (or TEST_MONGODB_URI)."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bench.fault_proxy import FaultProxy
from include.firestore_to_mongo.target import writer
from include.firestore_to_mongo.target.run_state import CHECKPOINTS, WATERMARKS
from tests.integration import edge_cases
from tests.integration.dag_runner import run_dag
from tests.integration.edge_cases import contents, expected

pytestmark = pytest.mark.integration

FULL = {"mode": "full", "max_failures": 1}
MESSAGE_M2 = "digital_twins/t1/conversations/shared/messages/m2"


@pytest.fixture
def seeded(firestore_client, airflow_db, airflow_connections):
    edge_cases.seed(firestore_client)
    return firestore_client


def kill_the_worker_at_write(monkeypatch, call: int, mongo_db=None) -> dict:
    """Make the `call`-th batch write of the run die once, as a killed worker would. With
    `mongo_db`, the returned dict gets the path of the checkpoint stored at that moment
    (`checkpoint`): where the retry must resume."""
    original_write = writer.UpsertWriter.write
    writes = Counter()
    death: dict = {}

    def dies_once(self, documents):
        writes["calls"] += 1
        if writes["calls"] == call:
            if mongo_db is not None:
                stored = mongo_db[CHECKPOINTS].find_one()
                death["checkpoint"] = stored["position"]["path"] if stored else None
            raise RuntimeError("worker killed")
        return original_write(self, documents)

    monkeypatch.setattr(writer.UpsertWriter, "write", dies_once)
    return death


def assert_resumed_after(paths: list[str], checkpoint: str) -> None:
    """`paths` (one document per page, in the order read) came from an attempt that died
    writing the page after `checkpoint`, then a retry that resumed there. The first
    attempt read up to that page and perhaps further ahead (its reader and mapper run
    ahead of the writer, by as much as the threads got to do), so: every page up to the
    checkpoint was read once, never again; the page that died was read twice; each later
    page once or twice, as far as the read-ahead got."""
    assert checkpoint is not None, "the attempt died before it stored a checkpoint"
    times = Counter(paths)
    in_order = list(dict.fromkeys(paths))
    written = in_order.index(checkpoint) + 1
    assert [times[path] for path in in_order[:written]] == [1] * written, times
    assert times[in_order[written]] == 2, times
    assert all(times[path] in (1, 2) for path in in_order[written + 1 :]), times


def watermarks(mongo_db) -> dict[str, datetime]:
    return {doc["_id"]: doc["watermark"] for doc in mongo_db[WATERMARKS].find()}


def test_scheduled_run_picks_up_changes_without_rescanning(seeded, mongo_db, reads):
    first = run_dag({"max_failures": 1})  # the schedule's params: incremental, no watermark yet
    assert first.state == "success", first.task_states
    assert {row["mode"] for row in first.summary["collections"].values()} == {"full (no watermark)"}
    assert set(watermarks(mongo_db)) == {"users", "digital_twins", "conversations", "messages"}
    assert reads["messages"] == 5  # 4 migrated + 1 under users/, left out
    # Deleted sources are found from the keys the run journaled: no second read.
    assert reads["messages ids"] == 0

    now = datetime.now(UTC)
    seeded.document("digital_twins/t1/conversations/shared/messages/new").set(
        {"role": "user", "content": "added later", "timestamp": now}
    )
    seeded.document("digital_twins/t2/conversations/shared").update({"updated_at": now, "summary": "changed"})
    seeded.document("users/u1").update({"username": "ada-changed"})
    reads.clear()

    # The schedule's params, but without the 10-minute look-back: this test's
    # "previous run" was seconds ago, and the look-back would re-read all of it.
    second = run_dag({"lookback_minutes": 0})

    assert second.state == "success", second.task_states
    # No rescan: only the changed documents came back from Firestore.
    assert (reads["messages"], reads["conversations"]) == (1, 1)
    messages, conversations, users = (second.counts(c) for c in ("messages", "conversations", "users"))
    assert (messages["mode"], messages["read"], messages["inserted"]) == ("incremental", 1, 1)
    assert (conversations["read"], conversations["updated"]) == (1, 1)
    # users has no change cursor: re-read in full, but only what changed is written.
    assert (users["read"], users["skipped"], users["updated"], users["failed"]) == (4, 3, 1, 0)
    new = mongo_db.avatar_conversations.find_one({"message_id": "new"}, {"_id": 0})
    assert new["message"] == "added later"
    assert mongo_db.conversations.find_one({"digital_twin_id": "t2"})["summary"] == "changed"
    assert mongo_db.users.find_one({"user_id": "u1"})["username"] == "ada-changed"
    assert messages["watermark_before"] == first.counts("messages")["watermark_after"]
    assert messages["watermark_after"] > messages["watermark_before"]
    # The documents whose cursor incremental runs can't see: ghost/m9 (none) and
    # users/u1/…/m1 (none, out of scope). m2 (an ISO string) and t2/m1 (an epoch
    # number) are seen, when their instant is recent.
    assert messages["without_cursor"] == 2


def test_since_overrides_the_watermark_for_one_run(seeded, mongo_db, reads):
    run_dag({"max_failures": 1})
    stored = watermarks(mongo_db)
    reads.clear()

    result = run_dag({"since": "2024-03-01T00:00:00Z", "collections": ["messages"]})

    # t1/shared/m1 (a Timestamp) and m2 (an ISO string) are on or after 2024-03-01;
    # t2/m1 (an epoch number) is from 2023.
    assert reads["messages"] == 2
    assert result.counts("messages")["read"] == 2
    assert watermarks(mongo_db)["messages"] >= stored["messages"]


def test_dry_run_and_failed_tasks_leave_watermarks_alone(seeded, mongo_db):
    dry = run_dag({"dry_run": True, "max_failures": 1})
    assert dry.state == "success", dry.task_states
    assert mongo_db.list_collection_names() == []

    failed = run_dag({"mode": "full", "max_failures": 0})

    assert failed.task_states["users"] == "failed"
    assert set(watermarks(mongo_db)) == {"digital_twins", "conversations", "messages"}
    assert failed.counts("users")["watermark_after"] is None


def test_an_interrupted_task_resumes_from_its_last_written_page(seeded, mongo_db, reads, monkeypatch):
    death = kill_the_worker_at_write(monkeypatch, 3, mongo_db)

    result = run_dag({"mode": "full", "collections": ["messages"], "batch_size": 1, "partitions": 1})

    assert result.state == "success", result.task_states
    assert contents(mongo_db, "avatar_conversations") == expected("avatar_conversations")
    # Attempt 1 died writing page 3, with pages 1 and 2 checkpointed; attempt 2 resumed
    # after page 2: pages 1 and 2 were read once, page 3 twice. Starting over would have
    # read pages 1 and 2 twice.
    assert len(set(reads.paths["messages"])) == 5  # 4 migrated + 1 under users/, left out
    assert death["checkpoint"] == reads.paths["messages"][1]
    assert_resumed_after(reads.paths["messages"], death["checkpoint"])
    messages = result.counts("messages")
    assert (messages["read"], messages["inserted"], messages["resumed"]) == (4, 4, True)
    assert messages["stale"] == 0
    assert mongo_db[CHECKPOINTS].count_documents({}) == 0


def test_a_new_run_ignores_the_checkpoints_of_another_run(seeded, mongo_db, reads):
    mongo_db[CHECKPOINTS].insert_one(
        {
            "_id": "firestore_to_mongo/some-older-run/messages/0",
            "started_at": datetime(2024, 1, 1, tzinfo=UTC),
            "position": {"path": "digital_twins/t2/conversations/shared/messages/m1", "cursor_value": None},
            "report": {"collection": "messages", "target": "avatar_conversations", "dry_run": False},
        }
    )

    result = run_dag({"mode": "full", "collections": ["messages"]})

    assert result.counts("messages")["read"] == 4
    assert reads["messages"] == 5


def test_deleted_sources_are_reported_and_pruned_only_when_asked(seeded, mongo_db):
    messages_only = {"mode": "full", "collections": ["messages"]}
    run_dag(messages_only)
    seeded.document(MESSAGE_M2).delete()
    gone_key = {"digital_twin_id": "t1", "conversation_id": "shared", "message_id": "m2"}

    reported = run_dag(messages_only).counts("messages")
    assert (reported["stale"], reported["deleted"], reported["stale_samples"]) == (1, 0, [gone_key])
    assert mongo_db.avatar_conversations.count_documents(gone_key) == 1

    preview = run_dag(messages_only | {"prune": True, "dry_run": True}).counts("messages")
    assert (preview["stale"], preview["deleted"]) == (1, 0)
    assert mongo_db.avatar_conversations.count_documents(gone_key) == 1

    incremental = run_dag({"collections": ["messages"], "prune": True}).counts("messages")
    assert (incremental["mode"], incremental["stale"], incremental["deleted"]) == ("incremental", None, 0)
    assert mongo_db.avatar_conversations.count_documents(gone_key) == 1

    pruned = run_dag(messages_only | {"prune": True}).counts("messages")
    assert (pruned["stale"], pruned["deleted"]) == (1, 1)
    assert mongo_db.avatar_conversations.count_documents(gone_key) == 0
    assert mongo_db.avatar_conversations.count_documents({}) == 3


def test_each_collection_task_emits_an_asset_for_its_mongo_collection(seeded, mongo_db, mongo_uri):
    result = run_dag(FULL | {"collections": ["digital_twins", "messages"]})
    assert result.state == "success", result.task_states

    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    parts = urllib.parse.urlsplit(mongo_uri)
    base = f"mongodb://{parts.hostname}:{parts.port or 27017}/{mongo_db.name}"
    with create_session() as session:
        uris = {
            uri
            for (uri,) in session.query(AssetModel.uri)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri.like(f"{base}/%"))
        }
    assert uris == {f"{base}/digital_twins", f"{base}/avatar_conversations"}
    assert all("@" not in uri for uri in uris)


@pytest.fixture
def proxied_mongo(monkeypatch, mongo_uri, mongo_db, airflow_connections):
    """Route the DAG's Mongo connection through a proxy the test can cut."""
    parts = urllib.parse.urlsplit(mongo_uri)
    proxy = FaultProxy((parts.hostname, parts.port or 27017)).start()
    connection = json.loads(edge_cases_connection(mongo_uri, mongo_db.name))
    connection.update(host=proxy.host, port=proxy.port)
    connection["extra"]["directConnection"] = "true"
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", json.dumps(connection))
    yield proxy
    proxy.close()


def edge_cases_connection(uri: str, database: str) -> str:
    from tests.backends import airflow_mongo_connection

    return airflow_mongo_connection(uri, database)


def test_mongo_going_away_mid_run_fails_clearly_and_the_retry_completes(
    firestore_client, airflow_db, proxied_mongo, mongo_db, monkeypatch, capfd
):
    edge_cases.seed(firestore_client)
    original_write = writer.UpsertWriter.write
    writes = Counter()

    def server_vanishes_before_second_batch(self, documents):
        writes["calls"] += 1
        if writes["calls"] == 2:
            proxied_mongo.down()
            try:
                return original_write(self, documents)
            finally:
                proxied_mongo.up()  # back for the retry (the port was never given up)
        return original_write(self, documents)

    monkeypatch.setattr(writer.UpsertWriter, "write", server_vanishes_before_second_batch)

    result = run_dag(
        {"mode": "full", "collections": ["messages"], "batch_size": 2, "timeout_seconds": 3, "partitions": 1}
    )

    assert proxied_mongo.cuts == 1
    assert result.state == "success", result.task_states
    assert contents(mongo_db, "avatar_conversations") == expected("avatar_conversations")
    assert result.counts("messages")["resumed"] is True
    printed = capfd.readouterr()
    # Faults were ridden out for timeout_seconds inside the task, then it failed, clearly.
    assert re.search(
        rf"MongoDB \w+ on avatar_conversations: [a-z ]+; gave up after \d+ tr(y|ies) \(timeout_seconds 3\); "
        rf"MongoDB at 127.0.0.1:{proxied_mongo.port}",
        printed.out + printed.err,
    )


def test_unreachable_firestore_is_a_clear_error_not_a_hang(
    firestore_client, airflow_db, airflow_connections, mongo_db, monkeypatch, capfd, closed_port
):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port}")

    result = run_dag({"collections": ["users"], "timeout_seconds": 2})

    assert result.task_states["users"] == "failed"
    assert result.state == "failed"
    printed = capfd.readouterr()
    assert "Firestore reading a page of users: unavailable" in printed.out + printed.err
    assert "(timeout_seconds 2)" in printed.out + printed.err
    assert mongo_db.users.count_documents({}) == 0
    assert WATERMARKS not in mongo_db.list_collection_names()


@pytest.mark.parametrize(
    "conf",
    [
        pytest.param({"collections": ["users", "posts"]}, id="unknown-collection"),
        pytest.param({"batch_size": 0}, id="batch-size-0"),
        pytest.param({"since": "last tuesday"}, id="unparseable-since"),
    ],
)
def test_bad_params_are_rejected_before_any_work(seeded, mongo_db, reads, conf):
    from airflow.sdk.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        run_dag(conf)

    assert sum(reads.values()) == 0
    assert mongo_db.list_collection_names() == []


def test_unreachable_firestore_fails_the_partitioning_clearly_too(
    firestore_client, airflow_db, airflow_connections, mongo_db, monkeypatch, capfd, closed_port
):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{closed_port}")

    result = run_dag({"mode": "full", "collections": ["messages"], "partitions": 3, "timeout_seconds": 2})

    assert result.task_states["messages_plan"] == "failed"
    assert result.task_states["messages_done"] == "failed"
    assert result.state == "failed"
    printed = capfd.readouterr()
    assert "Firestore splitting messages: unavailable" in printed.out + printed.err
    assert "(timeout_seconds 2)" in printed.out + printed.err


# --- incremental reads of every cursor form -------------------------------------------


def cursor_forms(now: datetime) -> dict[str, object]:
    """The same recent instant in every form an incremental run reads."""
    india = timezone(timedelta(hours=5, minutes=30))
    return {
        "timestamp": now,
        "iso-z": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "iso-offset": now.astimezone(india).isoformat(),
        "epoch-seconds": now.timestamp(),
        "epoch-milliseconds": int(now.timestamp() * 1000),
    }


OLD = datetime(2024, 6, 1, tzinfo=UTC)
# Forms no range query can match: incremental runs can't see these documents.
INVISIBLE = {"free-text": "March 1, 2026", "map": {"seconds": 1_800_000_000}, "null": None}


@pytest.mark.parametrize("partitions", [1, 4])
def test_incremental_runs_read_every_cursor_form(seeded, mongo_db, reads, partitions):
    assert run_dag({"max_failures": 1}).state == "success"
    now = datetime.now(UTC)
    batch = seeded.batch()
    for name, value in {**cursor_forms(now), **{f"old-{k}": v for k, v in cursor_forms(OLD).items()}}.items():
        conversation = f"digital_twins/t1/conversations/{name}"
        batch.set(seeded.document(conversation), {"summary": name, "updated_at": value})
        batch.set(seeded.document(f"{conversation}/messages/m"), {"content": name, "timestamp": value})
    for name, value in INVISIBLE.items():
        conversation = f"digital_twins/t2/conversations/{name}"
        batch.set(seeded.document(conversation), {"summary": name, "updated_at": value})
        batch.set(seeded.document(f"{conversation}/messages/m"), {"content": name, "timestamp": value})
    batch.commit()
    reads.clear()

    result = run_dag(
        {"lookback_minutes": 0, "partitions": partitions, "collections": ["conversations", "messages"]}
    )

    assert result.state == "success", result.task_states
    # Exactly the five recent ones of each: none of the old ones, none of the invisible ones.
    assert (reads["messages"], reads["conversations"]) == (5, 5)
    for collection, target, field in (
        ("messages", "avatar_conversations", "message"),
        ("conversations", "conversations", "summary"),
    ):
        figures = result.counts(collection)
        assert (figures["mode"], figures["read"], figures["inserted"]) == ("incremental", 5, 5)
        written = {doc[field] for doc in mongo_db[target].find({field: {"$in": list(cursor_forms(now))}})}
        assert written == set(cursor_forms(now)), collection
    if partitions > 1:
        assert {work["partition"]["method"] for work in result.xcoms["messages_plan"]} == {"time windows"}
    # What incremental runs can't see: the three invisible forms, and of the edge cases
    # ghost/m9 (no timestamp) and users/u1/…/m1 (none, out of scope); for conversations
    # t1/shared (a {seconds, nanos} map), t2/shared (null), ghost/orphan (none) and
    # users/u1/conversations/c1 (none, out of scope).
    assert result.counts("messages")["without_cursor"] == 3 + 2
    assert result.counts("conversations")["without_cursor"] == 3 + 4


def test_an_incremental_run_resumes_in_the_cursor_range_it_stopped_in(seeded, mongo_db, reads, monkeypatch):
    assert run_dag({"max_failures": 1, "collections": ["messages"]}).state == "success"
    now = datetime.now(UTC)
    for name, value in cursor_forms(now).items():
        seeded.document(f"digital_twins/t1/conversations/{name}/messages/m").set(
            {"content": name, "timestamp": value}
        )
    death = kill_the_worker_at_write(monkeypatch, 4, mongo_db)
    reads.clear()

    result = run_dag({"lookback_minutes": 0, "collections": ["messages"], "batch_size": 1, "partitions": 1})

    assert result.state == "success", result.task_states
    messages = result.counts("messages")
    assert (messages["read"], messages["inserted"], messages["resumed"]) == (5, 5, True)
    # One document per range page: the retry re-read the page that died (the fourth
    # form, in a later range than the first), not the three before it.
    assert len(set(reads.paths["messages"])) == 5
    assert death["checkpoint"] == reads.paths["messages"][2]
    assert_resumed_after(reads.paths["messages"], death["checkpoint"])
    written = {
        doc["message"]
        for doc in mongo_db.avatar_conversations.find({"conversation_id": {"$in": list(cursor_forms(now))}})
    }
    assert written == set(cursor_forms(now))
