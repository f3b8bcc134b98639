"""`make bench`: seed the Firestore emulator, then measure, in one run, the bare read and
write rates, the naive baseline, the product end to end, the mapping's CPU cost, a bare
read of the migrated documents from MongoDB by key, and the verify DAG end to end.

    PYTHONPATH=. .venv/bin/python -m bench          # BENCH_N, BENCH_MONGODB_URI, BENCH_PARTITIONS
    BENCH_RSS=1 PYTHONPATH=. .venv/bin/python -m bench   # peak RSS of the DAG at 5,000 and 40,000 messages
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import psutil

from bench import data, naive_baseline, phases
from bench.cpu import CpuMeter, CpuPhase
from bench.product import (
    MIGRATE_DAG_ID,
    VERIFY_DAG_ID,
    DagRun,
    migrate_metadata_db,
    run_dag,
)
from bench.rss import PeakRss, mb
from devtools.servers import airflow_environment

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
PROJECT = "bench-project"
DB_PREFIX = "firestore_to_mongo_bench_"
DEFAULT_N = 20_000
RSS_SIZES = (5_000, 40_000)
CPU_SAMPLE = 20_000

TARGET_VS_BASELINE = 4.0
TARGET_VS_RAW = 0.8
TARGET_VERIFY_VS_RAW = 0.7
TARGET_CPU_RATE = 30_000
TARGET_RSS_RATIO = 1.2


def main() -> int:
    # `kill` stops the servers too: SystemExit unwinds the ExitStack below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    n = _env_int("BENCH_N", DEFAULT_N)
    mongo_uri = os.environ.get("BENCH_MONGODB_URI") or None
    rss_mode = os.environ.get("BENCH_RSS", "").strip().lower() not in ("", "0", "false", "no")
    partitions = _partitions()
    WORK.mkdir(exist_ok=True)

    print_machine(mongo_uri)
    if rss_mode:
        print(
            f"messages {' and '.join(f'{size:,}' for size in RSS_SIZES)} (BENCH_RSS=1; BENCH_N is not used)"
        )
    else:
        print(f"messages {n:,} (BENCH_N)")
    print(f"DAG conf {json.dumps(dag_conf(partitions))}")
    if not rss_mode:
        print(f"verify conf {json.dumps(verify_conf(partitions))}")
    if partitions is not None:
        print(f"partitions {partitions} (BENCH_PARTITIONS)")
    else:
        print("partitions - (the DAG has no `partitions` param)")
    with contextlib.ExitStack() as stack:
        bench = Bench.start(stack, mongo_uri, partitions)
        status = bench.rss() if rss_mode else bench.throughput(n)
    print(f"bench finished in {time.monotonic() - started:.0f} s")
    for line in bench.verdicts:
        print(line)
    return status


@dataclass
class Bench:
    firestore: object  # google.cloud.firestore.Client
    emulator: object  # devtools.servers.FirestoreEmulator
    mongo: object  # pymongo.MongoClient
    mongo_conn: Callable[[str], str]  # database name → AIRFLOW_CONN_MONGO_DEFAULT
    partitions: int | None
    cpu: CpuMeter
    verdicts: list[str]

    @classmethod
    def start(cls, stack: contextlib.ExitStack, mongo_uri: str | None, partitions: int | None) -> Bench:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore
        from pymongo import MongoClient

        from devtools.servers import start_firestore_emulator, start_mongoeco

        emulator = start_firestore_emulator(log_path=WORK / "firestore.log")
        stack.callback(emulator.stop)
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
        print(f"firestore emulator on {emulator.address}")
        mongo_pid = None
        if mongo_uri is None:
            server = start_mongoeco(log_path=WORK / "mongoeco.log")
            stack.callback(server.stop)
            mongo_uri, mongo_pid = server.uri, server.process.pid
            print(f"mongoeco (in memory) on {server.host}:{server.port}")
        mongo = MongoClient(mongo_uri)
        stack.callback(mongo.close)
        bench = cls(
            firestore=firestore.Client(project=PROJECT, credentials=AnonymousCredentials()),
            emulator=emulator,
            mongo=mongo,
            mongo_conn=lambda database: airflow_mongo_conn(mongo_uri, database),
            partitions=partitions,
            cpu=CpuMeter(emulator.process.pid, mongo_pid),
            verdicts=[],
        )
        stack.callback(bench.drop_databases)
        return bench

    # The default run ------------------------------------------------------------------

    def throughput(self, n: int) -> int:
        self.seed(n)
        print_header()

        with self.measure() as m:
            read = phases.raw_read(self.firestore)
        raw_read_rate = row("raw read (paged, 1,000/page)", read, m)

        sources = list(data.messages(n))
        documents = phases.map_all(sources)  # before timing: this phase is the writes alone
        key_queries = phases.key_queries(documents)  # for the read by keys, after the product
        collection = self.fresh_database("raw_write")[phases.MESSAGES.target]
        phases.create_key_index(collection)
        with self.measure() as m:
            written = phases.raw_write(collection, documents)
        raw_write_rate = row("raw write (bulk_write, 1,000/batch)", written, m)
        del documents

        collection = self.fresh_database("naive")[phases.MESSAGES.target]
        phases.create_key_index(collection)
        with self.measure() as m:
            migrated = naive_baseline.migrate_messages(self.firestore, collection)
        baseline_rate = row("naive baseline (update_one each)", migrated, m)

        # Before the product run: reading its summary imports Airflow into this process.
        cpu_sources = sources[:CPU_SAMPLE] if n >= CPU_SAMPLE else list(data.messages(CPU_SAMPLE))
        del sources
        with self.measure() as m:
            cpu_seconds = phases.mapping_cpu_seconds(cpu_sources)
        m.seconds = cpu_seconds
        cpu_rate = row("map_document + BSON (CPU-s, 1 core)", len(cpu_sources), m)
        del cpu_sources

        database = self.fresh_database("product").name
        run, m = self.dag_run(MIGRATE_DAG_ID, dag_conf(self.partitions), database, "product")
        product_rate = row("product: DAG, whole subprocess", run.messages.get("read", 0), m)
        row("product: messages task (its summary)", run.messages.get("read", 0), task_measurement(run))
        ok = self.check_product(run, database, n)

        # The product's database, as the product left it: what the verify reads next.
        with self.measure() as m:
            read_back = phases.raw_read_by_keys(self.mongo[database][phases.MESSAGES.target], key_queries)
        keys_read_rate = row("raw MongoDB read by keys (1,000/find)", read_back, m)
        del key_queries

        verify, m = self.dag_run(VERIFY_DAG_ID, verify_conf(self.partitions), database, "verify")
        row("verify: DAG, whole subprocess", verify.messages.get("read", 0), m)
        verify_rate = row(
            "verify: messages task (its summary)", verify.messages.get("read", 0), task_measurement(verify)
        )
        ok = self.check_verify(verify, n) and ok

        counts = (
            ("raw read", read),
            ("raw write", written),
            ("naive baseline", migrated),
            ("raw MongoDB read by keys", read_back),
        )
        for phase, count in counts:
            if count != n:
                print(f"WARNING: the {phase} handled {count:,} messages, not {n:,}")
                ok = False
        print_footnotes(run, verify)

        raw_floor = min(raw_read_rate, raw_write_rate)
        read_floor = min(raw_read_rate, keys_read_rate)
        self.verdicts = [
            verdict("product ÷ naive baseline", _ratio(product_rate, baseline_rate), TARGET_VS_BASELINE, "×"),
            verdict("product ÷ min(raw read, raw write)", _ratio(product_rate, raw_floor), TARGET_VS_RAW, ""),
            verdict("map_document + BSON docs/s per core", cpu_rate, TARGET_CPU_RATE, " docs/CPU-s"),
            verdict(
                "verify messages task ÷ min(raw read, raw MongoDB read by keys)",
                _ratio(verify_rate, read_floor),
                TARGET_VERIFY_VS_RAW,
                "",
            ),
            f"verify messages task: {verify_rate:,.0f} docs/s; raw read: {raw_read_rate:,.0f} docs/s; "
            f"raw MongoDB read by keys: {keys_read_rate:,.0f} docs/s",
        ]
        return 0 if ok else 1

    # BENCH_RSS=1 ------------------------------------------------------------------------

    def rss(self) -> int:
        peaks, ok, run = [], True, None
        print_header()
        for n in RSS_SIZES:
            self.emulator.wipe(PROJECT)
            self.seed(n, quiet=True)
            database = self.fresh_database(f"rss_{n}").name
            run, m = self.dag_run(MIGRATE_DAG_ID, dag_conf(self.partitions), database, f"rss_{n}")
            row(f"product at N={n:,}: whole subprocess", run.messages.get("read", 0), m)
            ok = self.check_product(run, database, n) and ok
            peaks.append(run.peak_rss)
        print_footnotes(run)
        ratio = _ratio(peaks[-1], peaks[0])
        met = "met" if ratio <= TARGET_RSS_RATIO else "missed"
        self.verdicts = [
            f"peak RSS at N={RSS_SIZES[-1]:,} ÷ at N={RSS_SIZES[0]:,}: {ratio:.2f} "
            f"({mb(peaks[-1])} / {mb(peaks[0])}; target ≤ {TARGET_RSS_RATIO}): {met}"
        ]
        return 0 if ok else 1

    @contextlib.contextmanager
    def measure(self) -> Iterator[Measurement]:
        """Wall-clock seconds, this process's peak RSS, and everyone's CPU seconds, for an in-process phase."""
        measurement = Measurement()
        with self.cpu.phase() as cpu, PeakRss() as rss:
            started = time.monotonic()
            yield measurement
            measurement.seconds = time.monotonic() - started
        measurement.peak_rss, measurement.cpu = rss.peak, cpu
        measurement.rss_how = "this process"

    # Helpers ----------------------------------------------------------------------------

    def seed(self, n: int, quiet: bool = False) -> None:
        started = time.monotonic()
        count = data.seed(self.firestore, n)
        seconds = time.monotonic() - started
        if not quiet:
            print(
                f"seeded {count:,} documents ({n:,} messages in {data.CONVERSATIONS} conversations of "
                f"{data.TWINS} twins, {data.USERS} users) in {seconds:.1f} s"
            )

    def dag_run(self, dag_id: str, conf: dict, database: str, label: str) -> tuple[DagRun, Measurement]:
        """`airflow dags test dag_id` against MongoDB database `database`; its log is
        .bench/dag-run-<label>.log."""
        env = airflow_environment(
            ROOT, WORK / "airflow", self.emulator.address, PROJECT, self.mongo_conn(database)
        )
        if migrate_metadata_db(env):
            print(f"(created the Airflow metadata database in {WORK / 'airflow'})")
        with self.cpu.phase(client_is_subprocess=True) as cpu:
            run = run_dag(env, dag_id, conf, WORK / f"dag-run-{label}.log")
        measurement = Measurement(run.seconds, run.peak_rss, cpu, f"DAG process tree ({run.processes_seen})")
        return run, measurement

    def check_product(self, run: DagRun, database: str, n: int) -> bool:
        stored = self.mongo[database][phases.MESSAGES.target].count_documents({})
        problems = run_problems(run, ("ok",))
        if stored != n:
            problems.append(f"{database}.{phases.MESSAGES.target} holds {stored:,} documents, not {n:,}")
        return report_problems(run, problems)

    def check_verify(self, run: DagRun, n: int) -> bool:
        """The verify found the product's N messages all there and all equal."""
        problems = run_problems(run, ("verified",))
        if run.messages:
            for name in ("compared", "equal"):
                if run.messages.get(name) != n:
                    problems.append(f"the verify's messages {name} is {run.messages.get(name)!r}, not {n:,}")
        return report_problems(run, problems)

    def fresh_database(self, label: str):
        name = DB_PREFIX + label
        self.mongo.drop_database(name)
        self._databases.add(name)
        return self.mongo[name]

    def drop_databases(self) -> None:
        for name in sorted(self._databases):
            with contextlib.suppress(Exception):
                self.mongo.drop_database(name)

    def __post_init__(self) -> None:
        self._databases: set[str] = set()


