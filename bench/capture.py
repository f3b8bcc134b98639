"""`make bench-capture`: change capture's lag, and the cut-over's freeze at two sizes.

    PYTHONPATH=. .venv/bin/python -m bench capture     # BENCH_CAPTURE_*, BENCH_CUTOVER_*, BENCH_*_RTT_MS

1. Lag: seed BENCH_CAPTURE_N messages, run a full migration (`airflow dags test`), start
   capture (`CaptureSession`, in a thread of this process) and wait until it has caught up;
   then write app-like changes (new messages, edits of `content` without a cursor bump, user
   edits, deletes) at BENCH_CAPTURE_RATE per second for BENCH_CAPTURE_SECONDS, and wait until
   capture has caught up with the last one. Lag three ways: the session's own figures, the
   change journal's `written_at` against each write's commit time, and this process polling
   MongoDB (directly, every 0.1 s) for each write's effect.
2. Cut-over, at each of BENCH_CUTOVER_SIZES: seed, full migration, capture (continuous, in a
   thread), full verify (DAG), BENCH_CUTOVER_CHANGES changes spread over
   BENCH_CUTOVER_SECONDS, then the cut-over DAG: its verdict XCom's `freeze_seconds`.

Capture, the app's writes and the DAGs reach Firestore and MongoDB through the latency
proxies (BENCH_FIRESTORE_RTT_MS, BENCH_MONGO_RTT_MS), as in `make bench`; seeding, setting up
and the bench's own observation (checkpoint, journal, polling) go direct.

On the Firestore emulator every change to a listened query is answered with RESET, the
query's whole result set again, and CURRENT: each change costs a resend of the changed
collection's set (about N documents for a message), where real Firestore sends only the
changed document. Hence the modest N.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import data
from bench.product import MIGRATE_DAG_ID, VERIFY_DAG_ID, read_xcom
from bench.run import (
    DEFAULT_FIRESTORE_RTT_MS,
    DEFAULT_MONGO_RTT_MS,
    PROJECT,
    ROOT,
    WORK,
    Bench,
    _env_int,
    _env_rtt,
    _partitions,
    print_machine,
)
from include.firestore_to_mongo.capture.figures import percentile

CUTOVER_DAG_ID = "firestore_to_mongo_cutover"

DEFAULT_CAPTURE_N = 3_000
DEFAULT_CAPTURE_SECONDS = 60
DEFAULT_CAPTURE_RATE = 2.0
DEFAULT_CUTOVER_SIZES = (3_000, 30_000)
DEFAULT_CUTOVER_CHANGES = 50
DEFAULT_CUTOVER_SECONDS = 60

TARGET_LAG_P95 = 10.0
TARGET_FREEZE = 60.0
TARGET_FREEZE_RATIO = 1.5

# Only guards against a hang: every wait ends as soon as its condition holds.
GUARD_SECONDS = 900
POLL_SECONDS = 0.1

# The app's changes: kind → weight.
MIX = (("new message", 4), ("edit message", 3), ("edit user", 1.5), ("delete message", 1.5))
MESSAGES_TARGET = "avatar_conversations"


# Pure helpers (tests/bench/test_capture.py) ---------------------------------------------


def lag_stats(values: list[float]) -> dict[str, float | None]:
    return {
        "count": len(values),
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else None,
    }


def change_kinds(count: int, seed: int = 17) -> list[str]:
    """`count` kinds of change drawn from MIX, deterministically."""
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    return rng.choices(kinds, weights=weights, k=count)


def parse_sizes(text: str) -> tuple[int, ...]:
    """BENCH_CUTOVER_SIZES: "3000,30000" (underscores and spaces allowed)."""
    sizes = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            number = int(part.replace("_", ""))
        except ValueError:
            raise ValueError(f"not a number: {part!r}") from None
        if number <= 0:
            raise ValueError(f"sizes must be positive, not {number}")
        sizes.append(number)
    if not sizes:
        raise ValueError("no sizes")
    return tuple(sizes)


def message_key(path: str) -> dict[str, str]:
    """The MongoDB key of the message at `path` (digital_twins/t/conversations/c/messages/m)."""
    parts = path.split("/")
    return {"digital_twin_id": parts[1], "conversation_id": parts[3], "message_id": parts[5]}


def user_version(username: str | None) -> int:
    """The bench's edit number in a username it wrote ("user003 #17" → 17; else -1)."""
    if not username or "#" not in username:
        return -1
    try:
        return int(username.rsplit("#", 1)[1])
    except ValueError:
        return -1


