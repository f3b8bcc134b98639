"""`make demo`, `make demo-down` and `make query`: the whole migration on local stand-ins.

    python -m devtools.demo up                  # start (or reuse) the servers, run the DAG and the verify
    python -m devtools.demo down                # stop the servers `up` started
    python -m devtools.demo query [collection]  # counts and a sample document per collection

Firestore is the real emulator; MongoDB is mongoeco with its in-memory engine (and the
fast path for compound-index upserts the tests use). The data lives as long as those
two processes, so `up` leaves them running and the next `up` reuses them: instead of
seeding again, it changes a few source documents the way the app would and runs the
DAG incrementally, which must pick up exactly those changes.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.servers import airflow_environment, local_mongo_conn

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
PROJECT = "demo-project"
DATABASE = "app"
FIRESTORE_PORT = int(os.environ.get("DEMO_FIRESTORE_PORT", "8686"))
MONGO_PORT = int(os.environ.get("DEMO_MONGO_PORT", "27027"))
MONGO_URI = f"mongodb://127.0.0.1:{MONGO_PORT}/?directConnection=true"
PIDS = {"firestore": DEMO / "firestore.pid", "mongo": DEMO / "mongo.pid"}
PORTS = {"firestore": FIRESTORE_PORT, "mongo": MONGO_PORT}
# What each server's command line holds, so that a stale pid file (the process gone, its
# pid reused) never makes the demo reuse or stop a process that isn't its own.
COMMAND_MARKERS = {"firestore": "emulators firestore start", "mongo": "devtools.mongoeco_server"}
SERVER_NAMES = {"firestore": "the Firestore emulator", "mongo": "mongoeco"}
DAG_CONF = json.dumps({"timeout_seconds": 300})
# How often the terminal hears from a running DAG.
REPORT_EVERY_SECONDS = 5.0

# What a run on data already migrated changes in Firestore, as the app would: new
# messages in one conversation, that conversation's updated_at and message_count, and
# one user's username and last_login.
CHANGED_TWIN = "twin000"
CHANGED_CONVERSATION = "conv0000"
CHANGED_USER = "user001"
NEW_MESSAGES = 3
# The figures of the migration's summary that a run's expectation pins down: any other
# value of these is a surprise.
CHECKED_FIGURES = ("inserted", "updated", "failed", "deleted")


def demo_environment() -> dict[str, str]:
    return airflow_environment(
        ROOT,
        DEMO / "airflow",
        f"127.0.0.1:{FIRESTORE_PORT}",
        PROJECT,
        local_mongo_conn(MONGO_PORT, DATABASE),
    )


# --- up ----------------------------------------------------------------------------------


def up() -> int:
    started = time.monotonic()
    DEMO.mkdir(exist_ok=True)
    env = demo_environment()
    os.environ.update(env)
    # Airflow takes 15-30 s to import and set up, as long as a DAG run: its process starts
    # first, and gets ready while the servers start and Firestore is seeded.
    migrate = not (DEMO / "airflow" / "airflow.db").exists()
    step(
        "Starting Airflow in the background"
        + (", which creates its metadata database in .demo/airflow" if migrate else "")
    )
    airflow = AirflowRunner(env, migrate)
    try:
        return _up(airflow, started)
    finally:
        airflow.close()


def _up(airflow: AirflowRunner, started: float) -> int:
    fresh = not reuse_servers()
    if fresh:
        start_servers()

    import pymongo
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    client = firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
    mongo = pymongo.MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=10_000)
    database = mongo[DATABASE]
    incremental = False
    if not is_seeded(client):
        from devtools.sample_data import seed

        step("Seeding Firestore with the sample dataset")
        seeding = time.monotonic()
        counts = seed(client)
        print(
            "   "
            + ", ".join(f"{count:,} {name}" for name, count in sorted(counts.items()))
            + f" in {time.monotonic() - seeding:.0f} s"
        )
        expected = first_run_expectation()
    elif not has_watermarks(database):
        step("Firestore holds the sample already; MongoDB has no watermark yet: a full run")
        expected = first_run_expectation()
    else:
        incremental = True
        step("Changing a few source documents, as the app would (the data is migrated already)")
        changes = apply_changes(client, datetime.now(UTC))
        for line in changes.lines:
            print(f"   {line}")
        expected = changes.expected
    mongo.close()
    print(f"   Expect: {describe_expectation(expected, incremental)}", flush=True)

    airflow.wait_ready()
    migrated, figures = run_dag(airflow, "firestore_to_mongo", "dag-run.log")
    rows = print_summary("firestore_to_mongo", figures)
    if rows is not None:
        surprises = compare_with_expectation(rows, expected)
        if surprises:
            print("Not what was expected: " + "; ".join(surprises) + "\n")
        else:
            print(f"As expected: {describe_expectation(expected, incremental, short=True)}.\n")
    verified, figures = run_dag(airflow, "firestore_to_mongo_verify", "verify-run.log")
    rows = print_summary("firestore_to_mongo_verify", figures)
    if rows is not None:
        unverified = [
            f"{row['collection']} {row.get('status')}" for row in rows if row.get("status") != "verified"
        ]
        print(("Not verified: " + ", ".join(unverified)) if unverified else "Every collection verified.")

    airflow.close()
    took = time.monotonic() - started
    kind = "first run: servers started, sample seeded" if fresh else "servers reused"
    kind += ", incremental migration" if incremental else ", full migration"
    print(
        f"""