def dag_conf(partitions: int | None) -> dict:
    conf = {"mode": "full", "collections": ["messages"], "batch_size": 1000, "timeout_seconds": 900}
    if partitions is not None:
        conf["partitions"] = partitions
    return conf


def verify_conf(partitions: int | None) -> dict:
    conf = {"depth": "full", "collections": ["messages"], "batch_size": 1000, "timeout_seconds": 900}
    if partitions is not None:
        conf["partitions"] = partitions
    return conf


def run_problems(run: DagRun, good_status: tuple[str, ...]) -> list[str]:
    """What went wrong with a DAG run, from its exit status and its messages figures."""
    problems = []
    if run.returncode != 0:
        problems.append(f"airflow dags test {run.dag_id} exited with {run.returncode}")
    if not run.messages:
        problems.append(f"no summary XCom for messages was recorded by {run.dag_id}")
    elif run.messages.get("status") not in (None, *good_status):
        problems.append(f"{run.dag_id}: the messages task's status is {run.messages.get('status')!r}")
    return problems


def report_problems(run: DagRun, problems: list[str]) -> bool:
    for problem in problems:
        print(f"WARNING: {problem} (log: {run.log_path})")
    return not problems


def task_measurement(run: DagRun) -> Measurement:
    """The messages figures' own seconds (partitions summed; for the verify, plus messages_done)."""
    return Measurement(seconds=run.messages.get("seconds") or 0.0)


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_rss: int | None = None
    cpu: CpuPhase | None = None
    rss_how: str = ""