def lag_trend(third_p50s: list[float | None]) -> str:
    """Whether the lag held steady over the write window or kept growing (capture falling
    behind), from the p50 lag of the writes of each third of the window."""
    first, last = third_p50s[0], third_p50s[-1]
    if first is None or last is None:
        return "unknown (no lag measured)"
    shown = " → ".join(_num(value) for value in third_p50s)
    if last > 2 * first + 1.0:
        return (
            f"growing (p50 by third of the window {shown} s): capture fell further behind as the writes "
            "went on, so its p95 grows with the window's length"
        )
    return f"steady (p50 by third of the window {shown} s)"


def fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


# Settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    capture_n: int
    capture_seconds: int
    capture_rate: float
    cutover_sizes: tuple[int, ...]
    cutover_changes: int
    cutover_seconds: float
    only: str  # "", "lag" or "cutover"

    @classmethod
    def from_environment(cls) -> Settings:
        try:
            sizes = parse_sizes(os.environ.get("BENCH_CUTOVER_SIZES", "") or "3000,30000")
        except ValueError as error:
            sys.exit(f"BENCH_CUTOVER_SIZES must be positive integers separated by commas: {error}")
        only = os.environ.get("BENCH_CAPTURE_ONLY", "").strip().lower()
        if only not in ("", "lag", "cutover"):
            sys.exit(f"BENCH_CAPTURE_ONLY must be lag or cutover, not {only!r}")
        return cls(
            capture_n=_env_int("BENCH_CAPTURE_N", DEFAULT_CAPTURE_N),
            capture_seconds=_env_int("BENCH_CAPTURE_SECONDS", DEFAULT_CAPTURE_SECONDS),
            capture_rate=_env_float("BENCH_CAPTURE_RATE", DEFAULT_CAPTURE_RATE),
            cutover_sizes=sizes,
            cutover_changes=_env_int("BENCH_CUTOVER_CHANGES", DEFAULT_CUTOVER_CHANGES),
            cutover_seconds=_env_float("BENCH_CUTOVER_SECONDS", DEFAULT_CUTOVER_SECONDS, zero_ok=True),
            only=only,
        )


def _env_float(name: str, default: float, zero_ok: bool = False) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not (number > 0 or (zero_ok and number == 0)) or number == float("inf"):
        sys.exit(f"{name} must be a positive number, not {value!r}")
    return number


# Capture in a thread --------------------------------------------------------------------


