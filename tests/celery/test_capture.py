"""Change capture (`firestore_to_mongo_capture`) on a real CeleryExecutor deployment
(devtools/celery_cluster.py), driven through Airflow's REST API as an operator would: the
process running capture is SIGKILLed in the middle of a burst of app-like changes, and
nothing is lost.

One test, in the order an operator lives it:

1. Capture is off until the DAG is unpaused; unpausing alone starts a run (the schedule is
   continuous, the params their defaults): its first start reads the whole sample and
   writes it (the bootstrap), and its checkpoint reaches the seed's last commit.
2. While the test writes app-like changes to Firestore (new messages with their
   conversation's cursor bumped, edits without a bump, deletes, logins, twins' fields set
   and removed, conversations started and dropped), the worker running the capture task is
   SIGKILLed, worker process tree and all, right after a burst of 60 app actions (about 80
   writes), while some are not yet checkpointed. A few more follow while nothing captures.
3. The scheduler notices the missing heartbeats; the task's retry runs on the other
   worker, waits until the dead holder's writer lease lapses, resumes from the checkpoint
   (not from scratch) and catches up with the last change.
4. Runs turn over: two short runs triggered (`run_minutes` 2 and 1) queue behind the running
   one (one at a time); the operator marks the running one done, and while changes keep
   flowing the first short run ends on its own and the next resumes from its checkpoint.
5. After every catch-up MongoDB equals what the mapping contract makes of Firestore, with
   no key twice. The checkpoint, read every 0.2 s all along, never goes back.
6. Pausing the DAG is the off switch: the running run may finish, and no run starts after.

Every wait is a condition, polled under a generous guard; caught up means the checkpoint
(a read time whose every earlier change is in MongoDB) reached a Firestore commit time.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from devtools.celery_cluster import DATABASE, WORKERS, CeleryCluster, quoted
from devtools.sample_data import SampleSize, generate
from include.firestore_to_mongo.capture.config import CAPTURE_DAG_ID, CAPTURE_PARAM_SCHEMAS
from include.firestore_to_mongo.contract.paths import ids_from_path
from include.firestore_to_mongo.contract.specs import SPECS
from include.firestore_to_mongo.target.capture_state import CaptureState, as_utc
from tests.capture_support import assert_target_equals_source, commit_time

pytestmark = [pytest.mark.celery, pytest.mark.timeout(900)]

# Only a guard against a hang: every wait ends as soon as its condition holds.
GUARD_SECONDS = 240
# A small sample: 4 users, 6 twins, 8 conversations, about 50 messages (and its mess:
# timestamps in every form, a conversation whose twin is gone, paths outside the contract).
SAMPLE = SampleSize(users=4, twins=6, conversations=8, messages_per_conversation=6)
BURST = 60
AFTER_KILL = 25
# Two short runs, so that runs turn over while the test watches. The first follows a run the
# operator stops, whose session holds the writer lease until it lapses (60 s: Airflow 3 turns
# the stop's SIGTERM into the task's on_kill(), which capture lacks, and SIGKILLs it 5 s later),
# so it waits up to a minute before it captures: two minutes leave it one to capture in.
SHORT_RUNS = ({"run_minutes": 2}, {"run_minutes": 1})
DEFAULT_RUN_MINUTES = CAPTURE_PARAM_SCHEMAS["run_minutes"]["default"]
# After the last run ended, the scheduler must have looped this long (it creates a
# continuous DAG's next run in its next loop, within a second or two) with no new run.
QUIET_SECONDS = 30
MESSAGES = ("digital_twins", None, "conversations", None, "messages", None)
CONVERSATIONS = ("digital_twins", None, "conversations", None)


# --- the source, and what capture leaves ---------------------------------------------------


@pytest.fixture(scope="module")
def source(cluster):
    """A Firestore client of the emulator, as the app writes to it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FIRESTORE_EMULATOR_HOST", cluster.firestore.address)
        yield firestore.Client(project=cluster.project, credentials=AnonymousCredentials())


@pytest.fixture
def watch(mongo):
    watching = CaptureWatch(mongo[DATABASE])
    yield watching
    watching.close()


