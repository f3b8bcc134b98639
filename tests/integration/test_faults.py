"""Network faults cost no Airflow retry: the DAGs and capture, through proxies that cut every
connection to the emulator and to MongoDB at random every 2 to 5 s, succeed at the first
try and leave MongoDB equal to the mapping; a 20 s MongoDB outage is ridden out within
timeout_seconds 60, and fails clearly (then resumes from the checkpoint) with 10.

Each test also forces a fault at a known point (the proxies taken down from inside a write
until the product notes a fault, or the open Listen stream cut), so that it can fail: the
random cuts alone might miss every operation on a fast machine. The driver's own single
retry is off, so that what the tests see is the product's doing."""

from __future__ import annotations

import json
import re
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from bench.fault_proxy import FaultProxy
from devtools import sample_data
from include.firestore_to_mongo.target import writer
from tests.backends import airflow_mongo_connection
from tests.capture_support import RunningCapture, assert_target_equals_source, commit_time
from tests.conftest import TEST_PROJECT
from tests.integration.dag_runner import VERIFY_DAG_ID, run_dag

pytestmark = pytest.mark.integration

# About 1,200 messages: runs of several seconds, so that the random cuts land mid-run.
SIZE = sample_data.SampleSize(users=8, twins=12, conversations=80, messages_per_conversation=8)
CUT_EVERY = (2.0, 5.0)


class Proxies:
    def __init__(self, firestore_proxy: FaultProxy, mongo_proxy: FaultProxy, mongo_uri: str, database: str):
        self.firestore, self.mongo = firestore_proxy, mongo_proxy
        self.mongo_uri, self.database = mongo_uri, database

    def cutting(self) -> None:
        self.firestore.start_cutting(CUT_EVERY)
        self.mongo.start_cutting(CUT_EVERY)

    def calm(self) -> None:
        self.firestore.stop_cutting()
        self.mongo.stop_cutting()

    @property
    def cuts(self) -> int:
        return self.firestore.cuts + self.mongo.cuts


@pytest.fixture
def proxies(
    monkeypatch, firestore_emulator, firestore_client, mongo_uri, mongo_db, airflow_db, airflow_connections
):
    """The DAGs' connections to the emulator and to MongoDB, each through a FaultProxy.
    (The test's own `firestore_client` and `mongo_db` go straight to the servers.)"""
    host, port = firestore_emulator.address.rsplit(":", 1)
    firestore_proxy = FaultProxy((host, int(port))).start()
    parts = urllib.parse.urlsplit(mongo_uri)
    mongo_proxy = FaultProxy((parts.hostname, parts.port or 27017)).start()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_proxy.address)
    connection = json.loads(airflow_mongo_connection(mongo_uri, mongo_db.name))
    connection.update(host=mongo_proxy.host, port=mongo_proxy.port)
    connection["extra"]["directConnection"] = "true"
    # The driver's own single retry of a read (and, on a replica set, of a write) would hide
    # a fault from the product: off, so that what these tests see is the product's doing.
    connection["extra"]["retryReads"] = False
    connection["extra"]["retryWrites"] = False
    monkeypatch.setenv("AIRFLOW_CONN_MONGO_DEFAULT", json.dumps(connection))
    yield Proxies(firestore_proxy, mongo_proxy, mongo_uri, mongo_db.name)
    firestore_proxy.close()
    mongo_proxy.close()


def outage_at_write(monkeypatch, proxies: list[FaultProxy], seconds: float, at_call: int = 2) -> list:
    """From inside the `at_call`-th batch write, an outage of `seconds` on `proxies`: every
    open connection cut, new ones refused. Returns the outages' end events."""
    original = writer.UpsertWriter.write
    calls, ends = [0], []

    def write(self, documents):
        calls[0] += 1
        if calls[0] == at_call:
            ends.extend(proxy.outage(seconds) for proxy in proxies)
        return original(self, documents)

    monkeypatch.setattr(writer.UpsertWriter, "write", write)
    return ends


def down_until_a_fault_at_write(monkeypatch, proxies: list[FaultProxy], at_call: int) -> None:
    """From inside the `at_call`-th batch write, `proxies` down (every open connection cut,
    new ones refused) until the product notes a fault and waits to try again: a fault it
    must ride out, whatever the machine's speed. (Were none noted, the run would fail.)"""
    from include.firestore_to_mongo.util.retry import Retrier

    original_write, original_note = writer.UpsertWriter.write, Retrier._note
    calls = [0]

    def write(self, documents):
        calls[0] += 1
        if calls[0] == at_call:
            for proxy in proxies:
                proxy.down()
        return original_write(self, documents)

    def note(self, what, state):
        original_note(self, what, state)
        for proxy in proxies:
            proxy.up()

    monkeypatch.setattr(writer.UpsertWriter, "write", write)
    monkeypatch.setattr(Retrier, "_note", note)


def faults(result) -> int:
    return sum(row.get("retried_faults") or 0 for row in result.summary["collections"].values())


def assert_first_try(result) -> None:
    assert result.state == "success", result.task_states
    retried = {task: tries for task, tries in result.tries.items() if tries > 1}
    assert retried == {}, f"tasks Airflow had to retry: {retried}"