class CaptureThread:
    """Capture sessions one after the other in a thread, as the continuous schedule runs
    them (a session that ends is followed by the next), until stop()."""

    def __init__(self, client, database, label: str) -> None:
        from include.firestore_to_mongo.capture.session import CaptureSession, SessionSettings

        self.database = database
        self.stop_event = threading.Event()
        self.sessions: list = []
        self.results: list[dict] = []
        self.error: BaseException | None = None

        def next_session():
            session = CaptureSession(
                client,
                database,
                f"bench/{label}/{len(self.sessions) + 1}",
                SessionSettings(run_seconds=3_600, retention_days=7),
                dag_id="bench",
                stop=self.stop_event,
            )
            self.sessions.append(session)
            return session

        self._next_session = next_session
        self.thread = threading.Thread(target=self._run, name=f"capture-{label}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self.results.append(self._next_session().run())
        except BaseException as error:
            self.error = error

    # What the sessions counted, added up.
    def documents(self) -> int:
        return sum(session.figures.documents for session in list(self.sessions))

    def resets(self) -> int:
        return sum(session.figures.resets for session in list(self.sessions))

    def lag_mark(self) -> tuple[int, dict[str, int]]:
        """Where the lag samples stand now (lags_since() returns those added after)."""
        session = self.sessions[-1]
        return len(self.sessions) - 1, {
            name: len(figures.lags) for name, figures in session.figures.collections.items()
        }

    def lags_since(self, mark: tuple[int, dict[str, int]]) -> dict[str, list[float]]:
        index, lengths = mark
        found: dict[str, list[float]] = {}
        for number, session in enumerate(list(self.sessions)[index:]):
            for name, figures in session.figures.collections.items():
                values = list(figures.lags)
                found.setdefault(name, []).extend(values[lengths.get(name, 0) :] if number == 0 else values)
        return found

    def caught_up(self, commit: datetime, checkpoints) -> float:
        """Wait until the checkpoint (read on `checkpoints`, a direct CaptureState) reaches
        `commit`; return the seconds waited."""
        started = time.monotonic()
        while True:
            checkpoint = checkpoints.checkpoint()
            if checkpoint is not None and checkpoint >= commit:
                return time.monotonic() - started
            if not self.thread.is_alive():
                raise RuntimeError(f"capture ended before it caught up: {self.error or self.results[-1:]}")
            if time.monotonic() - started > GUARD_SECONDS:
                raise RuntimeError(
                    f"capture did not catch up with {commit.isoformat()} in {GUARD_SECONDS} s "
                    f"(checkpoint {checkpoint})"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(120)
        if self.thread.is_alive():
            print("WARNING: capture did not stop within 120 s")


@contextlib.contextmanager
def capture_log(label: str):
    """The product's log lines (capture's, in this process) go to .bench/capture-<label>.log."""
    path = WORK / f"capture-{label}.log"
    path.write_text("")
    # Appending: Airflow's logging set-up (on its first import, by the first DAG run's
    # read-back) closes every handler, and a closed handler in "w" mode would not reopen.
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s"))
    logger = logging.getLogger("include")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        handler.close()


# The app's writes ------------------------------------------------------------------------


@dataclass
class Write:
    seq: int
    kind: str
    collection: str  # capture's collection name
    path: str
    target: str  # the MongoDB collection
    key: dict[str, str]
    # Whether a MongoDB document (None: absent) shows this write (or a later one) applied.
    shows: Callable[[dict | None], bool]
    commit: datetime | None = None
    seen_at: datetime | None = None  # when polling MongoDB first showed it
    journaled_at: datetime | None = None  # the change journal's written_at for it


class App:
    """Writes app-like changes through `client` (the Firestore latency proxy): new messages,
    edits of `content` (no cursor bump), user edits, deletes. Each message edited or deleted
    is a seeded one nobody touched before."""

    def __init__(self, client, n: int, seed: int = 23) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.untouched = [path for path, _ in data.messages(n)]
        self.rng.shuffle(self.untouched)
        self.new = 0
        self.messages = n
        self.seq = 0

    def write(self, kind: str) -> Write:
        from google.cloud import firestore

        self.seq += 1
        seq = self.seq
        if kind == "new message":
            self.new += 1
            conversation = self.rng.randrange(data.CONVERSATIONS)
            path = f"{data.conversation_path(conversation)}/messages/bench{seq:06d}"
            content = f"New message {seq}: " + " ".join(self.rng.choices(data.WORDS, k=25))
            write = self._message(
                seq, kind, path, lambda doc: doc is not None and doc.get("message") == content
            )
            result = self.client.document(path).set(
                {"role": "user", "content": content, "timestamp": firestore.SERVER_TIMESTAMP}
            )
            self.messages += 1
        elif kind == "edit message":
            path = self.untouched.pop()
            content = f"Edited {seq}: " + " ".join(self.rng.choices(data.WORDS, k=25))
            write = self._message(
                seq, kind, path, lambda doc: doc is not None and doc.get("message") == content
            )
            result = self.client.document(path).update({"content": content})
        elif kind == "delete message":
            path = self.untouched.pop()
            write = self._message(seq, kind, path, lambda doc: doc is None)
            result = self.client.document(path).delete()
            self.messages -= 1
        elif kind == "edit user":
            user = f"user{self.rng.randrange(data.USERS):03d}"
            path = f"users/{user}"
            write = Write(
                seq,
                kind,
                "users",
                path,
                "users",
                {"user_id": user},
                lambda doc: doc is not None and user_version(doc.get("username")) >= seq,
            )
            result = self.client.document(path).update(
                {
                    "username": f"{user} #{seq}",
                    "last_login": firestore.SERVER_TIMESTAMP,
                    "currently_logged_in": True,
                }
            )
        else:
            raise ValueError(kind)
        write.commit = commit_time(result)
        return write

    @staticmethod
    def _message(seq: int, kind: str, path: str, shows) -> Write:
        return Write(seq, kind, "messages", path, MESSAGES_TARGET, message_key(path), shows)


def commit_time(result) -> datetime:
    """A write's commit time (a WriteResult's update_time, or the Timestamp a delete returns)."""
    value = getattr(result, "update_time", result)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value.timestamp(), UTC)


def write_steadily(app: App, kinds: list[str], seconds: float, on_write=None) -> tuple[list[Write], float]:
    """The writes of `kinds`, one every seconds/len(kinds) (all at once for 0 s); returns
    them and the seconds they took."""
    interval = seconds / len(kinds) if kinds else 0.0
    started = time.monotonic()
    writes = []
    for index, kind in enumerate(kinds):
        delay = started + index * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        write = app.write(kind)
        writes.append(write)
        if on_write is not None:
            on_write(write)
    return writes, time.monotonic() - started


class Watcher:
    """Polls MongoDB (a direct client, no latency proxy) every POLL_SECONDS for the writes
    not seen yet, one `find` per MongoDB collection per round, and stamps each with the
    moment the answer showing it came back."""

    def __init__(self, database) -> None:
        self.database = database
        self.pending: list[Write] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)
        self.thread.start()

    def add(self, write: Write) -> None:
        with self.lock:
            self.pending.append(write)

    def _run(self) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            with self.lock:
                pending = list(self.pending)
            by_target: dict[str, list[Write]] = {}
            for write in pending:
                by_target.setdefault(write.target, []).append(write)
            done = set()
            for target, writes in by_target.items():
                fields = list(writes[0].key)
                keys = [dict(t) for t in {tuple(sorted(write.key.items())) for write in writes}]
                found = {
                    tuple(doc[name] for name in fields): doc
                    for doc in self.database[target].find(
                        {"$or": keys}, {"_id": 0, **{name: 1 for name in fields}, "message": 1, "username": 1}
                    )
                }
                now = datetime.now(UTC)
                for write in writes:
                    if write.shows(found.get(tuple(write.key[name] for name in fields))):
                        write.seen_at = now
                        done.add(id(write))
            with self.lock:
                self.pending = [write for write in self.pending if id(write) not in done]
            self.rounds += 1
            self.stop_event.wait(max(0.0, POLL_SECONDS - (time.monotonic() - started)))

    def wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.pending:
                    return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)