make demo took {took:.0f} s ({kind}, verify).
The servers keep running, with the data, until `make demo-down`:
  MongoDB (mongoeco, in memory)  127.0.0.1:{MONGO_PORT}, database '{DATABASE}'
  Firestore emulator             127.0.0.1:{FIRESTORE_PORT}, project '{PROJECT}'
See the result:     make query                   (counts and one document per collection)
                    make query COLLECTION=users  (one collection)
Run `make demo` again: it changes a few documents in Firestore and migrates just those.
`make demo-down` stops the servers (the data goes with them); `rm -rf .demo` forgets the rest."""
    )
    return migrated or verified


def reuse_servers() -> bool:
    """True when both of the demo's servers are up (and so hold the data): reuse them."""
    running = running_servers()
    if set(running) == set(PIDS):
        step(
            f"Reusing the running servers, with their data: the Firestore emulator on port "
            f"{FIRESTORE_PORT} (pid {running['firestore']}), mongoeco on port {MONGO_PORT} "
            f"(pid {running['mongo']})"
        )
        return True
    if running:
        print(f"   only {', '.join(SERVER_NAMES[name] for name in running)} is running: restarting both")
    return False


def start_servers() -> None:
    from devtools.servers import start_firestore_emulator, start_mongoeco

    down(quiet=True)
    taken = [f"{port} ({SERVER_NAMES[name]})" for name, port in PORTS.items() if _port_answers(port)]
    if taken:
        raise DemoError(
            f"something else listens on port {' and '.join(taken)}: a demo server whose pid file went "
            "with `rm -rf .demo`? Stop it (`ps aux | grep -E 'mongoeco_server|cloud-firestore-emulator'`), "
            "or pick other ports with DEMO_FIRESTORE_PORT and DEMO_MONGO_PORT."
        )
    # The SQLite file of earlier versions of the demo: nothing reads it any more.
    (DEMO / "mongo.sqlite").unlink(missing_ok=True)
    step(
        f"Starting the Firestore emulator on port {FIRESTORE_PORT} and mongoeco "
        f"(in-memory engine) on port {MONGO_PORT}"
    )
    started = time.monotonic()

    def emulator() -> None:
        running = start_firestore_emulator(FIRESTORE_PORT, log_path=DEMO / "firestore.log")
        PIDS["firestore"].write_text(str(running.process.pid))

    def mongo() -> None:
        running = start_mongoeco(MONGO_PORT, log_path=DEMO / "mongo.log")
        PIDS["mongo"].write_text(str(running.process.pid))

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(emulator), pool.submit(mongo)]
            # Meanwhile, the clients' imports (seconds, on a busy machine).
            importlib.import_module("google.cloud.firestore")
            importlib.import_module("pymongo")
        for future in futures:
            future.result()
    except Exception:
        down(quiet=True)
        raise
    print(f"   both up in {time.monotonic() - started:.0f} s")