def test_a_full_run_an_incremental_run_and_a_verify_ride_out_cut_connections(
    proxies, firestore_client, mongo_db, monkeypatch
):
    client = firestore_client
    sample_data.seed(client, SIZE)
    down_until_a_fault_at_write(monkeypatch, [proxies.firestore, proxies.mongo], at_call=2)
    proxies.cutting()

    full = run_dag({"mode": "full", "partitions": 4, "batch_size": 50, "timeout_seconds": 60})
    assert_first_try(full)
    assert faults(full) >= 1
    assert_target_equals_source(client, mongo_db)

    # 1% of the messages change (content and cursor), and a user.
    paths = [
        snapshot.reference.path
        for snapshot in client.collection_group("messages").select([]).stream()
        if snapshot.reference.path.startswith("digital_twins/")
    ]
    messages = paths[::100]
    later = datetime.now(UTC) + timedelta(minutes=1)
    for path in messages:
        client.document(path).update({"content": "edited under faults", "timestamp": later})
    client.document("users/user001").update({"display_name": "renamed under faults"})
    down_until_a_fault_at_write(monkeypatch, [proxies.firestore, proxies.mongo], at_call=1)
    incremental = run_dag({"mode": "incremental", "partitions": 4, "batch_size": 50, "timeout_seconds": 60})
    assert_first_try(incremental)
    assert incremental.counts("messages")["updated"] == len(messages)
    assert_target_equals_source(client, mongo_db)

    verify = run_dag(
        {"depth": "full", "partitions": 4, "batch_size": 50, "timeout_seconds": 60}, dag_id=VERIFY_DAG_ID
    )
    assert_first_try(verify)
    assert {name: row["status"] for name, row in verify.summary["collections"].items()} == dict.fromkeys(
        verify.summary["collections"], "verified"
    )
    proxies.calm()
    assert proxies.cuts >= 2  # the forced faults at least


def test_capture_rides_out_cut_connections(proxies, firestore_client, mongo_db, mongo_uri):
    from pymongo import MongoClient

    from include.firestore_to_mongo.target.faults import MONGODB
    from include.firestore_to_mongo.target.retrying import RetryingDatabase
    from include.firestore_to_mongo.util.retry import Retrier

    client = firestore_client
    seeded = max(
        commit_time(client.document(path).set(data))
        for path, data in sample_data.generate(sample_data.SampleSize(users=4, twins=4, conversations=20))
    )
    # What the capture task opens, through the proxies.
    proxied_client = firestore.Client(project=TEST_PROJECT, credentials=AnonymousCredentials())
    mongo = MongoClient(
        proxies.mongo.host,
        proxies.mongo.port,
        directConnection=True,
        tz_aware=True,
        serverSelectionTimeoutMS=60_000,
        retryReads=False,
        retryWrites=False,
    )
    database = RetryingDatabase(mongo, mongo_db.name, Retrier(MONGODB, 60))
    proxies.cutting()
    running = RunningCapture(proxied_client, database, timeout_seconds=60)
    try:
        running.caught_up(seeded)
        # A cut the stream certainly meets: it is open all the time.
        proxies.firestore.cut()
        last = max(
            commit_time(write)
            for write in [
                client.document("users/user000").update({"display_name": "changed under faults"}),
                client.document("users/new-user").set({"username": "new"}),
                client.document("digital_twins/twin001/conversations/conv0001/messages/msg0000").delete(),
            ]
        )
        running.caught_up(last)
        proxies.calm()
        assert_target_equals_source(client, mongo_db)
        result = running.finish()
        assert result["retried_faults"] >= 1
        assert running.error is None
    finally:
        running.stop.set()
        mongo.close()


@pytest.mark.parametrize(
    ("timeout_seconds", "rides_it_out"),
    [
        pytest.param(60, True, id="timeout-60-rides-it-out"),
        pytest.param(10, False, id="timeout-10-fails-then-resumes"),
    ],
)
def test_a_20_second_mongodb_outage_mid_partition(
    proxies, firestore_client, mongo_db, monkeypatch, capfd, timeout_seconds, rides_it_out
):
    sample_data.seed(firestore_client, SIZE)
    ends = outage_at_write(monkeypatch, [proxies.mongo], seconds=20.0, at_call=3)

    result = run_dag(
        {
            "mode": "full",
            "collections": ["messages"],
            "partitions": 1,
            "batch_size": 100,
            "timeout_seconds": timeout_seconds,
        }
    )

    assert ends
    assert all(end.is_set() for end in ends)
    assert result.state == "success", result.task_states
    assert_target_equals_source(firestore_client, mongo_db, names=["messages"])
    printed = capfd.readouterr()
    if rides_it_out:
        assert_first_try(result)
    else:
        assert result.tries["messages"] >= 2
        assert result.counts("messages")["resumed"] is True
        assert re.search(
            r"MongoDB \w+ on [a-z_]+: [a-z ()]+; gave up after \d+ tr(y|ies) \(timeout_seconds 10\); "
            rf"MongoDB at 127\.0\.0\.1:{proxies.mongo.port}",
            printed.out + printed.err,
        ), "no clear message"