def journal_times(database, writes: list[Write]) -> None:
    """Each write's `written_at` in capture's change journal: for a create or an update, the
    first entry of its path inserted or updated at its version or a later one; for a delete,
    the first deleted entry after its commit."""
    from include.firestore_to_mongo.target.change_journal import CHANGES, DELETED, INSERTED, UPDATED

    entries: dict[str, list[dict]] = {}
    for entry in database[CHANGES].find(
        {
            "path": {"$in": sorted({write.path for write in writes})},
            "outcome": {"$in": [INSERTED, UPDATED, DELETED]},
        },
        {"_id": 0, "path": 1, "outcome": 1, "update_time": 1, "written_at": 1},
    ):
        entries.setdefault(entry["path"], []).append(entry)
    slack = timedelta(milliseconds=1)  # MongoDB keeps milliseconds
    for write in writes:
        candidates = []
        for entry in entries.get(write.path, []):
            written = _utc(entry["written_at"])
            if write.kind == "delete message":
                if entry["outcome"] == DELETED and written + slack >= write.commit:
                    candidates.append(written)
            elif (
                entry["outcome"] != DELETED
                and entry.get("update_time") is not None
                and _utc(entry["update_time"]) + slack >= write.commit
            ):
                candidates.append(written)
        write.journaled_at = min(candidates) if candidates else None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def lags(writes: Iterable[Write], attribute: str) -> list[float]:
    return [
        max(0.0, (getattr(write, attribute) - write.commit).total_seconds())
        for write in writes
        if getattr(write, attribute) is not None
    ]


# The run ---------------------------------------------------------------------------------


@dataclass
class Results:
    lag: dict[str, dict] = field(default_factory=dict)  # method → lag_stats
    freeze: dict[int, float | None] = field(default_factory=dict)  # size → freeze_seconds
    verdicts: dict[int, str] = field(default_factory=dict)
    documents_per_change: float | None = None
    resets_per_change: float | None = None
    lag_trend: str | None = None
    ok: bool = True

    def warn(self, text: str) -> None:
        print(f"WARNING: {text}", flush=True)
        self.ok = False