def is_seeded(client) -> bool:
    """Whether Firestore holds the sample (the documents a later run changes, at least)."""
    return (
        client.document(f"users/{CHANGED_USER}").get().exists
        and client.document(f"digital_twins/{CHANGED_TWIN}/conversations/{CHANGED_CONVERSATION}").get().exists
    )


def has_watermarks(database) -> bool:
    """Whether every collection has been migrated once (so the next run is incremental)."""
    from include.firestore_to_mongo.contract.specs import COLLECTION_NAMES
    from include.firestore_to_mongo.target.run_state import WATERMARKS

    stored = {found["_id"] for found in database[WATERMARKS].find({}, {"_id": 1})}
    return set(COLLECTION_NAMES) <= stored


# --- what each run should do ---------------------------------------------------------------


def first_run_expectation() -> dict[str, dict[str, int]]:
    """A full run inserts every document of the sample on a migrated path."""
    from devtools.sample_data import generate
    from include.firestore_to_mongo.contract.paths import ids_from_path
    from include.firestore_to_mongo.contract.specs import SPECS

    counts: Counter = Counter()
    for path, _ in generate():
        for spec in SPECS.values():
            if ids_from_path(path, spec.path_shape) is not None:
                counts[spec.name] += 1
    return {name: {"inserted": counts[name]} for name in SPECS}


@dataclass
class Changes:
    """What apply_changes did: lines for the terminal, and the figures the run must show."""

    lines: list[str] = field(default_factory=list)
    expected: dict[str, dict[str, int]] = field(default_factory=dict)


def apply_changes(client, now: datetime) -> Changes:
    """Change Firestore the way the app does between two runs: NEW_MESSAGES messages in one
    conversation, that conversation's updated_at and message_count, one user's username and
    last_login. All the new values are Firestore Timestamps of `now`, so an incremental run
    sees them."""
    conversation_path = f"digital_twins/{CHANGED_TWIN}/conversations/{CHANGED_CONVERSATION}"
    conversation_ref = client.document(conversation_path)
    user_ref = client.document(f"users/{CHANGED_USER}")
    conversation, user = conversation_ref.get(), user_ref.get()
    if not (conversation.exists and user.exists):
        raise RuntimeError(f"{conversation_path} or users/{CHANGED_USER} is missing: seed the sample first")
    count = (conversation.to_dict() or {}).get("message_count")
    new_count = (count if isinstance(count, int) else 0) + NEW_MESSAGES
    username = (user.to_dict() or {}).get("username")
    new_username = f"{CHANGED_USER}_name, edited {now:%Y-%m-%d %H:%M:%S}"
    stamp = now.strftime("%Y%m%dT%H%M%S")
    message_ids = [f"msg-{stamp}-{n}" for n in range(1, NEW_MESSAGES + 1)]

    batch = client.batch()
    for n, message_id in enumerate(message_ids):
        role = "user" if n % 2 == 0 else "assistant"
        batch.set(
            conversation_ref.collection("messages").document(message_id),
            {
                "role": role,
                "content": f"new message {n + 1} from the {role}",
                "timestamp": now + timedelta(milliseconds=n),
            },
        )
    batch.update(conversation_ref, {"updated_at": now, "message_count": new_count})
    batch.update(user_ref, {"username": new_username, "last_login": now})
    batch.commit()

    when = now.isoformat(timespec="seconds")
    return Changes(
        lines=[
            f"added {NEW_MESSAGES} messages {', '.join(message_ids)} to {conversation_path} (timestamp {when})",
            f"{conversation_path}: updated_at → {when}, message_count {count} → {new_count}",
            f"users/{CHANGED_USER}: username {username!r} → {new_username!r}, last_login → {when}",
        ],
        expected={
            "messages": {"inserted": NEW_MESSAGES},
            "conversations": {"updated": 1},
            "users": {"updated": 1},
        },
    )