COLUMNS = f"{'phase':<37}{'docs':>8}{'seconds':>9}{'docs/s':>10}{'peak RSS':>10}  {'RSS of':<22}CPU-s client / emulator / mongo"


def print_header() -> None:
    print()
    print(COLUMNS)


def row(label: str, docs: int, measurement: Measurement) -> float:
    rate = docs / measurement.seconds if measurement.seconds > 0 else 0.0
    peak = mb(measurement.peak_rss) if measurement.peak_rss is not None else "-"
    cpu = measurement.cpu.text() if measurement.cpu is not None else "-"
    print(
        f"{label:<37}{docs:>8,}{measurement.seconds:>9.2f}{rate:>10,.0f}{peak:>10}  "
        f"{measurement.rss_how or '-':<22}{cpu}",
        flush=True,
    )
    return rate


def print_footnotes(*runs: DagRun | None) -> None:
    print()
    print("peak RSS: psutil samples every 50 ms; 'this process' is the bench itself (in-process phases),")
    print("  'DAG process tree (k)' the airflow dags test process plus its descendants (k processes seen).")
    print("CPU-s: user+system seconds during the phase of the client (the bench, or the DAG subprocess),")
    print("  the Firestore emulator (gcloud + java) and mongoeco ('-' with BENCH_MONGODB_URI).")
    for run in runs:
        if run is not None:
            print(f"DAG log: {run.log_path}")
    print()