class CaptureBench:
    def __init__(self, bench: Bench, settings: Settings, stack: contextlib.ExitStack) -> None:
        self.bench = bench
        self.settings = settings
        self.stack = stack
        self.results = Results()

    # Setting up a size: seed, migrate, capture.
    def prepare(self, n: int, label: str) -> tuple[str, datetime]:
        """A wiped emulator seeded with `n` messages, and a fresh database the full migration
        wrote them into; returns its name and a time after the seeding."""
        bench = self.bench
        bench.emulator.wipe(PROJECT)
        started = time.monotonic()
        count = data.seed(bench.firestore_direct, n)
        seeded_at = datetime.now(UTC)
        step(f"seeded {count:,} documents ({n:,} messages), direct", time.monotonic() - started)
        database = bench.fresh_database(label).name
        conf = migrate_conf(bench.partitions)
        run, m = bench.dag_run(MIGRATE_DAG_ID, conf, database, f"{label}-migrate")
        step(f"full migration (airflow dags test {MIGRATE_DAG_ID}, {json.dumps(conf)})", m.seconds, m.cpu)
        if not bench.check_product(run, database, n):
            self.results.ok = False
        self.check_collections(run, ("ok",))
        return database, seeded_at

    def check_collections(self, run, good: tuple[str, ...]) -> bool:
        problems = []
        if run.returncode != 0:
            problems.append(f"airflow dags test {run.dag_id} exited with {run.returncode}")
        for name, row in (run.collections or {}).items():
            if row.get("status") not in (None, *good):
                problems.append(f"{run.dag_id}: {name} ended {row.get('status')!r}")
        for problem in problems:
            self.results.warn(f"{problem} (log: {run.log_path})")
        return not problems

    def start_capture(self, database: str, label: str, seeded_at: datetime) -> CaptureThread:
        from include.firestore_to_mongo.target.capture_state import CaptureState

        capture = CaptureThread(self.bench.firestore, self.bench.mongo_net[database], label)
        self.stack.callback(capture.stop)
        with self.bench.cpu.phase() as cpu:
            waited = capture.caught_up(seeded_at, CaptureState(self.bench.mongo[database]))
        step(
            f"capture started, caught up with the seeded set ({capture.documents():,} documents received, "
            f"{capture.resets():,} resets)",
            waited,
            cpu,
        )
        return capture

    # 1. Lag.
    def lag(self) -> None:
        from include.firestore_to_mongo.target.capture_state import CaptureState

        settings, bench = self.settings, self.bench
        n = settings.capture_n
        count = max(1, round(settings.capture_seconds * settings.capture_rate))
        print()
        print(
            f"== lag: N = {n:,} messages (BENCH_CAPTURE_N); {count} changes at {settings.capture_rate:g}/s for "
            f"{settings.capture_seconds} s (BENCH_CAPTURE_RATE, BENCH_CAPTURE_SECONDS)"
        )
        with capture_log("lag") as log_path:
            database, seeded_at = self.prepare(n, "capture_lag")
            capture = self.start_capture(database, "lag", seeded_at)
            watcher = Watcher(bench.mongo[database])
            try:
                documents0, resets0, mark = capture.documents(), capture.resets(), capture.lag_mark()
                app = App(bench.firestore, n)
                kinds = change_kinds(count)
                with bench.cpu.phase() as cpu:
                    writes, seconds = write_steadily(app, kinds, settings.capture_seconds, watcher.add)
                mix = ", ".join(f"{kinds.count(kind)} {kind}" for kind, _ in MIX)
                step(f"{len(writes)} changes written through the proxy ({mix})", seconds, cpu)
                last = max(write.commit for write in writes)
                with bench.cpu.phase() as cpu:
                    waited = capture.caught_up(last, CaptureState(bench.mongo[database]))
                step("after the last write, capture's checkpoint reached its commit time", waited, cpu)
                if not watcher.wait_all(60):
                    self.results.warn(
                        "polling MongoDB did not see every write within 60 s after capture caught up"
                    )
                documents, resets = capture.documents() - documents0, capture.resets() - resets0
                session_lags = capture.lags_since(mark)
            finally:
                watcher.stop()
                capture.stop()
            if capture.error is not None:
                self.results.warn(f"capture failed: {capture.error!r}")
            journal_times(bench.mongo[database], writes)
        by_method = {
            "capture's session figures (update_time → write done; creates and updates)": lag_stats(
                [value for values in session_lags.values() for value in values]
            ),
            "change journal (commit → written_at; every change)": lag_stats(lags(writes, "journaled_at")),
            "MongoDB polled every 0.1 s (commit → first seen; every change)": lag_stats(
                lags(writes, "seen_at")
            ),
        }
        self.results.lag = by_method
        print()
        print(f"{'lag, seconds':<76}{'count':>6}{'p50':>8}{'p95':>8}{'max':>8}")
        for method, stats in by_method.items():
            print(
                f"{method:<76}{stats['count']:>6}{_num(stats['p50']):>8}{_num(stats['p95']):>8}{_num(stats['max']):>8}"
            )
        for kind, _ in MIX:
            chosen = [write for write in writes if write.kind == kind]
            polled = lag_stats(lags(chosen, "seen_at"))
            print(
                f"{'  polled, ' + kind:<76}{polled['count']:>6}{_num(polled['p50']):>8}"
                f"{_num(polled['p95']):>8}{_num(polled['max']):>8}"
            )
        # Whether capture kept up (a steady lag) or fell further behind as the writes went on.
        third_p50s = []
        for number in range(3):
            third = writes[number * len(writes) // 3 : (number + 1) * len(writes) // 3]
            polled = lag_stats(lags(third, "seen_at"))
            third_p50s.append(polled["p50"])
            label = f"  polled, the window's third {number + 1}/3"
            print(
                f"{label:<76}{polled['count']:>6}{_num(polled['p50']):>8}"
                f"{_num(polled['p95']):>8}{_num(polled['max']):>8}"
            )
        missing = [write for write in writes if write.journaled_at is None]
        if missing:
            self.results.warn(
                f"{len(missing)} writes have no journal entry, e.g. {missing[0].kind} {missing[0].path}"
            )
        # What each change would cost if it resent its collection's whole set (emulator).
        set_sizes = [
            app_messages_at(writes, n, write) if write.collection == "messages" else data.USERS
            for write in writes
        ]
        expected = sum(set_sizes) / len(set_sizes)
        print()
        print(
            f"Firestore documents received: {documents:,} for {len(writes)} changes = {documents / len(writes):,.0f} "
            f"per change; resets {resets:,} ({resets / len(writes):.2f} per change)"
        )
        print(
            f"  (emulator: each change resends the changed collection's whole set; those sets averaged "
            f"{expected:,.0f} documents over these changes. Real Firestore sends about 1 per change.)"
        )
        intake = documents / (seconds + waited) if seconds + waited > 0 else 0.0
        demand = len(writes) / seconds * expected if seconds > 0 else 0.0
        print(
            f"capture took in {intake:,.0f} documents/s from the first change until it caught up; the changes "
            f"asked for about {demand:,.0f}/s ({len(writes) / seconds:.2f} changes/s × {expected:,.0f} per change)"
        )
        self.results.lag_trend = lag_trend(third_p50s)
        print(f"lag over the window: {self.results.lag_trend}")
        print(f"capture log: {log_path}")
        self.results.documents_per_change = documents / len(writes)
        self.results.resets_per_change = resets / len(writes)

    # 2. Cut-over.
    def cutover(self, n: int) -> None:
        settings = self.settings
        label = f"cutover_{n}"
        print()
        print(
            f"== cut-over: N = {n:,} messages; {settings.cutover_changes} changes over "
            f"{settings.cutover_seconds:g} s before it (BENCH_CUTOVER_CHANGES, BENCH_CUTOVER_SECONDS)"
        )
        with capture_log(label) as log_path:
            database, seeded_at = self.prepare(n, label)
            capture = self.start_capture(database, label, seeded_at)
            try:
                run, verdict = self._cutover_with_capture(capture, n, database, label, seeded_at)
            finally:
                capture.stop()
            if capture.error is not None:
                self.results.warn(f"capture failed: {capture.error!r}")
        freeze = verdict.get("freeze_seconds")
        print(f"capture log: {log_path}; cut-over log: {run.log_path}")
        self.results.freeze[n] = freeze
        self.results.verdicts[n] = verdict.get("verdict") or "no verdict"
        if verdict.get("verdict") != "safe_to_switch":
            self.results.warn(
                f"the cut-over at N={n:,} said {verdict.get('verdict')!r}, not safe_to_switch: "
                f"{verdict.get('reasons')} (log: {run.log_path})"
            )

    def _cutover_with_capture(
        self, capture: CaptureThread, n: int, database: str, label: str, seeded_at: datetime
    ) -> tuple[Any, dict]:
        """The full verify, the last minute's changes, and the cut-over DAG: its run and verdict."""
        from include.firestore_to_mongo.target.capture_state import CaptureState

        settings, bench = self.settings, self.bench
        conf = verify_conf(bench.partitions)
        run, m = bench.dag_run(VERIFY_DAG_ID, conf, database, f"{label}-verify")
        statuses = {name: row.get("status") for name, row in (run.collections or {}).items()}
        step(
            f"full verify (airflow dags test {VERIFY_DAG_ID}, {json.dumps(conf)}): {statuses}",
            m.seconds,
            m.cpu,
        )
        self.check_collections(run, ("verified", "changing"))
        documents0, resets0 = capture.documents(), capture.resets()
        app = App(bench.firestore, n)
        kinds = change_kinds(settings.cutover_changes, seed=29)
        with bench.cpu.phase() as cpu:
            writes, seconds = write_steadily(app, kinds, settings.cutover_seconds)
        mix = ", ".join(f"{kinds.count(kind)} {kind}" for kind, _ in MIX)
        step(f"{len(writes)} changes written through the proxy ({mix}); writes stop", seconds, cpu)
        checkpoints = CaptureState(bench.mongo[database])
        behind = max(write.commit for write in writes) - (checkpoints.checkpoint() or seeded_at)
        run, m = bench.dag_run(CUTOVER_DAG_ID, {}, database, f"{label}-cutover")
        env = {"AIRFLOW_HOME": str(WORK / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags")}
        verdict = (
            read_xcom(
                env | {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}, CUTOVER_DAG_ID, "verdict", run.started_at
            )
            or {}
        )
        freeze = verdict.get("freeze_seconds")
        step(
            f"cut-over (airflow dags test {CUTOVER_DAG_ID}, {{}}): verdict {verdict.get('verdict')!r}, "
            f"freeze_seconds {freeze}",
            m.seconds,
            m.cpu,
        )
        caught = verdict.get("caught_up") or {}
        rows = list((verdict.get("collections") or {}).values())
        compared = {row["collection"]: row.get("compared") for row in rows}
        verify_seconds = sum(row.get("seconds") or 0 for row in rows)
        print(
            f"  capture's checkpoint was {max(behind.total_seconds(), 0):.1f} s behind the last write when the "
            f"writes stopped; verify_changes compared {compared}"
        )
        if freeze is not None and caught.get("waited_seconds") is not None:
            waited = caught["waited_seconds"]
            print(
                f"  freeze {freeze:.1f} s = catch_up's wait for capture {waited:.1f} s + verify_changes "
                f"{verify_seconds:.1f} s (its collections' seconds, counts included) + the rest "
                f"{freeze - waited - verify_seconds:.1f} s (Airflow starting the three tasks, connecting); "
                f"the subprocess took {m.seconds:.1f} s in all"
            )
        print(
            f"  Firestore documents received by capture from the first change to the verdict: "
            f"{capture.documents() - documents0:,}, resets {capture.resets() - resets0:,}"
        )
        return run, verdict

    def table(self) -> list[str]:
        results, lines = self.results, []

        def line(figure: str, value: str, target: str, met: bool | None) -> None:
            lines.append(
                f"{figure:<52}{value:>16}  {target:<10}{'not measured' if met is None else 'met' if met else 'missed'}"
            )

        lines.append(f"{'figure':<52}{'value':>16}  {'target':<10}")
        for method, stats in results.lag.items():
            short = method.split(" (")[0]
            p95 = stats["p95"]
            line(
                f"lag p95: {short}",
                fmt_seconds(p95),
                f"≤ {TARGET_LAG_P95:g} s",
                None if p95 is None else p95 <= TARGET_LAG_P95,
            )
        if results.documents_per_change is not None:
            lines.append(
                f"{'Firestore documents received per change':<52}{results.documents_per_change:>16,.0f}  "
                f"(emulator: the changed collection's whole set)"
            )
            lines.append(f"{'resets per change':<52}{results.resets_per_change:>16.2f}")
        if results.lag_trend is not None:
            lines.append(f"{'lag over the window':<52}{results.lag_trend.split(' (')[0]:>16}")
        for n, freeze in results.freeze.items():
            line(
                f"freeze_seconds at N={n:,} ({results.verdicts.get(n)})",
                fmt_seconds(freeze),
                f"≤ {TARGET_FREEZE:g} s",
                None
                if freeze is None
                else freeze <= TARGET_FREEZE and results.verdicts.get(n) == "safe_to_switch",
            )
        sizes = sorted(results.freeze)
        if len(sizes) >= 2:
            small, large = results.freeze[sizes[0]], results.freeze[sizes[-1]]
            ratio = large / small if small and large is not None else None
            line(
                f"freeze ratio N={sizes[-1]:,} ÷ N={sizes[0]:,}",
                "-" if ratio is None else f"{ratio:.2f}",
                f"≤ {TARGET_FREEZE_RATIO:g}",
                None if ratio is None else ratio <= TARGET_FREEZE_RATIO,
            )
        return lines


def app_messages_at(writes: list[Write], n: int, write: Write) -> int:
    """How many messages Firestore held right after `write` (N, plus creates, less deletes)."""
    count = n
    for other in writes:
        count += (other.kind == "new message") - (other.kind == "delete message")
        if other is write:
            return count
    return count


def migrate_conf(partitions: int | None) -> dict:
    conf = {"mode": "full", "batch_size": 1000, "timeout_seconds": 900}
    if partitions is not None:
        conf["partitions"] = partitions
    return conf


def verify_conf(partitions: int | None) -> dict:
    """A full verify of every collection (depth full is the default), as the cut-over needs."""
    conf = {"batch_size": 1000, "timeout_seconds": 900}
    if partitions is not None:
        conf["partitions"] = partitions
    return conf


def step(label: str, seconds: float, cpu: Any = None) -> None:
    suffix = f"  (CPU-s {cpu.text()})" if cpu is not None else ""
    print(f"  {seconds:>8.2f} s  {label}{suffix}", flush=True)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    settings = Settings.from_environment()
    mongo_uri = os.environ.get("BENCH_MONGODB_URI") or None
    partitions = _partitions()
    firestore_rtt = _env_rtt("BENCH_FIRESTORE_RTT_MS", DEFAULT_FIRESTORE_RTT_MS)
    mongo_rtt = _env_rtt("BENCH_MONGO_RTT_MS", DEFAULT_MONGO_RTT_MS)
    WORK.mkdir(exist_ok=True)

    print_machine(mongo_uri)
    print("what     change capture's lag and the cut-over's freeze (make bench-capture)")
    if settings.only != "cutover":
        print(
            f"lag      N {settings.capture_n:,} (BENCH_CAPTURE_N), {settings.capture_rate:g} changes/s "
            f"(BENCH_CAPTURE_RATE) for {settings.capture_seconds} s (BENCH_CAPTURE_SECONDS)"
        )
    if settings.only != "lag":
        print(
            f"cut-over N {', '.join(f'{size:,}' for size in settings.cutover_sizes)} (BENCH_CUTOVER_SIZES), "
            f"{settings.cutover_changes} changes (BENCH_CUTOVER_CHANGES) over {settings.cutover_seconds:g} s "
            "(BENCH_CUTOVER_SECONDS) before it"
        )
    print(f"partitions {partitions if partitions is not None else '-'} (BENCH_PARTITIONS)")
    print(
        "caveat   the Firestore emulator answers every change to a listened query with RESET + the whole\n"
        "         result set + CURRENT, so each change resends the changed collection's whole set (real\n"
        "         Firestore sends the changed document): N is kept modest, and documents received per change\n"
        "         measure the emulator, not the product"
    )
    with contextlib.ExitStack() as stack:
        bench = Bench.start(stack, mongo_uri, partitions, firestore_rtt, mongo_rtt)
        print()
        print(bench.network.replace("every phase below", "capture, the app's writes and the DAGs"))
        print("(the bench's own observation of the checkpoint, the journal and MongoDB goes direct)")
        print(
            "CPU-s a / b / c / d: user+system CPU seconds during the step of a, the client (for a DAG step its\n"
            "  `airflow dags test` subprocess; otherwise this process: capture's thread, the app's writes and the\n"
            "  polling), b the emulator, c mongoeco and d the latency proxies"
        )
        runner = CaptureBench(bench, settings, stack)
        if settings.only != "cutover":
            _phase(runner, runner.lag, "lag")
        if settings.only != "lag":
            for size in settings.cutover_sizes:
                _phase(runner, lambda size=size: runner.cutover(size), f"cut-over at N={size:,}")
    print()
    print(f"bench-capture finished in {time.monotonic() - started:.0f} s")
    print()
    for line in runner.table():
        print(line)
    return 0 if runner.results.ok else 1


def _phase(runner: CaptureBench, function, what: str) -> None:
    try:
        function()
    except Exception as error:  # one phase failing doesn't lose the others' figures
        runner.results.warn(f"the {what} phase failed: {error!r}")
        import traceback

        traceback.print_exc()


if __name__ == "__main__":
    raise SystemExit(main())
