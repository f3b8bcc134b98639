"""`make bench`: seed the Firestore emulator, then measure, in one run, the bare read and
write rates, the naive baseline, the product end to end, the mapping's CPU cost, a bare
read of the migrated documents from MongoDB by key, and the verify DAG end to end.

Every measured phase reaches Firestore and MongoDB through latency proxies
(bench/latency_proxy.py, BENCH_FIRESTORE_RTT_MS and BENCH_MONGO_RTT_MS); seeding goes
direct. Firestore reads are counted in the client (bench/count_reads.py).

    PYTHONPATH=. .venv/bin/python -m bench          # BENCH_N, BENCH_MONGODB_URI, BENCH_PARTITIONS, BENCH_*_RTT_MS
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
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

import psutil

from bench import count_reads, data, latency_proxy, naive_baseline, phases
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

DEFAULT_FIRESTORE_RTT_MS = 10.0
DEFAULT_MONGO_RTT_MS = 2.0

TARGET_VS_BASELINE = 4.0
TARGET_VS_RAW = 0.6
TARGET_TASK_VS_RAW = 0.85
TARGET_READS_PER_DOC = 1.0
TARGET_CPU_VS_RAW = 2.5
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
    firestore_rtt = _env_rtt("BENCH_FIRESTORE_RTT_MS", DEFAULT_FIRESTORE_RTT_MS)
    mongo_rtt = _env_rtt("BENCH_MONGO_RTT_MS", DEFAULT_MONGO_RTT_MS)
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
        bench = Bench.start(stack, mongo_uri, partitions, firestore_rtt, mongo_rtt)
        status = bench.rss() if rss_mode else bench.throughput(n)
    print(f"bench finished in {time.monotonic() - started:.0f} s")
    for line in bench.verdicts:
        print(line)
    return status


@dataclass
class Bench:
    firestore: object  # google.cloud.firestore.Client, through the Firestore latency proxy
    firestore_direct: object  # the same, straight to the emulator: for seeding
    firestore_address: str  # FIRESTORE_EMULATOR_HOST for the DAG runs: the proxy's
    emulator: object  # devtools.servers.FirestoreEmulator
    mongo: object  # pymongo.MongoClient, direct: setting up, checking, dropping
    mongo_net: object  # pymongo.MongoClient through the MongoDB latency proxy: the phases
    mongo_conn: Callable[[str], str]  # database name → AIRFLOW_CONN_MONGO_DEFAULT (through the proxy)
    partitions: int | None
    cpu: CpuMeter
    network: str  # what the phases go through, for the table's header
    verdicts: list[str]

    @classmethod
    def start(
        cls,
        stack: contextlib.ExitStack,
        mongo_uri: str | None,
        partitions: int | None,
        firestore_rtt: float,
        mongo_rtt: float,
    ) -> Bench:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import firestore
        from pymongo import MongoClient

        from devtools.servers import start_firestore_emulator, start_mongoeco

        count_reads.install()  # before any client exists: every read in this process is counted
        emulator = start_firestore_emulator(log_path=WORK / "firestore.log")
        stack.callback(emulator.stop)
        print(f"firestore emulator on {emulator.address}")
        mongo_pid = None
        if mongo_uri is None:
            server = start_mongoeco(log_path=WORK / "mongoeco.log")
            stack.callback(server.stop)
            mongo_uri, mongo_pid = server.uri, server.process.pid
            print(f"mongoeco (in memory) on {server.host}:{server.port}")

        proxies = []
        firestore_address, firestore_how = emulator.address, "direct (BENCH_FIRESTORE_RTT_MS=0)"
        if firestore_rtt > 0:
            proxy = latency_proxy.start(emulator.address, firestore_rtt, WORK / "proxy-firestore.log")
            stack.callback(proxy.stop)
            proxies.append(proxy)
            firestore_address = proxy.address
            firestore_how = f"RTT {firestore_rtt:g} ms (latency proxy on {proxy.address})"
        mongo_net_uri, mongo_how = mongo_uri, "direct (BENCH_MONGO_RTT_MS=0)"
        if mongo_rtt > 0:
            upstream, why_not = mongo_upstream(mongo_uri)
            if upstream is None:
                mongo_how = f"direct: {why_not}, so BENCH_MONGO_RTT_MS is not applied"
            else:
                proxy = latency_proxy.start(upstream, mongo_rtt, WORK / "proxy-mongo.log")
                stack.callback(proxy.stop)
                proxies.append(proxy)
                mongo_net_uri = proxied_mongo_uri(mongo_uri, proxy.address)
                mongo_how = f"RTT {mongo_rtt:g} ms (latency proxy on {proxy.address})"
        print(f"firestore, as the phases reach it: {firestore_how}")
        print(f"mongodb, as the phases reach it: {mongo_how}")

        # The direct client first: FIRESTORE_EMULATOR_HOST is left at the phases' address.
        firestore_direct = firestore_client(firestore, AnonymousCredentials(), emulator.address)
        firestore_net = firestore_client(firestore, AnonymousCredentials(), firestore_address)
        mongo = MongoClient(mongo_uri)
        stack.callback(mongo.close)
        mongo_net = MongoClient(mongo_net_uri)
        stack.callback(mongo_net.close)
        bench = cls(
            firestore=firestore_net,
            firestore_direct=firestore_direct,
            firestore_address=firestore_address,
            emulator=emulator,
            mongo=mongo,
            mongo_net=mongo_net,
            mongo_conn=lambda database: airflow_mongo_conn(mongo_net_uri, database),
            partitions=partitions,
            cpu=CpuMeter(emulator.process.pid, mongo_pid, tuple(proxy.pid for proxy in proxies)),
            network=network_line(firestore_rtt, mongo_rtt if mongo_net_uri != mongo_uri else 0.0, mongo_how),
            verdicts=[],
        )
        stack.callback(bench.drop_databases)
        return bench

    # The default run ------------------------------------------------------------------

    def throughput(self, n: int) -> int:
        self.seed(n)
        self.print_header()

        with self.measure() as m:
            read = phases.raw_read(self.firestore)
        raw_read_rate = row("raw read (paged, 1,000/page)", read, m)
        raw_read_m = m

        sources = list(data.messages(n))
        documents = phases.map_all(sources)  # before timing: this phase is the writes alone
        key_queries = phases.key_queries(documents)  # for the read by keys, after the product
        collection = self.fresh_collection("raw_write")
        with self.measure() as m:
            written = phases.raw_write(collection, documents)
        raw_write_rate = row("raw write (bulk_write, 1,000/batch)", written, m)
        raw_write_m = m
        del documents

        collection = self.fresh_collection("naive")
        with self.measure() as m:
            migrated = naive_baseline.migrate_messages(self.firestore, collection)
        baseline_rate = row("naive baseline (update_one each)", migrated, m)

        # Before the product run: reading its summary imports Airflow into this process.
        cpu_sources = sources[:CPU_SAMPLE] if n >= CPU_SAMPLE else list(data.messages(CPU_SAMPLE))
        del sources
        with self.measure() as m:
            cpu_seconds = phases.mapping_cpu_seconds(cpu_sources)
        m.seconds = m.client_cpu = cpu_seconds  # one pass's, not the 3 passes' and warm-up's
        m.reads = None  # reads nothing
        cpu_rate = row("map_document + BSON (CPU-s, 1 core)", len(cpu_sources), m)
        cpu_m = m
        del cpu_sources

        database = self.fresh_database("product").name
        run, m = self.dag_run(MIGRATE_DAG_ID, dag_conf(self.partitions), database, "product")
        product_rate = row("product: DAG, whole subprocess", run.messages.get("read", 0), m)
        product_m = m
        task_m = task_measurement(run)
        task_rate = row("product: messages task (its summary)", run.messages.get("read", 0), task_m)
        ok = self.check_product(run, database, n)

        # The product's database, as the product left it: what the verify reads next.
        with self.measure() as m:
            read_back = phases.raw_read_by_keys(self.mongo_net[database][phases.MESSAGES.target], key_queries)
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
        counted = (raw_read_m.reads or {}).get("documents")
        if counted != n:
            print(f"WARNING: the read counter saw {counted} documents in the raw read, not {n:,}")
            ok = False
        print_footnotes(run, verify)
        print_reads(
            (
                ("raw read", raw_read_m.reads),
                ("product", run.firestore_reads),
                ("verify", verify.firestore_reads),
            )
        )

        raw_floor = min(raw_read_rate, raw_write_rate)
        read_floor = min(raw_read_rate, keys_read_rate)
        # The client's CPU per 1,000 documents: the product's whole subprocess against the
        # bare phases' (reading, writing, mapping) added up.
        product_cpu = product_m.client_cpu_per_thousand(n)
        bare_cpu = sum(
            measurement.client_cpu_per_thousand(count)
            for measurement, count in ((raw_read_m, n), (raw_write_m, n), (cpu_m, CPU_SAMPLE))
        )
        self.verdicts = [
            verdict("product ÷ naive baseline", _ratio(product_rate, baseline_rate), TARGET_VS_BASELINE, "×"),
            verdict(
                "product end to end ÷ min(raw read, raw write)",
                _ratio(product_rate, raw_floor),
                TARGET_VS_RAW,
                "",
            ),
            verdict(
                "product messages task ÷ min(raw read, raw write)",
                _ratio(task_rate, raw_floor),
                TARGET_TASK_VS_RAW,
                "",
            ),
            reads_verdict(run.firestore_reads, n),
            verdict(
                "client CPU-s per 1,000 docs, product ÷ (raw read + raw write + mapping)",
                _ratio(product_cpu, bare_cpu),
                TARGET_CPU_VS_RAW,
                "×",
                at_most=True,
            )
            + f" ({product_cpu:.3f} vs {bare_cpu:.3f} CPU-s per 1,000 docs)",
            # Where the whole run's CPU goes: Airflow's own start-up (imports, the in-process
            # execution API, the DAG's serialisation) costs the same at any N.
            f"  of which the messages partitions: {task_m.client_cpu_per_thousand(n):.3f} CPU-s per 1,000 docs "
            f"= {_ratio(task_m.client_cpu_per_thousand(n), bare_cpu):.2f}× the bare phases; the rest, "
            f"{product_m.client_seconds() - (task_m.client_seconds() or 0):.1f} CPU-s, is Airflow and the other tasks",
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
        peaks, ok, runs = [], True, []
        self.print_header()
        for n in RSS_SIZES:
            self.emulator.wipe(PROJECT)
            self.seed(n, quiet=True)
            database = self.fresh_database(f"rss_{n}").name
            run, m = self.dag_run(MIGRATE_DAG_ID, dag_conf(self.partitions), database, f"rss_{n}")
            row(f"product at N={n:,}: whole subprocess", run.messages.get("read", 0), m)
            ok = self.check_product(run, database, n) and ok
            peaks.append(run.peak_rss)
            runs.append((f"product at N={n:,}", run.firestore_reads))
        print_footnotes(run)
        print_reads(runs)
        ratio = _ratio(peaks[-1], peaks[0])
        met = "met" if ratio <= TARGET_RSS_RATIO else "missed"
        self.verdicts = [
            f"peak RSS at N={RSS_SIZES[-1]:,} ÷ at N={RSS_SIZES[0]:,}: {ratio:.2f} "
            f"({mb(peaks[-1])} / {mb(peaks[0])}; target ≤ {TARGET_RSS_RATIO}): {met}"
        ]
        return 0 if ok else 1

    @contextlib.contextmanager
    def measure(self) -> Iterator[Measurement]:
        """Wall-clock seconds, this process's peak RSS, everyone's CPU seconds and this
        process's Firestore reads, for an in-process phase."""
        measurement = Measurement()
        reads_before = count_reads.snapshot()
        with self.cpu.phase() as cpu, PeakRss() as rss:
            started = time.monotonic()
            yield measurement
            measurement.seconds = time.monotonic() - started
        measurement.peak_rss, measurement.cpu = rss.peak, cpu
        measurement.rss_how = "this process"
        measurement.reads = count_reads.difference(count_reads.snapshot(), reads_before)

    def print_header(self) -> None:
        print()
        print(self.network)
        print(COLUMNS)

    # Helpers ----------------------------------------------------------------------------

    def seed(self, n: int, quiet: bool = False) -> None:
        """Seed straight into the emulator: seeding is not measured, and needs no network."""
        started = time.monotonic()
        count = data.seed(self.firestore_direct, n)
        seconds = time.monotonic() - started
        if not quiet:
            print(
                f"seeded {count:,} documents ({n:,} messages in {data.CONVERSATIONS} conversations of "
                f"{data.TWINS} twins, {data.USERS} users) in {seconds:.1f} s, direct"
            )

    def dag_run(self, dag_id: str, conf: dict, database: str, label: str) -> tuple[DagRun, Measurement]:
        """`airflow dags test dag_id` against MongoDB database `database`, through the
        latency proxies; its log is .bench/dag-run-<label>.log."""
        env = airflow_environment(
            ROOT, WORK / "airflow", self.firestore_address, PROJECT, self.mongo_conn(database)
        )
        if migrate_metadata_db(env):
            print(f"(created the Airflow metadata database in {WORK / 'airflow'})")
        with self.cpu.phase(client_is_subprocess=True) as cpu:
            run = run_dag(env, dag_id, conf, WORK / f"dag-run-{label}.log")
        if run.firestore_reads is None:
            print(f"WARNING: {dag_id} wrote no Firestore read counts (log: {run.log_path})")
        measurement = Measurement(
            run.seconds,
            run.peak_rss,
            cpu,
            f"DAG process tree ({run.processes_seen})",
            reads=run.firestore_reads,
        )
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
        """An empty database, on the direct connection (setting up is not measured)."""
        name = DB_PREFIX + label
        self.mongo.drop_database(name)
        self._databases.add(name)
        return self.mongo[name]

    def fresh_collection(self, label: str):
        """The messages target in an empty database with the product's unique index, as
        the phases reach it (through the MongoDB latency proxy)."""
        database = self.fresh_database(label)
        phases.create_key_index(database[phases.MESSAGES.target])
        return self.mongo_net[database.name][phases.MESSAGES.target]

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
    """The messages figures' own seconds (partitions summed; for the verify, plus messages_done),
    and the migration's partitions' own CPU seconds (`cpu_seconds`: their process time)."""
    return Measurement(seconds=run.messages.get("seconds") or 0.0, client_cpu=run.messages.get("cpu_seconds"))