def verdict(label: str, value: float, target: float, unit: str) -> str:
    met = "met" if value >= target else "missed"
    shown = f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
    wanted = f"{target:,.0f}" if target >= 1000 else f"{target:g}"
    return f"{label}: {shown}{unit} (target ≥ {wanted}{unit}): {met}"


def print_machine(mongo_uri: str | None) -> None:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    backend = (
        f"MongoDB at {uri_hosts(mongo_uri)} (BENCH_MONGODB_URI)"
        if mongo_uri
        else f"mongoeco {importlib.metadata.version('mongoeco')} (in-memory engine, devtools.mongoeco_fast)"
    )
    print("firestore-to-mongo bench")
    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(
        f"machine  {platform.machine()}, {os.cpu_count()} CPUs ({cpu or 'unknown model'}), "
        f"{psutil.virtual_memory().total / 1024**3:.1f} GB RAM, {platform.system()} {platform.release()}"
    )
    print(f"python   {platform.python_version()} ({sys.executable})")
    print(f"backend  {backend}")


def uri_hosts(uri: str) -> str:
    """The host list of a MongoDB URI, without credentials."""
    return urlsplit(uri).netloc.rpartition("@")[2]


def airflow_mongo_conn(uri: str, database: str) -> str:
    """AIRFLOW_CONN_MONGO_DEFAULT for `uri` with `database` as its schema.

    A plain mongo:// URI, as devtools/demo.py uses, when the server needs nothing
    else; otherwise the JSON form, which carries credentials, several hosts and SRV.
    """
    parts = urlsplit(uri)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    options = dict(parse_qsl(parts.query))
    if not userinfo and parts.scheme == "mongodb" and "," not in hosts:
        query = "&".join(f"{key}={value}" for key, value in options.items())
        return f"mongo://{hosts}/{database}" + (f"?{query}" if query else "")
    login, _, password = userinfo.partition(":")
    source_database = parts.path.strip("/")
    if login and source_database and "authSource" not in options:
        # The URI's database is where its user authenticates; the schema set here is not.
        options["authSource"] = source_database
    connection: dict = {"conn_type": "mongo", "schema": database, "extra": options}
    host, _, port = hosts.rpartition(":")
    if "," in hosts or parts.scheme == "mongodb+srv" or not port.isdigit():
        connection["host"] = hosts
    else:
        connection["host"], connection["port"] = host, int(port)
    if parts.scheme == "mongodb+srv":
        connection["extra"]["srv"] = True
    if login:
        connection["login"], connection["password"] = unquote(login), unquote(password)
    return json.dumps(connection)


def _partitions() -> int | None:
    """BENCH_PARTITIONS (default 1) when the DAG has a `partitions` param; else None."""
    from include.firestore_to_mongo.config import PARAM_SCHEMAS

    if "partitions" not in PARAM_SCHEMAS:
        if os.environ.get("BENCH_PARTITIONS"):
            print("BENCH_PARTITIONS ignored: the DAG has no `partitions` param")
        return None
    return _env_int("BENCH_PARTITIONS", 1)


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        sys.exit(f"{name} must be a positive integer, not {value!r}")
    if number <= 0:
        sys.exit(f"{name} must be a positive integer, not {value!r}")
    return number


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0