def describe_expectation(expected: dict[str, dict[str, int]], incremental: bool, short: bool = False) -> str:
    figures = ", ".join(
        f"{name} {figure} {value:,}" for name, values in expected.items() for figure, value in values.items()
    )
    if short:
        return figures
    if incremental:
        return (
            f"an incremental run with {figures}; nothing else inserted, updated, failed or deleted "
            "(what the 10-minute look-back reads again is unchanged; users and digital_twins not "
            "changed since the watermark are skipped)"
        )
    return f"a full run (no watermark yet) with {figures}; nothing updated or failed"


def compare_with_expectation(rows: list[dict[str, Any]], expected: dict[str, dict[str, int]]) -> list[str]:
    """How the summary's rows differ from the expectation: every CHECKED_FIGURES figure of every
    collection is as expected (0 unless the expectation says otherwise). Empty: as expected."""
    surprises = []
    by_name = {row["collection"]: row for row in rows}
    for name in sorted(set(by_name) | set(expected)):
        row = by_name.get(name)
        if row is None:
            surprises.append(f"{name}: not in the summary")
            continue
        if row.get("status") != "ok":
            surprises.append(f"{name}: status {row.get('status')}")
        for figure in CHECKED_FIGURES:
            want = expected.get(name, {}).get(figure, 0)
            got = row.get(figure) or 0
            if got != want:
                surprises.append(f"{name}: {figure} {got:,}, expected {want:,}")
    return surprises


# --- running a DAG, with progress ------------------------------------------------------------

PROGRESS_LINE = re.compile(
    r"(?:^|\s)(?P<collection>\w+)(?:\[(?P<partition>\d+)\])?: (?P<kind>progress|done), "
    r"(?P<count>\d+) documents read, (?P<rate>\d+(?:\.\d+)?) docs/s, (?P<elapsed>\d+(?:\.\d+)?) s elapsed"
)
PARTITIONS_LINE = re.compile(r"(?:^|\s)(?P<collection>\w+): [^\[\]]*?\b(?P<count>\d+) partition\(s\) by")
TASK_LINE = re.compile(r"\[DAG TEST\] starting task_id=(?P<task>\S+) map_index=(?P<index>-?\d+)")


@dataclass(frozen=True)
class ProgressLine:
    """One `<label>: progress|done, N documents read, R docs/s, S s elapsed` log line."""

    collection: str
    partition: int | None
    done: bool
    count: int
    rate: float
    elapsed: float


def parse_progress(line: str) -> ProgressLine | None:
    found = PROGRESS_LINE.search(line)
    if not found:
        return None
    return ProgressLine(
        collection=found["collection"],
        partition=int(found["partition"]) if found["partition"] is not None else None,
        done=found["kind"] == "done",
        count=int(found["count"]),
        rate=float(found["rate"]),
        elapsed=float(found["elapsed"]),
    )


@dataclass
class CollectionProgress:
    """One collection's read so far, over its partitions (`airflow dags test` runs them one
    after the other; a partition's lines carry its own count and time)."""

    name: str
    partitions: int | None = None
    finished: int = 0
    finished_count: int = 0
    finished_seconds: float = 0.0
    # The rate of the latest line: what to show when the lines' times add up to 0.0 s.
    last_rate: float = 0.0
    # Partitions under way: partition index (None when the label has none) → (count, seconds).
    running: dict[int | None, tuple[int, float]] = field(default_factory=dict)

    def add(self, line: ProgressLine) -> None:
        self.last_rate = line.rate
        if line.done:
            self.running.pop(line.partition, None)
            self.finished += 1
            self.finished_count += line.count
            self.finished_seconds += line.elapsed
        else:
            self.running[line.partition] = (line.count, line.elapsed)

    @property
    def read(self) -> int:
        return self.finished_count + sum(count for count, _ in self.running.values())

    @property
    def rate(self) -> float:
        seconds = self.finished_seconds + sum(elapsed for _, elapsed in self.running.values())
        return self.read / seconds if seconds > 0 else self.last_rate

    def describe(self) -> str:
        figures = f"{self.read:,} documents read, {self.rate:,.1f} docs/s"
        if self.partitions is not None and self.finished >= self.partitions and not self.running:
            return f"{self.name}: done, {figures}"
        if self.partitions is not None and self.partitions > 1:
            return f"{self.name}: {figures}, {self.finished} of {self.partitions} partitions done"
        if self.running:
            return f"{self.name}: {figures}"
        return f"{self.name}: {figures}, {self.finished} partition(s) done"


