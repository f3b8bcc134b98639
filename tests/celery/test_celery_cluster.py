"""The DAG on a real CeleryExecutor deployment (devtools/celery_cluster.py): two workers,
redis, PostgreSQL, the api-server, the scheduler and the dag-processor, all on this machine.

Runs are triggered and read through Airflow's REST API, as an operator would. The sample
data (devtools/sample_data.py: 3,052 messages) is read at a capped rate
(`max_reads_per_second`), so that each of the four partitions of `messages` takes seconds
and the partitions run side by side.

1. A partitioned full run spreads its partitions over both workers, in parallel, and leaves
   MongoDB exactly as a one-partition run does; its figures add up.
2. A worker SIGKILLed while it runs a `messages` partition (after that partition wrote a
   checkpoint): the scheduler notices the missing heartbeats, the partition is retried on
   the other worker and resumes from its checkpoint, and MongoDB again ends up exact.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime
from typing import Any

import bson
import pytest
from bson.raw_bson import RawBSONDocument
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from devtools.celery_cluster import WORKER_CONCURRENCY, WORKERS, CeleryCluster, quoted
from devtools.sample_data import generate, seed
from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES, SPECS
from include.firestore_to_mongo.migrate.report import COUNTS
from include.firestore_to_mongo.run.tasks import PARTITION_REPORT
from include.firestore_to_mongo.target.run_state import CHECKPOINTS

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]

DAG_ID = "firestore_to_mongo"
PARTITIONED = ("conversations", "messages")
PARTITIONS = 4
BATCH_SIZE = 100
# 50 reads/s for each of the 4 partitions: about 15 s per messages partition.
READS_PER_SECOND = 200
THROTTLED = {
    "mode": "full",
    "partitions": PARTITIONS,
    "batch_size": BATCH_SIZE,
    "max_reads_per_second": READS_PER_SECOND,
}
TARGETS = tuple(spec.target for spec in SPECS.values())
# The killed partition is picked while its checkpoint holds at most this many pages.
EARLY_PAGES = 2


# --- the cluster, the data, the reference ------------------------------------------------


@pytest.fixture(scope="module")
def cluster(cluster):
    """The module's cluster (tests/celery/conftest.py), with the migration DAG unpaused."""
    cluster.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
    return cluster


