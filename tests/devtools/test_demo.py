"""The pure parts of `make demo`: following a DAG run's log, what each run expects, the
changes a second run makes in Firestore, and `make query`'s printout."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from devtools import demo
from devtools.sample_data import SampleSize, generate, seed

LOG_PREFIX = "2026-11-29T11:38:25.123456Z [info     ] "
LOG_SUFFIX = " [include.firestore_to_mongo.migrate.pipeline] loc=progress.py:46"


def log_line(message: str) -> str:
    return f"{LOG_PREFIX}{message}{LOG_SUFFIX}\n"


# --- parsing the log -------------------------------------------------------------------------


def test_a_progress_line_is_parsed():
    line = log_line(
        "messages: progress, 5000 documents read, 544.8 docs/s, 9.2 s elapsed, "
        "the next page after digital_twins/twin000/conversations/conv0000/messages/msg0007"
    )
    assert demo.parse_progress(line) == demo.ProgressLine("messages", None, False, 5000, 544.8, 9.2)


def test_a_partitions_done_line_is_parsed():
    line = log_line("messages[3]: done, 815 documents read, 620.5 docs/s, 1.3 s elapsed")
    assert demo.parse_progress(line) == demo.ProgressLine("messages", 3, True, 815, 620.5, 1.3)


@pytest.mark.parametrize(
    "line",
    [
        log_line("messages: full (no watermark), 4 partition(s) by twin ranges; watermark none yet"),
        log_line("Task instance state updated"),
        "messages: progress, many documents read",
        "",
    ],
)
def test_other_lines_are_not_progress(line):
    assert demo.parse_progress(line) is None


def test_the_tracker_adds_up_partitions_and_reports_only_what_is_new():
    tracker = demo.ProgressTracker()
    tracker.feed(log_line("messages: full (no watermark), 4 partition(s) by twin ranges; watermark none yet"))
    tracker.feed(log_line("users: full (no watermark), 1 partition(s) by single; watermark none yet"))
    tracker.feed(log_line("messages: done, 800 documents read, 400.0 docs/s, 2.0 s elapsed"))
    # A line arrives in two pieces: nothing of it counts until it is whole.
    chunk = log_line("messages: progress, 5000 documents read, 500.0 docs/s, 10.0 s elapsed")
    tracker.feed(chunk[:40])
    assert tracker.collections["messages"].read == 800
    tracker.feed(chunk[40:])

    assert tracker.report() == ["messages: 5,800 documents read, 483.3 docs/s, 1 of 4 partitions done"]
    assert tracker.report() == []

    tracker.feed(log_line("messages: done, 6000 documents read, 500.0 docs/s, 12.0 s elapsed"))
    tracker.feed(log_line("users: done, 10 documents read, 95.2 docs/s, 0.0 s elapsed"))
    assert tracker.report() == [
        "messages: 6,800 documents read, 485.7 docs/s, 2 of 4 partitions done",
        # 0.0 s in all: the line's own rate.
        "users: done, 10 documents read, 95.2 docs/s",
    ]

    for index in (2, 3):
        tracker.feed(log_line(f"messages[{index}]: done, 100 documents read, 100.0 docs/s, 1.0 s elapsed"))
    assert tracker.report() == ["messages: done, 7,000 documents read, 437.5 docs/s"]


def test_the_tracker_knows_the_running_task():
    tracker = demo.ProgressTracker()
    tracker.feed(
        f"{LOG_PREFIX}[DAG TEST] starting task_id=messages map_index=2 [airflow.sdk.definitions.dag]\n"
    )
    assert tracker.task == "messages[2]"
    tracker.feed(
        f"{LOG_PREFIX}[DAG TEST] starting task_id=summary map_index=-1 [airflow.sdk.definitions.dag]\n"
    )
    assert tracker.task == "summary"
    assert tracker.report() == []


def test_without_a_partitions_line_the_count_of_finished_ones_is_shown():
    tracker = demo.ProgressTracker()
    tracker.feed(log_line("conversations: done, 50 documents read, 250.0 docs/s, 0.2 s elapsed"))
    assert tracker.report() == ["conversations: 50 documents read, 250.0 docs/s, 1 partition(s) done"]


# --- expectations --------------------------------------------------------------------------


def summary_row(collection: str, **figures) -> dict:
    return {
        "collection": collection,
        "status": "ok",
        "inserted": 0,
        "updated": 0,
        "failed": 0,
        "deleted": 0,
    } | figures


SECOND_RUN = {"messages": {"inserted": 3}, "conversations": {"updated": 1}, "users": {"updated": 1}}


def test_a_summary_with_exactly_the_expected_changes_is_as_expected():
    rows = [
        summary_row("users", updated=1, unchanged=9),
        summary_row("digital_twins", unchanged=20),
        summary_row("conversations", updated=1),
        summary_row("messages", inserted=3, unchanged=3),
    ]
    assert demo.compare_with_expectation(rows, SECOND_RUN) == []


def test_every_other_figure_is_a_surprise():
    rows = [
        summary_row("users", updated=1),
        summary_row("digital_twins", updated=2),
        summary_row("conversations", status="failed", updated=None),
        summary_row("messages", inserted=4, failed=1),
    ]
    assert demo.compare_with_expectation(rows, SECOND_RUN) == [
        "conversations: status failed",
        "conversations: updated 0, expected 1",
        "digital_twins: updated 2, expected 0",
        "messages: inserted 4, expected 3",
        "messages: failed 1, expected 0",
    ]
    assert demo.compare_with_expectation(rows[:1], {"users": {"updated": 1}, "messages": {}}) == [
        "messages: not in the summary"
    ]


def test_the_first_run_expects_every_document_on_a_migrated_path_inserted():
    messages = sum(1 for path, _ in generate() if path.startswith("digital_twins/") and path.count("/") == 5)
    assert demo.first_run_expectation() == {
        "users": {"inserted": 10},
        "digital_twins": {"inserted": 20},
        # 200, and the deleted twin's conversation; not the one under a user.
        "conversations": {"inserted": 201},
        "messages": {"inserted": messages},
    }


def test_the_expectation_reads_as_a_sentence():
    assert demo.describe_expectation(SECOND_RUN, incremental=True, short=True) == (
        "messages inserted 3, conversations updated 1, users updated 1"
    )
    assert demo.describe_expectation(SECOND_RUN, incremental=True).startswith(
        "an incremental run with messages inserted 3, conversations updated 1, users updated 1; nothing else"
    )


# --- the second run's changes, against the emulator ---------------------------------------------


@pytest.mark.integration
def test_the_changes_are_what_the_app_writes(firestore_client):
    assert not demo.is_seeded(firestore_client)
    seed(firestore_client, SampleSize(users=2, twins=1, conversations=1, messages_per_conversation=2))
    assert demo.is_seeded(firestore_client)
    conversation = firestore_client.document("digital_twins/twin000/conversations/conv0000")
    count = conversation.get().get("message_count")
    now = datetime(2026, 11, 29, 12, 0, 0, 123000, tzinfo=UTC)

    changes = demo.apply_changes(firestore_client, now)

    assert changes.expected == SECOND_RUN
    new = {
        doc.id: doc.to_dict()
        for doc in conversation.collection("messages").stream()
        if doc.id.startswith("msg-20261129T120000-")
    }
    assert sorted(new) == [f"msg-20261129T120000-{n}" for n in (1, 2, 3)]
    assert [new[key]["timestamp"] for key in sorted(new)] == [
        now + timedelta(milliseconds=n) for n in range(3)
    ]
    assert {message["role"] for message in new.values()} == {"user", "assistant"}
    stored = conversation.get().to_dict()
    assert stored["updated_at"] == now
    assert stored["message_count"] == count + 3
    user = firestore_client.document("users/user001").get().to_dict()
    assert user["last_login"] == now
    assert user["username"] == "user001_name, edited 2026-11-29 12:00:00"
    assert len(changes.lines) == 3
    assert f"message_count {count} → {count + 3}" in changes.lines[1]
    assert "'user001_name' → 'user001_name, edited 2026-11-29 12:00:00'" in changes.lines[2]


@pytest.mark.integration
def test_changes_need_the_sample(firestore_client):
    with pytest.raises(RuntimeError, match="seed the sample first"):
        demo.apply_changes(firestore_client, datetime.now(UTC))


# --- make query, against Mongo ----------------------------------------------------------------


@pytest.mark.integration
def test_query_prints_counts_and_the_newest_document_of_each_collection(mongo_db):
    mongo_db.users.insert_many(
        [
            {"_id": ObjectId("0000000000000000000000a1"), "user_id": "u1"},
            {
                "_id": ObjectId("0000000000000000000000a2"),
                "user_id": "u2",
                "last_login": datetime(2026, 11, 29, 12, 0, tzinfo=UTC),
            },
        ]
    )
    mongo_db.avatar_conversations.insert_one({"message_id": "m1", "media": [{"url": "x"}]})
    mongo_db["_firestore_to_mongo_watermarks"].insert_one(
        {"_id": "messages", "watermark": datetime(2026, 1, 1)}
    )

    printed = demo.describe_database(mongo_db)

    lines = printed.splitlines()
    table = lines[lines.index("collection                      documents") :][:4]
    assert table == [
        "collection                      documents",
        "avatar_conversations                    1",
        "users                                   2",
        "_firestore_to_mongo_watermarks          1  (the DAGs' own bookkeeping)",
    ]
    users = printed.split("users: newest document (highest _id)\n", 1)[1].split("\n\n", 1)[0]
    assert json.loads(users) == {
        "_id": "0000000000000000000000a2",
        "user_id": "u2",
        "last_login": "2026-11-29T12:00:00+00:00",
    }
    # Bookkeeping documents only when asked for by name.
    assert "_firestore_to_mongo_watermarks: newest" not in printed
    asked = demo.describe_database(mongo_db, "_firestore_to_mongo_watermarks")
    assert '"watermark": "2026-01-01T00:00:00' in asked


@pytest.mark.integration
def test_query_prints_one_collection_when_asked(mongo_db):
    mongo_db.users.insert_one({"user_id": "u1"})
    mongo_db.digital_twins.insert_one({"digital_twin_id": "t1"})

    printed = demo.describe_database(mongo_db, "digital_twins")
    assert "digital_twins: newest document" in printed
    assert "users" not in printed
    assert "has no collection 'nope'; it has: digital_twins, users" in demo.describe_database(
        mongo_db, "nope"
    )


@pytest.mark.integration
def test_query_on_an_empty_database(mongo_db):
    assert demo.describe_database(mongo_db) == f"Database '{mongo_db.name}' is empty."


@pytest.mark.integration
def test_watermarks_of_every_collection_make_the_next_run_incremental(mongo_db):
    watermarks = mongo_db["_firestore_to_mongo_watermarks"]
    watermarks.insert_many([{"_id": name} for name in ("users", "digital_twins", "conversations")])
    assert not demo.has_watermarks(mongo_db)
    watermarks.insert_one({"_id": "messages"})
    assert demo.has_watermarks(mongo_db)


# --- the Airflow process -------------------------------------------------------------------------

RUN_COMMANDS = """
import os, sys
from pathlib import Path
from devtools.demo import _airflow_command