class CaptureWatch:
    """Reads capture's status document (`_firestore_to_mongo_capture`) every 0.2 s in a
    thread of its own, for the whole test: every checkpoint it shows, in order, and who
    showed it; any step back is kept to fail the test."""

    def __init__(self, database) -> None:
        self.state = CaptureState(database)
        self.lock = threading.Lock()
        self.status: dict[str, Any] = {}
        self.checkpoints: list[tuple[datetime, str]] = []
        self.backwards: list[tuple[datetime, datetime, str]] = []
        self.errors: list[BaseException] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="capture-watch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.read()
            except Exception as error:  # a slow answer now and then; kept, not fatal
                self.errors.append(error)
            self.stopped.wait(0.2)

    def read(self) -> dict[str, Any]:
        found = self.state.read_status() or {}
        with self.lock:
            checkpoint = as_utc(found.get("checkpoint"))
            if checkpoint is not None:
                last = self.checkpoints[-1][0] if self.checkpoints else None
                if last is not None and checkpoint < last:
                    self.backwards.append((last, checkpoint, session_of(found)))
                if last is None or checkpoint > last:
                    self.checkpoints.append((checkpoint, session_of(found)))
            self.status = found
            return found

    def checkpoint(self) -> datetime | None:
        return as_utc(self.read().get("checkpoint"))

    def caught_up(self, holder: str, commit: datetime) -> bool:
        """`holder` runs capture and its checkpoint reached `commit`."""
        status = self.read()
        checkpoint = as_utc(status.get("checkpoint"))
        return (
            status.get("state") == "running"
            and session_of(status) == holder
            and checkpoint is not None
            # BSON keeps milliseconds: a read time at or after the commit, stored, is at
            # or after the commit's millisecond.
            and checkpoint >= _to_millisecond(commit)
        )

    def advanced_by(self) -> list[str]:
        """The holders under which the checkpoint moved forward, in order, each once."""
        with self.lock:
            return list(dict.fromkeys(run_id for _, run_id in self.checkpoints))

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(10)


def session_of(status: dict[str, Any]) -> str:
    """The capture session (`dag/run/try`, its writer lease's holder) a status names."""
    return str(status.get("holder"))


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def assert_exact(source, database, say, when: str) -> None:
    """MongoDB holds exactly what the contract makes of Firestore now (every key's winner,
    every contract field, nothing more), and no key twice."""
    assert_target_equals_source(source, database)
    counts = []
    for spec in SPECS.values():
        keys = Counter(
            tuple(doc.get(field) for field in spec.key_fields)
            for doc in database[spec.target].find({}, {field: 1 for field in spec.key_fields})
        )
        twice = {key: count for key, count in keys.items() if count > 1}
        assert not twice, (spec.target, twice)
        counts.append(f"{sum(keys.values())} {spec.target}")
    say(f"{when}: MongoDB equals Firestore under the contract ({', '.join(counts)}), no key twice")


# --- the app's writes ---------------------------------------------------------------------