@pytest.fixture(scope="module")
def source(cluster, say) -> dict[str, int]:
    """Seed the emulator with the sample; return the documents each collection migrates."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRESTORE_EMULATOR_HOST", cluster.firestore.address)
        client = firestore.Client(project=cluster.project, credentials=AnonymousCredentials())
        seed(client)
    counts = Counter(name for path, _ in generate() for name, spec in SPECS.items() if _in(spec, path))
    say("seeded the emulator: " + ", ".join(f"{counts[name]:,} {name}" for name in COLLECTION_NAMES))
    return dict(counts)


def _in(spec, path: str) -> bool:
    parts = path.split("/")
    return len(parts) == len(spec.path_shape) and all(
        want is None or want == part for want, part in zip(spec.path_shape, parts, strict=True)
    )


@pytest.fixture(scope="module")
def reference(cluster, mongo, source, say) -> dict[str, list[bytes]]:
    """What one partition, unthrottled, writes: the contents every other run must match."""
    run_id = run(
        cluster, {"mode": "full", "partitions": 1, "batch_size": BATCH_SIZE, "mongo_db": "reference"}, say
    )
    check_figures(cluster, run_id, source)
    return snapshot(mongo["reference"])


# --- the tests ---------------------------------------------------------------------------------


def test_partitions_run_side_by_side_on_both_workers(cluster, mongo, source, reference, say):
    run_id = run(cluster, THROTTLED | {"mongo_db": "spread"}, say)

    partitions = [ti for ti in task_instances(cluster, run_id) if ti["task_id"] in PARTITIONED]
    for name in PARTITIONED:
        assert sorted(ti["map_index"] for ti in partitions if ti["task_id"] == name) == list(
            range(PARTITIONS)
        )
    hosts = Counter(ti["hostname"] for ti in partitions)
    say("partitions per worker: " + ", ".join(f"{host} {count}" for host, count in sorted(hosts.items())))
    assert set(hosts) == set(WORKERS), hosts
    most = most_at_once(partitions)
    say(f"at most {most} partitions ran at once")
    assert most >= 2

    assert snapshot(mongo["spread"]) == reference
    summary = check_figures(cluster, run_id, source)
    for name in PARTITIONED:
        assert summary["collections"][name]["partitions"] == PARTITIONS


def test_a_partition_of_a_killed_worker_resumes_on_the_other(cluster, mongo, source, reference, say):
    database = mongo["killed"]
    run_id = trigger(cluster, THROTTLED | {"mongo_db": "killed"})
    say(f"triggered {run_id}; waiting for a messages partition with a checkpoint")
    victim, checkpoint = wait_for_checkpoint(cluster, database, run_id)
    host = victim["hostname"]
    (other,) = set(WORKERS) - {host}
    killed = cluster.kill_worker(host)
    say(
        f"SIGKILLed {host} ({len(killed)} processes) while it ran messages[{victim['map_index']}], "
        f"checkpointed after {checkpoint['report']['read']} documents"
    )

    assert wait_for_end(cluster, run_id, say) == "success"
    index = victim["map_index"]
    ti = cluster.api("GET", f"{ti_path(run_id, 'messages')}/{index}")
    assert (ti["state"], ti["try_number"], ti["hostname"]) == ("success", 2, other)
    tries = cluster.api("GET", f"{ti_path(run_id, 'messages')}/{index}/tries")["task_instances"]
    first = next(found for found in tries if found["try_number"] == 1)
    assert (first["hostname"], first["state"]) == (host, "failed")

    report = xcom(cluster, run_id, "messages", PARTITION_REPORT, index)
    assert (report["partition"], report["resumed"]) == (index, True)
    assert report["read"] >= checkpoint["report"]["read"]
    log = cluster.api("GET", f"{ti_path(run_id, 'messages')}/logs/2?map_index={index}&full_content=true")
    assert "resuming after" in json.dumps(log), "the retry's log does not say it resumed"
    say(f"messages[{index}] resumed on {other} (try 2) and finished; the run succeeded")

    assert snapshot(database) == reference
    check_figures(cluster, run_id, source, resumed=True)


# --- runs through the REST API -------------------------------------------------------------


def trigger(cluster: CeleryCluster, conf: dict[str, Any]) -> str:
    body = {"logical_date": None, "conf": conf}
    return cluster.api("POST", f"/api/v2/dags/{DAG_ID}/dagRuns", body)["dag_run_id"]


def run(cluster: CeleryCluster, conf: dict[str, Any], say) -> str:
    run_id = trigger(cluster, conf)
    say(f"triggered {run_id} with {json.dumps(conf)}")
    state = wait_for_end(cluster, run_id, say)
    assert state == "success", f"{run_id} ended {state}: {task_states(cluster, run_id)}"
    return run_id


def wait_for_end(cluster: CeleryCluster, run_id: str, say, timeout: float = 400) -> str:
    started = time.monotonic()
    told = started
    while True:
        state = cluster.api("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted(run_id)}")["state"]
        if state in ("success", "failed"):
            say(f"{run_id}: {state} after {time.monotonic() - started:.0f} s")
            return state
        assert time.monotonic() - started < timeout, f"{run_id} still {state} after {timeout:.0f} s"
        if time.monotonic() - told >= 10:
            told = time.monotonic()
            say(f"{run_id}: {task_states(cluster, run_id)}")
        time.sleep(1)


def wait_for_checkpoint(cluster: CeleryCluster, database, run_id: str, timeout: float = 180):
    """A running messages partition that wrote an early checkpoint, and the checkpoint; on a
    worker whose every slot runs a task instance.

    A worker with a free slot may have just taken a task from redis that Airflow still shows
    as queued: killed then, the message would stay with the dead worker (redis hands it out
    again only after its visibility timeout) and the task instance queued until the
    scheduler's task_queued_timeout (10 minutes). With every slot running, Celery (late
    acknowledgement, prefetch multiplier 1) holds no message that isn't running.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [ti for ti in task_instances(cluster, run_id) if ti["state"] == "running"]
        busy = Counter(ti["hostname"] for ti in running)
        for ti in running:
            if ti["task_id"] != "messages" or busy[ti["hostname"]] != WORKER_CONCURRENCY:
                continue
            found = database[CHECKPOINTS].find_one({"_id": f"{DAG_ID}/{run_id}/messages/{ti['map_index']}"})
            # Early in the partition only (at most two pages of about 7 written): at least
            # 10 s of throttled reads are left, so the partition can't finish between this
            # look and the kill, however slowly the API answers on a busy machine.
            if found is not None and found["report"]["pages"] <= EARLY_PAGES:
                return ti, found
        time.sleep(0.3)
    raise AssertionError(f"no messages partition of {run_id} checkpointed within {timeout:.0f} s")