def main():
    kind = sys.argv[3]  # airflow dags test <kind>
    print("print to stdout")
    print("print to stderr", file=sys.stderr)
    os.write(1, b"written to fd 1\\n")
    if kind == "failed":
        raise SystemExit("DagRun failed")
    if kind == "crash":
        raise ValueError("boom")
    if kind == "two":
        raise SystemExit(2)

log = Path(sys.argv[1])
codes = [_airflow_command(main, ["dags", "test", kind], log / f"{kind}.log") for kind in sys.argv[2:]]
print("back on stdout", codes)
"""


def test_each_airflow_command_has_its_own_log_and_exit_code(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", RUN_COMMANDS, str(tmp_path), "ok", "failed", "crash", "two"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == "back on stdout [0, 1, 1, 2]\n"
    assert run.stderr == ""
    for kind in ("ok", "failed", "crash", "two"):
        log = (tmp_path / f"{kind}.log").read_text()
        assert "print to stdout" in log
        assert "print to stderr" in log
        assert "written to fd 1" in log
    assert "DagRun failed" in (tmp_path / "failed.log").read_text()
    assert "ValueError: boom" in (tmp_path / "crash.log").read_text()


# --- servers -----------------------------------------------------------------------------------


def test_down_never_stops_a_process_that_is_not_a_demo_server(tmp_path, monkeypatch):
    """A stale pid file whose pid now belongs to something else: left alone, file removed."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        pid_files = {"firestore": tmp_path / "firestore.pid", "mongo": tmp_path / "mongo.pid"}
        pid_files["mongo"].write_text(str(stranger.pid))
        pid_files["firestore"].write_text("not a pid")
        monkeypatch.setattr(demo, "PIDS", pid_files)

        assert demo.running_servers() == {}
        demo.down(quiet=True)

        assert stranger.poll() is None
        assert not pid_files["mongo"].exists()
        assert not pid_files["firestore"].exists()
    finally:
        stranger.kill()
        stranger.wait()


def test_an_unknown_command_is_refused():
    with pytest.raises(SystemExit, match="usage"):
        demo.main(["sideways"])