class AppWriter:
    """Writes to Firestore the way the app does, one change at a time (each its own
    commit): what it wrote last, and when Firestore committed it."""

    KINDS: ClassVar[dict[str, int]] = {
        "message": 34,  # a new message, and its conversation's cursor bumped
        "edit": 20,  # a message's text edited: no cursor bump
        "delete": 10,  # a message deleted
        "login": 12,  # a user's login fields
        "twin": 8,  # a twin's field set, or removed
        "conversation": 6,  # a new conversation with its first message
        "drop": 3,  # a conversation deleted (its messages stay, and stay migrated)
        "user": 7,  # a user signs up, or an earlier sign-up is deleted
    }

    def __init__(self, client, paths: list[str], seed: int = 16) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.users = sorted(path for path in paths if ids_from_path(path, SPECS["users"].path_shape))
        self.twins = sorted(path for path in paths if ids_from_path(path, SPECS["digital_twins"].path_shape))
        self.conversations = sorted(path for path in paths if ids_from_path(path, CONVERSATIONS))
        self.messages = sorted(path for path in paths if ids_from_path(path, MESSAGES))
        self.signed_up: list[str] = []
        self.changes = 0
        self.kinds: Counter = Counter()
        self.last_commit: datetime | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial = 0

    def write(self, count: int, every: float = 0.0) -> datetime:
        """Make `count` changes (`every` seconds apart); return the last one's commit time."""
        for _ in range(count):
            self.one()
            if every:
                time.sleep(every)
        assert self.last_commit is not None
        return self.last_commit

    def start(self, per_second: float) -> None:
        """Keep writing in a thread until `stop()`."""
        self._stop.clear()

        def run() -> None:
            try:
                while not self._stop.is_set():
                    self.one()
                    self._stop.wait(1 / per_second)
            except BaseException as error:
                self.error = error

        self._thread = threading.Thread(target=run, name="app-writer", daemon=True)
        self._thread.start()

    def stop(self) -> datetime:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(60)
            assert not self._thread.is_alive(), "the app writer did not stop"
        if self.error is not None:
            raise self.error
        assert self.last_commit is not None
        return self.last_commit

    def one(self) -> None:
        kind = self.rng.choices(list(self.KINDS), weights=list(self.KINDS.values()))[0]
        if (kind in ("edit", "delete") and len(self.messages) < 10) or (
            kind == "drop" and len(self.conversations) < 4
        ):
            kind = "message"
        getattr(self, f"_{kind}")()
        self.kinds[kind] += 1

    def _committed(self, result) -> None:
        moment = commit_time(result)
        self.last_commit = moment if self.last_commit is None else max(self.last_commit, moment)
        self.changes += 1

    def _next(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:05d}"

    def _message(self, conversation: str | None = None) -> None:
        conversation = conversation or self.rng.choice(self.conversations)
        now = datetime.now(UTC)
        path = f"{conversation}/messages/{self._next('live')}"
        role = self.rng.choice(["user", "assistant"])
        self._committed(
            self.client.document(path).set(
                {"role": role, "content": f"{role} says {self._serial}", "timestamp": now}
            )
        )
        self.messages.append(path)
        self._committed(
            self.client.document(conversation).update(
                {"updated_at": now, "message_count": firestore.Increment(1)}
            )
        )

    def _edit(self) -> None:
        path = self.rng.choice(self.messages)
        self._committed(self.client.document(path).update({"content": f"edited {self._next('')}"}))

    def _delete(self) -> None:
        path = self.messages.pop(self.rng.randrange(len(self.messages)))
        self._committed(self.client.document(path).delete())

    def _login(self) -> None:
        path = self.rng.choice(self.users)
        self._committed(
            self.client.document(path).update(
                {"last_login": datetime.now(UTC), "currently_logged_in": self.rng.random() > 0.5}
            )
        )

    def _twin(self) -> None:
        path = self.rng.choice(self.twins)
        if self.rng.random() < 0.3:
            update = {"description": firestore.DELETE_FIELD}  # $unset in MongoDB
        else:
            update = {"description": f"now about {self._next('topic ')}", "system_prompt_mood": "curious"}
        self._committed(self.client.document(path).update(update))

    def _conversation(self) -> None:
        twin = self.rng.choice(self.twins)
        path = f"{twin}/conversations/{self._next('chat')}"
        now = datetime.now(UTC)
        self._committed(
            self.client.document(path).set(
                {"summary": "Started live", "created_at": now, "updated_at": now, "message_count": 0}
            )
        )
        self.conversations.append(path)
        self._message(path)

    def _drop(self) -> None:
        path = self.conversations.pop(self.rng.randrange(len(self.conversations)))
        self._committed(self.client.document(path).delete())

    def _user(self) -> None:
        if self.signed_up and self.rng.random() < 0.4:
            path = self.signed_up.pop(0)
            self.users.remove(path)
            self._committed(self.client.document(path).delete())
            return
        path = f"users/{self._next('signup')}"
        self._committed(
            self.client.document(path).set(
                {"username": path.split("/")[1], "created_at": datetime.now(UTC), "digital_twins": []}
            )
        )
        self.users.append(path)
        self.signed_up.append(path)


def seed_sample(client) -> tuple[list[str], datetime]:
    """Write the small sample; return its paths and its last commit time."""
    documents = list(generate(SAMPLE))
    last = None
    for start in range(0, len(documents), 400):
        batch = client.batch()
        for path, data in documents[start : start + 400]:
            batch.set(client.document(path), data)
        last = max([commit_time(result) for result in batch.commit()] + ([last] if last else []))
    return [path for path, _ in documents], last