@dataclass
class Measurement:
    seconds: float = 0.0
    peak_rss: int | None = None
    cpu: CpuPhase | None = None
    rss_how: str = ""
    # Firestore reads counted in the client (bench.count_reads), None when not counted.
    reads: dict | None = None
    # The client's CPU seconds when not the CpuPhase's (the mapping: one pass's).
    client_cpu: float | None = None

    def client_seconds(self) -> float | None:
        if self.client_cpu is not None:
            return self.client_cpu
        return self.cpu.client if self.cpu is not None else None

    def client_cpu_per_thousand(self, docs: int) -> float:
        seconds = self.client_seconds()
        return seconds / docs * 1000 if seconds is not None and docs else 0.0


COLUMNS = (
    f"{'phase':<37}{'docs':>8}{'seconds':>9}{'docs/s':>10}{'peak RSS':>10}  {'RSS of':<22}"
    f"{'CPU-s/1k':>9}{'reads/doc':>10}  CPU-s client / emulator / mongo / proxies"
)


def row(label: str, docs: int, measurement: Measurement) -> float:
    rate = docs / measurement.seconds if measurement.seconds > 0 else 0.0
    peak = mb(measurement.peak_rss) if measurement.peak_rss is not None else "-"
    cpu = measurement.cpu.text() if measurement.cpu is not None else "-"
    per_thousand = (
        f"{measurement.client_cpu_per_thousand(docs):.3f}"
        if measurement.client_seconds() is not None and docs
        else "-"
    )
    reads = f"{measurement.reads['documents'] / docs:.3f}" if measurement.reads is not None and docs else "-"
    print(
        f"{label:<37}{docs:>8,}{measurement.seconds:>9.2f}{rate:>10,.0f}{peak:>10}  "
        f"{measurement.rss_how or '-':<22}{per_thousand:>9}{reads:>10}  {cpu}",
        flush=True,
    )
    return rate