class ProgressTracker:
    """Follows a DAG run's log: feed() it what the file grew by, report() what is new."""

    def __init__(self) -> None:
        self.collections: dict[str, CollectionProgress] = {}
        self.task: str | None = None
        self._partial = ""
        self._changed: list[str] = []

    def feed(self, text: str) -> None:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()  # an unfinished last line waits for the rest
        for line in lines:
            self._line(line)

    def _collection(self, name: str) -> CollectionProgress:
        return self.collections.setdefault(name, CollectionProgress(name))

    def _line(self, line: str) -> None:
        if task := TASK_LINE.search(line):
            index = int(task["index"])
            self.task = task["task"] + (f"[{index}]" if index >= 0 else "")
        elif progress := parse_progress(line):
            self._collection(progress.collection).add(progress)
            if progress.collection not in self._changed:
                self._changed.append(progress.collection)
        elif partitions := PARTITIONS_LINE.search(line):
            self._collection(partitions["collection"]).partitions = int(partitions["count"])

    def report(self) -> list[str]:
        """A line per collection that read something since the last report; none if nothing did."""
        lines = [self.collections[name].describe() for name in self._changed]
        self._changed = []
        return lines


def run_dag(airflow: AirflowRunner, dag_id: str, log_name: str) -> tuple[int, dict | None]:
    """`airflow dags test <dag_id>`, printing the collections' progress from its log every few
    seconds; its exit code and the figures of its summary task."""
    step(f"Running airflow dags test {dag_id} (log: .demo/{log_name})")
    started = time.monotonic()
    log_path = DEMO / log_name
    log_path.write_text("")
    tracker = ProgressTracker()
    with open(log_path, errors="replace") as follow:
        airflow.send(
            {"argv": ["dags", "test", dag_id, "--conf", DAG_CONF], "log": str(log_path), "summary": dag_id}
        )
        next_report = started + REPORT_EVERY_SECONDS
        while (reply := airflow.reply(timeout=0.25)) is None:
            tracker.feed(follow.read())
            if time.monotonic() >= next_report:
                next_report += REPORT_EVERY_SECONDS
                _print_progress(tracker, started)
        tracker.feed(follow.read() + "\n")
        _print_progress(tracker, started, final=True)
    code = reply["exit"]
    print(f"   finished in {time.monotonic() - started:.0f} s, exit code {code}", flush=True)
    if code:
        print(tail(log_path))
    return code, reply.get("summary")


def _print_progress(tracker: ProgressTracker, started: float, final: bool = False) -> None:
    elapsed = f"[{time.monotonic() - started:3.0f} s]"
    lines = tracker.report()
    if not lines and not final:
        lines = [f"still running{f' (task {tracker.task})' if tracker.task else ''}"]
    for line in lines:
        print(f"   {elapsed} {line}", flush=True)


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def print_summary(dag_id: str, figures: dict[str, Any] | None) -> list[dict[str, Any]] | None:
    """Print a DAG's summary as its summary task logs it; return its rows."""
    from include.firestore_to_mongo.migrate.report import render_summary
    from include.firestore_to_mongo.verify.report import render_verify_summary

    if not figures:
        print(f"\nNo summary of {dag_id} was recorded; see its log under .demo/")
        return None
    rows = list(figures["collections"].values())
    if dag_id == "firestore_to_mongo":
        text = render_summary("Firestore → MongoDB summary", rows)
    else:
        text = render_verify_summary("Verify: MongoDB against Firestore", rows)
    print(f"\n{text}\n")
    return rows


# --- the Airflow process -------------------------------------------------------------------
# Importing Airflow takes 5-10 s, and the first task of an `airflow dags test` waits ~5 s more
# while the API its tasks talk to builds its routes: as long as the demo's DAG runs themselves,
# twice over with one `airflow dags test` process per DAG. So one process,
# `python -m devtools.demo _airflow`, imports Airflow, runs `airflow db migrate` the first time
# and sets that API up while the servers start and Firestore is seeded; then it runs Airflow's
# own command line, `airflow dags test <dag>`, for each DAG in turn, each one's output in its
# own log file. The demo sends it one JSON command a line on its stdin; it answers each with
# one JSON line on its stdout.