def ti_path(run_id: str, task_id: str) -> str:
    return f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted(run_id)}/taskInstances/{task_id}"


def task_instances(cluster: CeleryCluster, run_id: str) -> list[dict[str, Any]]:
    path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quoted(run_id)}/taskInstances?limit=100"
    return cluster.api("GET", path)["task_instances"]


def task_states(cluster: CeleryCluster, run_id: str) -> str:
    """`12 success, 3 running (messages[0]@worker-a, …)`."""
    found = task_instances(cluster, run_id)
    states = Counter(str(ti["state"]) for ti in found)
    running = [f"{label(ti)}@{ti['hostname']}" for ti in found if ti["state"] == "running"]
    text = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    return text + (f" ({', '.join(sorted(running))})" if running else "")


def label(ti: dict[str, Any]) -> str:
    return ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"


def xcom(cluster: CeleryCluster, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1):
    path = f"{ti_path(run_id, task_id)}/xcomEntries/{key}?map_index={map_index}"
    value = cluster.api("GET", path)["value"]
    return json.loads(value) if isinstance(value, str) else value


def most_at_once(task_instances: list[dict[str, Any]]) -> int:
    """The most of these task instances that ran at the same moment."""
    events = []
    for ti in task_instances:
        events.append((datetime.fromisoformat(ti["start_date"]), 1))
        events.append((datetime.fromisoformat(ti["end_date"]), -1))
    most = current = 0
    # An end sorts before a start at the same instant: touching is not overlapping.
    for _, change in sorted(events):
        current += change
        most = max(most, current)
    return most


# --- what the runs leave ----------------------------------------------------------------------


def snapshot(database) -> dict[str, list[bytes]]:
    """Each data collection's documents without `_id`, as their exact BSON (types, key order
    and all), sorted; and which collections hold data."""
    collections = sorted(name for name in database.list_collection_names() if not name.startswith("_"))
    assert collections == sorted(TARGETS), collections
    raw = database.with_options(codec_options=bson.CodecOptions(document_class=RawBSONDocument))
    found = {target: sorted(doc.raw for doc in raw[target].find({}, {"_id": 0})) for target in TARGETS}
    assert all(found.values()), {target: len(docs) for target, docs in found.items()}
    return found


def check_figures(cluster: CeleryCluster, run_id: str, source: dict[str, int], resumed: bool = False) -> dict:
    """The summary of a full run into an empty database adds up: every document in the
    source read once, each read one outcome, and each partitioned collection's figures
    the sum of its partitions' reports."""
    summary = xcom(cluster, run_id, "summary")
    for name in COLLECTION_NAMES:
        row = summary["collections"][name]
        assert row["status"] == "ok", row
        assert row["read"] == source[name], (name, row["read"], source[name])
        outcomes = row["inserted"] + row["updated"] + row["unchanged"] + row["skipped"] + row["failed"]
        assert row["read"] == outcomes, row
        assert (row["updated"], row["skipped"], row["deleted"]) == (0, 0, 0), row
        if not resumed:
            # An empty database: everything is new. (A resumed partition finds the page its
            # killed attempt wrote after the checkpoint already there: unchanged.)
            assert row["unchanged"] == 0, row
        parts = [xcom(cluster, run_id, name, PARTITION_REPORT, index) for index in range(row["partitions"])]
        for figure in COUNTS:
            assert row[figure] == sum(part[figure] for part in parts), (name, figure)
    return summary