def print_footnotes(*runs: DagRun | None) -> None:
    print()
    print("peak RSS: psutil samples every 50 ms; 'this process' is the bench itself (in-process phases),")
    print("  'DAG process tree (k)' the airflow dags test process plus its descendants (k processes seen).")
    print("CPU-s/1k: the client's CPU seconds per 1,000 documents (the bench, or the whole DAG subprocess).")
    print("reads/doc: Firestore documents the client read (counted by bench/count_reads.py) per document.")
    print("CPU-s: user+system seconds during the phase of the client (the bench, or the DAG subprocess),")
    print("  the Firestore emulator (gcloud + java), mongoeco ('-' with BENCH_MONGODB_URI) and the latency")
    print("  proxies ('-' with both RTTs 0).")
    for run in runs:
        if run is not None:
            print(f"DAG log: {run.log_path}")
    print()


def print_reads(phases_reads) -> None:
    """Each counted phase's Firestore reads, by method."""
    print("Firestore reads counted in the client (documents returned, by FirestoreClient method):")
    for label, reads in phases_reads:
        if reads is None:
            print(f"  {label}: not counted")
            continue
        methods = ", ".join(
            f"{name} {count:,}" for name, count in sorted(reads["documents_by_method"].items())
        )
        calls = ", ".join(f"{name} {count:,}" for name, count in sorted(reads["calls"].items()))
        print(
            f"  {label}: {reads['documents']:,} documents ({methods or 'none'}); "
            f"{reads['aggregation_queries']:,} aggregation queries, {reads['partition_queries']:,} partition "
            f"queries; calls: {calls or 'none'}"
        )
    print()