class DemoError(RuntimeError):
    """What stops the demo, said in a sentence rather than a traceback."""


class AirflowError(DemoError):
    pass


class AirflowRunner:
    """The demo's end: start the process, send it commands, read its answers."""

    def __init__(self, env: dict[str, str], migrate: bool) -> None:
        self.log_path = DEMO / "airflow.log"
        command = [sys.executable, "-m", "devtools.demo", "_airflow", *(["--migrate"] if migrate else [])]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                cwd=ROOT,
            )
        self._replies: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read, name="airflow-replies", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with contextlib.suppress(ValueError):
                self._replies.put(json.loads(line))
        self._replies.put(None)  # the process is gone

    def _check(self, reply: dict | None) -> dict:
        if reply is None or reply.get("error"):
            why = reply["error"] if reply else f"exited with {self.process.wait()}"
            raise AirflowError(f"the Airflow process {why}; see .demo/airflow.log:\n{tail(self.log_path)}")
        return reply

    def wait_ready(self) -> None:
        waited = time.monotonic()
        try:
            reply = self._replies.get(timeout=0.1)
        except queue.Empty:
            step("Waiting for Airflow to be ready")
            reply = self._replies.get()
            print(f"   ready after {time.monotonic() - waited:.0f} s more", flush=True)
        self._check(reply)

    def send(self, command: dict[str, Any]) -> None:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def reply(self, timeout: float) -> dict | None:
        """The answer to the last command, or None when it hasn't come within `timeout`."""
        try:
            return self._check(self._replies.get(timeout=timeout))
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop the process: nothing of it outlives its commands (each one committed its work)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def serve_airflow(migrate: bool) -> int:
    """The Airflow process: see above."""
    # Answers go to the real stdout; anything else printed to stdout joins stderr (.demo/airflow.log).
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def answer(reply: dict[str, Any]) -> None:
        answers.write(json.dumps(reply, default=str) + "\n")

    started = time.monotonic()
    from airflow.__main__ import main as airflow_main

    print(f"Airflow imported in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    # The first time, a fork of this process (Airflow imported already) creates the metadata
    # database while this one warms up: on two cores, that is seconds off the first run.
    migrating = os.fork() if migrate else None
    if migrating == 0:
        os._exit(_airflow_command(airflow_main, ["db", "migrate"], DEMO / "airflow-db.log"))
    _warm_up()
    if migrating is not None:
        if os.waitstatus_to_exitcode(os.waitpid(migrating, 0)[1]) != 0:
            answer({"error": "could not create its metadata database (see .demo/airflow-db.log)"})
            return 1
        print("metadata database created (.demo/airflow-db.log)", file=sys.stderr, flush=True)
    print(f"ready in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    answer({"ready": True})
    for line in sys.stdin:
        command = json.loads(line)
        code = _airflow_command(airflow_main, command["argv"], Path(command["log"]))
        answer(
            {"exit": code, "summary": latest_summary(command["summary"]) if command.get("summary") else None}
        )
    return 0


def _airflow_command(airflow_main, argv: list[str], log_path: Path) -> int:
    """Run `airflow <argv>` (Airflow's own command line) with its output in `log_path`."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        sys.argv = ["airflow", *argv]
        try:
            airflow_main()
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
            if isinstance(exit.code, str):
                print(exit.code, file=sys.stderr)
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
    return code


def _warm_up() -> None:
    """Import what `airflow dags test` and the DAGs' tasks import, and set up the in-process
    API the tasks talk to (its routes are built on the first request)."""
    for module in (
        "airflow.cli.commands.dag_command",
        "google.cloud.firestore",
        "pymongo",
        "include.firestore_to_mongo.migrate.partition",
        "include.firestore_to_mongo.verify.partition",
    ):
        importlib.import_module(module)

    try:
        import httpx
        from airflow.sdk.execution_time.supervisor import in_process_api_server

        transport = in_process_api_server().transport
        with httpx.Client(transport=transport, base_url="http://in-process.invalid.") as client:
            client.get("/execution/health")
    except Exception as error:  # only slower without it
        print(f"could not set up the in-process API ahead: {error!r}", file=sys.stderr)


def latest_summary(dag_id: str) -> dict[str, Any] | None:
    """The value of the DAG's latest `summary` XCom."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_id, XComModel.task_id == "summary")
            .order_by(XComModel.timestamp.desc())
            .first()
        )
        return row.value if row else None


# --- down ----------------------------------------------------------------------------------


def running_servers() -> dict[str, int]:
    """The demo's servers that are up: name → pid, for each pid file whose process is alive,
    is that server, and whose port answers."""
    running = {}
    for name, pid_file in PIDS.items():
        pid = _read_pid(pid_file)
        if pid is not None and _is_demo_server(name, pid) and _port_answers(PORTS[name]):
            running[name] = pid
    return running


def down(quiet: bool = False) -> None:
    stopped = False
    for name, pid_file in PIDS.items():
        pid = _read_pid(pid_file)
        if pid is not None and _is_demo_server(name, pid):
            try:
                os.killpg(pid, signal.SIGTERM)
                _wait_gone(pid)
                stopped = True
                if not quiet:
                    print(f"stopped {SERVER_NAMES[name]} (process group {pid})")
            except ProcessLookupError:
                pass
        pid_file.unlink(missing_ok=True)
    if not quiet and not stopped:
        print("no demo server was running")


def _read_pid(pid_file: Path) -> int | None:
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _is_demo_server(name: str, pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    command = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True).stdout
    # A mongoeco of the demo's earlier versions runs the SQLite engine: start it anew.
    return COMMAND_MARKERS[name] in command and "--sqlite" not in command


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _wait_gone(pid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


# --- query ---------------------------------------------------------------------------------


def query(collection: str | None = None) -> int:
    import pymongo
    from pymongo.errors import ConnectionFailure

    client = pymongo.MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=3_000)
    try:
        client.admin.command("ping")
    except ConnectionFailure:
        print(f"Nothing answers on 127.0.0.1:{MONGO_PORT}: the demo's MongoDB is not running (`make demo`).")
        return 1
    try:
        print(describe_database(client[DATABASE], collection))
    finally:
        client.close()
    return 0


def describe_database(database, collection: str | None = None) -> str:
    """Document counts per collection of `database` (or of `collection` alone), then each
    one's newest document (highest _id) as JSON, dates in ISO 8601."""
    names = sorted(database.list_collection_names(), key=lambda name: (name.startswith("_"), name))
    if collection is not None:
        if collection not in names:
            return f"Database '{database.name}' has no collection {collection!r}; it has: {', '.join(names) or 'none'}"
        names = [collection]
    if not names:
        return f"Database '{database.name}' is empty."
    counts = {name: database[name].count_documents({}) for name in names}
    width = max(len(name) for name in names)
    out = [f"Database '{database.name}'", "", f"{'collection'.ljust(width)}  documents"]
    for name in names:
        note = "  (the DAGs' own bookkeeping)" if name.startswith("_") else ""
        out.append(f"{name.ljust(width)}  {counts[name]:>9,}{note}")
    # Samples of the data; the bookkeeping collections only when asked for by name.
    for name in [name for name in names if collection is not None or not name.startswith("_")]:
        newest = database[name].find_one(sort=[("_id", -1)])
        out += ["", f"{name}: newest document (highest _id)"]
        out.append(to_json(newest) if newest is not None else "(empty)")
    return "\n".join(out)


def to_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=_json_value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)  # ObjectId, Decimal128, ...


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "up"
    if command == "up":
        try:
            return up()
        except DemoError as error:
            print(f"make demo stopped: {error}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
    if command == "down":
        down()
        return 0
    if command == "_airflow":
        return serve_airflow(migrate="--migrate" in argv[1:])
    if command == "query" and len(argv) <= 2:
        return query(argv[1] if len(argv) == 2 and argv[1] else None)
    sys.exit(f"usage: python -m devtools.demo [up | down | query [collection]], not {' '.join(argv)!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