# --- the capture DAG through the REST API ---------------------------------------------------


def dag_path(suffix: str = "") -> str:
    return f"/api/v2/dags/{CAPTURE_DAG_ID}{suffix}"


def dag_runs(cluster: CeleryCluster) -> list[dict[str, Any]]:
    found = cluster.api("GET", dag_path("/dagRuns?limit=100"))["dag_runs"]
    return sorted(found, key=lambda run: (run["run_after"], run["dag_run_id"]))


def dag_run(cluster: CeleryCluster, run_id: str) -> dict[str, Any]:
    return cluster.api("GET", dag_path(f"/dagRuns/{quoted(run_id)}"))


def capture_ti(cluster: CeleryCluster, run_id: str) -> dict[str, Any] | None:
    """The run's `capture` task instance (None before the run has one)."""
    try:
        return cluster.api("GET", dag_path(f"/dagRuns/{quoted(run_id)}/taskInstances/capture"))
    except OSError as error:
        if "HTTP 404" in str(error):
            return None
        raise


def capture_tries(cluster: CeleryCluster, run_id: str) -> dict[int, dict[str, Any]]:
    found = cluster.api("GET", dag_path(f"/dagRuns/{quoted(run_id)}/taskInstances/capture/tries"))
    return {ti["try_number"]: ti for ti in found["task_instances"]}


def task_log(cluster: CeleryCluster, run_id: str, try_number: int) -> str:
    path = dag_path(f"/dagRuns/{quoted(run_id)}/taskInstances/capture/logs/{try_number}?full_content=true")
    return json.dumps(cluster.api("GET", path))


def trigger(cluster: CeleryCluster, conf: dict[str, Any]) -> str:
    return cluster.api("POST", dag_path("/dagRuns"), {"logical_date": None, "conf": conf})["dag_run_id"]


def holder(run_id: str, try_number: int) -> str:
    """The name a capture session holds the writer lease and the status under."""
    return f"{CAPTURE_DAG_ID}/{run_id}/{try_number}"


def running_capture(
    cluster: CeleryCluster, run_id: str, try_number: int | None = None, host: str | None = None
):
    """The run's capture task instance if it runs (that try, on that host)."""
    ti = capture_ti(cluster, run_id)
    if ti is None or ti["state"] != "running":
        return None
    if try_number is not None and ti["try_number"] != try_number:
        return None
    if host is not None and ti["hostname"] != host:
        return None
    return ti


def scheduler_heartbeat(cluster: CeleryCluster) -> datetime | None:
    found = cluster.api("GET", "/api/v2/monitor/health")["scheduler"]["latest_scheduler_heartbeat"]
    return datetime.fromisoformat(found) if found else None


def wait_for(
    what: str, condition: Callable[[], Any], say, report: Callable[[], str], timeout: float = GUARD_SECONDS
):
    """Poll `condition` until it returns something true, and return that; tell how it goes
    every 15 s; fail after `timeout` (a guard, never the expected duration)."""
    started = time.monotonic()
    told = started
    while True:
        found = condition()
        if found:
            say(f"{what} (after {time.monotonic() - started:.0f} s)")
            return found
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout:.0f} s: {what}; {report()}")
        if time.monotonic() - told >= 15:
            told = time.monotonic()
            say(f"waiting: {what}; {report()}")
        time.sleep(0.5)


# --- the test ---------------------------------------------------------------------------------