def reads_verdict(reads: dict | None, n: int) -> str:
    """Firestore documents the product's full run read, per source document in scope."""
    label = "Firestore document reads per source document (product, full run)"
    if reads is None:
        return f"{label}: not counted (target {TARGET_READS_PER_DOC:.1f}): missed"
    per_doc = reads["documents"] / n
    met = "met" if round(per_doc, 3) == TARGET_READS_PER_DOC else "missed"
    return (
        f"{label}: {per_doc:.3f} ({reads['documents']:,} documents read ÷ {n:,} messages; "
        f"plus {reads['aggregation_queries']:,} aggregation queries) (target {TARGET_READS_PER_DOC:.1f}): {met}"
    )


def verdict(label: str, value: float, target: float, unit: str, at_most: bool = False) -> str:
    met = "met" if (value <= target if at_most else value >= target) else "missed"
    shown = f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
    wanted = f"{target:,.0f}" if target >= 1000 else f"{target:g}"
    return f"{label}: {shown}{unit} (target {'≤' if at_most else '≥'} {wanted}{unit}): {met}"


def network_line(firestore_rtt: float, mongo_rtt: float, mongo_how: str) -> str:
    """The table's first header line: what the phases' connections go through."""
    firestore = f"Firestore RTT {firestore_rtt:g} ms" if firestore_rtt > 0 else "Firestore direct"
    mongo = f"MongoDB RTT {mongo_rtt:g} ms" if mongo_rtt > 0 else f"MongoDB {mongo_how}"
    added = (
        ", added by latency proxies (bench/latency_proxy.py)" if firestore_rtt > 0 or mongo_rtt > 0 else ""
    )
    return f"network of every phase below: {firestore}, {mongo}{added}; seeding goes direct"


def firestore_client(firestore, credentials, address: str):
    """A google.cloud.firestore.Client talking to the emulator at `address` (the client
    reads FIRESTORE_EMULATOR_HOST when it is made); leaves the variable set to `address`."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = address
    return firestore.Client(project=PROJECT, credentials=credentials)


def mongo_upstream(uri: str) -> tuple[str | None, str]:
    """host:port a latency proxy can stand in front of, for `uri`; or None and why not.

    Only a single-host mongodb:// URI without TLS: the driver would otherwise reach the
    other hosts of a replica set (or an SRV record's) directly, and TLS checks the host name."""
    parts = urlsplit(uri)
    hosts = parts.netloc.rpartition("@")[2]
    options = {key.lower(): value.lower() for key, value in parse_qsl(parts.query)}
    if parts.scheme != "mongodb":
        return None, f"{parts.scheme}:// URI"
    if "," in hosts:
        return None, "the URI names several hosts"
    if options.get("tls") == "true" or options.get("ssl") == "true":
        return None, "the URI uses TLS"
    if "replicaset" in options:
        return None, "the URI names a replica set"
    if hosts.startswith("["):
        host, _, port = hosts[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hosts.partition(":")
    return f"{host}:{port or 27017}", ""


def proxied_mongo_uri(uri: str, proxy_address: str) -> str:
    """`uri` with its host replaced by the proxy's, connecting to it directly (no discovery)."""
    parts = urlsplit(uri)
    userinfo, at, _ = parts.netloc.rpartition("@")
    options = [(key, value) for key, value in parse_qsl(parts.query) if key.lower() != "directconnection"]
    query = "&".join(f"{key}={value}" for key, value in [*options, ("directConnection", "true")])
    return urlunsplit(
        (parts.scheme, f"{userinfo}{at}{proxy_address}", parts.path or "/", query, parts.fragment)
    )


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
    from include.firestore_to_mongo.migrate.config import PARAM_SCHEMAS

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


def _env_rtt(name: str, default: float) -> float:
    """A round-trip time in ms from the environment: 0 turns that latency proxy off."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        sys.exit(f"{name} must be a number of milliseconds (0: no proxy), not {value!r}")
    if not number >= 0 or number == float("inf"):
        sys.exit(f"{name} must be a number of milliseconds (0: no proxy), not {value!r}")
    return number


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0