def test_capture_loses_nothing_when_its_worker_is_killed(cluster, mongo, source, watch, say):
    database = mongo[DATABASE]
    writer: AppWriter | None = None

    def report() -> str:
        status = watch.read()
        checkpoint = as_utc(status.get("checkpoint"))
        behind = ""
        if writer is not None and writer.last_commit and checkpoint:
            behind = f" ({(writer.last_commit - checkpoint).total_seconds():.1f} s behind the last write)"
        runs = ", ".join(f"{run['dag_run_id']} {run['state']}" for run in dag_runs(cluster)[-3:])
        return (
            f"capture {status.get('state')} as {session_of(status)}, checkpoint "
            f"{checkpoint.isoformat() if checkpoint else None}{behind}; runs: {runs}"
        )

    # 0. Off until unpaused.
    dag = wait_for("the capture DAG is parsed", lambda: _dag_or_none(cluster), say, report)
    assert dag["is_paused"] is True, "capture must be off until the DAG is unpaused"
    assert dag_runs(cluster) == []
    paths, seeded = seed_sample(source)
    say(f"seeded {len(paths)} documents, the last committed at {seeded.isoformat()}")

    # 1. Unpausing alone starts capture, with the default params; the first start bootstraps.
    cluster.api("PATCH", dag_path(), {"is_paused": False})
    first = wait_for(
        "unpausing started a run whose capture task runs",
        lambda: next((run for run in dag_runs(cluster) if running_capture(cluster, run["dag_run_id"])), None),
        say,
        report,
    )
    first_id = first["dag_run_id"]
    assert (first["run_type"], first["conf"] or {}) == ("scheduled", {}), first
    wait_for(
        f"{first_id} bootstrapped: its checkpoint reached the seed's last commit",
        lambda: watch.caught_up(holder(first_id, 1), seeded),
        say,
        report,
    )
    log = task_log(cluster, first_id, 1)
    assert f"for {DEFAULT_RUN_MINUTES} minutes" in log, (
        "the scheduled run did not use the default run_minutes"
    )
    assert "the whole current set (first start)" in log
    assert_exact(source, database, say, "bootstrapped")

    # 2. SIGKILL the worker running capture, right after a burst of changes.
    victim = capture_ti(cluster, first_id)
    host = victim["hostname"]
    (other,) = set(WORKERS) - {host}
    writer = AppWriter(source, paths)
    burst_last = writer.write(BURST)
    checkpoint_at_kill = watch.checkpoint()
    killed = cluster.kill_worker(host)
    say(
        f"SIGKILLed {host} ({len(killed)} processes) running {first_id}'s capture, right after "
        f"{writer.changes} changes ({dict(writer.kinds)}); checkpoint then "
        f"{checkpoint_at_kill.isoformat() if checkpoint_at_kill else None}, last change "
        f"{burst_last.isoformat()}"
    )
    assert checkpoint_at_kill is not None
    assert checkpoint_at_kill < burst_last, (
        "the kill came after capture had caught up: nothing was in flight, the test proved less "
        "than it claims"
    )
    before = writer.changes
    last = writer.write(AFTER_KILL, every=0.2)
    say(f"{writer.changes - before} more changes while nothing captures, the last at {last.isoformat()}")

    # 3. The retry resumes on the other worker, from the checkpoint, and catches up.
    wait_for(
        f"{first_id}'s capture runs again, try 2 on {other}",
        lambda: running_capture(cluster, first_id, try_number=2, host=other),
        say,
        report,
    )
    wait_for(
        "try 2 caught up with the last change",
        lambda: watch.caught_up(holder(first_id, 2), last),
        say,
        report,
    )
    tries = capture_tries(cluster, first_id)
    assert (tries[1]["hostname"], tries[1]["state"]) == (host, "failed"), tries[1]
    log = task_log(cluster, first_id, 2)
    assert "from the checkpoint" in log, "try 2 did not resume from the checkpoint"
    assert "first start" not in log, "try 2 started over instead of resuming"
    assert_exact(source, database, say, "after the kill")

    # 4. Runs turn over: short runs queue behind the running one, one at a time.
    short = [trigger(cluster, conf) for conf in SHORT_RUNS]
    assert [dag_run(cluster, run_id)["state"] for run_id in short] == ["queued", "queued"]
    say(
        "triggered "
        + ", ".join(
            f"{run_id} with {json.dumps(conf)}" for run_id, conf in zip(short, SHORT_RUNS, strict=True)
        )
        + f": queued behind {first_id}"
    )
    # The operator is done with the 10-minute run: marked successful, its task is stopped.
    cluster.api("PATCH", dag_path(f"/dagRuns/{quoted(first_id)}"), {"state": "success"})
    say(f"marked {first_id} successful; the app acts 4 times a second meanwhile")
    writer.start(per_second=4)

    def first_short_captures():
        ended = capture_ti(cluster, short[0])
        if ended is not None and ended["state"] in ("success", "failed"):
            raise AssertionError(f"{short[0]} ended ({xcom_outcome(cluster, short[0])}) and never captured")
        ti = running_capture(cluster, short[0])
        status = watch.read()
        return (
            ti
            if ti and (session_of(status), status.get("state")) == (holder(short[0], 1), "running")
            else None
        )

    ti = wait_for(f"{short[0]} captures", first_short_captures, say, report)
    waited = datetime.now(UTC) - datetime.fromisoformat(ti["start_date"])
    say(f"{short[0]} waited {waited.total_seconds():.0f} s for the writer lease of the stopped session")
    wait_for(
        f"{short[0]} ended on its own and {short[1]} captures",
        lambda: (
            (capture_ti(cluster, short[0]) or {}).get("state") == "success"
            and running_capture(cluster, short[1])
            and session_of(watch.read()) == holder(short[1], 1)
            and watch.status.get("state") == "running"
        ),
        say,
        report,
    )
    # Changes made while the next run captures reach it too, not only those from before.
    during = writer.last_commit
    wait_for(
        f"{short[1]} applied a change made while it runs",
        lambda: writer.error is not None or watch.caught_up(holder(short[1], 1), during),
        say,
        report,
    )
    last = writer.stop()
    say(
        f"stopped writing: {writer.changes} changes in all ({dict(writer.kinds)}), the last at {last.isoformat()}"
    )
    wait_for(
        f"{short[1]} caught up with the last change",
        lambda: watch.caught_up(holder(short[1], 1), last),
        say,
        report,
    )
    ended = xcom_outcome(cluster, short[0])
    assert ended == "stopped", f"{short[0]} ended {ended}"
    assert_exact(source, database, say, "after runs turned over")

    # 5. The checkpoint never went back, and every session moved it.
    assert not watch.backwards, f"the checkpoint went back: {watch.backwards}"
    movers = watch.advanced_by()
    say(f"{len(watch.checkpoints)} checkpoints seen, moved forward by {', '.join(movers)}")
    for name in (holder(first_id, 1), holder(first_id, 2), holder(short[0], 1), holder(short[1], 1)):
        assert name in movers, (name, movers)

    # 6. The off switch: pause; the running run may finish, none starts after it.
    cluster.api("PATCH", dag_path(), {"is_paused": True})
    say(f"paused {CAPTURE_DAG_ID} while {short[1]} captures")
    wait_for(
        f"{short[1]} finished its minute",
        lambda: (
            (capture_ti(cluster, short[1]) or {}).get("state") == "success"
            and dag_run(cluster, short[1])["state"] == "success"
        ),
        say,
        report,
    )
    status = watch.read()
    assert (status.get("state"), session_of(status)) == ("stopped", holder(short[1], 1)), status
    finished = datetime.fromisoformat(dag_run(cluster, short[1])["end_date"])
    wait_for(
        f"the scheduler looped {QUIET_SECONDS} s after the last run ended",
        lambda: (
            (beat := scheduler_heartbeat(cluster)) and beat >= finished + timedelta(seconds=QUIET_SECONDS)
        ),
        say,
        report,
        timeout=QUIET_SECONDS + 60,
    )
    # (A run the schedule queued before the pause may wait, queued; none may start.)
    later = [run for run in dag_runs(cluster) if run["dag_run_id"] not in (first_id, *short)]
    assert not [run for run in later if run["state"] != "queued" or run.get("start_date")], later
    assert watch.read().get("heartbeat_at") == status.get("heartbeat_at"), (
        "capture still reports while paused"
    )
    assert not watch.backwards, f"the checkpoint went back: {watch.backwards}"
    say("paused: no run started after the last one ended")


def _dag_or_none(cluster: CeleryCluster) -> dict[str, Any] | None:
    try:
        return cluster.api("GET", dag_path())
    except OSError:
        return None


def xcom_outcome(cluster: CeleryCluster, run_id: str) -> str:
    path = dag_path(f"/dagRuns/{quoted(run_id)}/taskInstances/capture/xcomEntries/return_value")
    value = cluster.api("GET", path)["value"]
    return (json.loads(value) if isinstance(value, str) else value)["outcome"]
