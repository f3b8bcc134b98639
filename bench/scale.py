"""`make bench-scale`: what the migration costs per document as N grows.

For each N of BENCH_SCALE_N (default 10,000 and 100,000 messages; 1,000,000 when asked, with users,
twins and conversations scaled in the sample's proportions, devtools/sample_data.py's
SampleSize: 1 user, 2 twins and 20 conversations per 300 messages), on a wiped emulator:

1. seed (direct, not measured; bench/data.py), then the bare baselines through the latency
   proxies: the raw read of the messages (bench/phases.raw_read) and the raw write of them,
   mapped beforehand in chunks (bench/phases.raw_write, only the writes timed);
2. the migration in full, every collection, `partitions` 4 (`airflow dags test`, as `make
   bench` runs it: bench/product.py, reads counted by bench/count_reads.py);
3. 1 % of the messages changed (new `content`, `timestamp` = now; direct), then an
   incremental run;
4. the verify with depth `full`, then with depth `keys`.

Per phase: documents (what the run's summary says it read, over all collections), seconds
and client CPU-s per 1,000 of them, the time of each `<name>_done` task (Airflow's task
instances), the peak RSS of the DAG process tree, key journal bytes per document (the
journal's pages, polled from MongoDB while the run writes them: `<name>_done` drops them),
Firestore documents read per source document, and the stand-ins' CPU and peak RSS (the
emulator's process tree, mongoeco). A table, the targets' verdicts (largest N against
smallest, within this run), and a chart, bench/scale.png. The figures also go to
.bench/scale-results.json (after each phase): `python -m bench.scale --report FILE` prints the
table and redraws the chart from such a file.

    PYTHONPATH=. .venv/bin/python -m bench.scale   # BENCH_SCALE_N, BENCH_*_RTT_MS, BENCH_MONGODB_URI
    PYTHONPATH=. .venv/bin/python -m bench.scale --stand-ins   # only seed each N and raw-write it: the stand-ins
    PYTHONPATH=. .venv/bin/python -m bench.scale --report [FILE]   # the table and chart again, from a results file
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import data, phases
from bench.product import MIGRATE_DAG_ID, VERIFY_DAG_ID, DagRun
from bench.rss import PeakRss
from bench.run import (
    DEFAULT_FIRESTORE_RTT_MS,
    DEFAULT_MONGO_RTT_MS,
    PROJECT,
    ROOT,
    WORK,
    Bench,
    _env_rtt,
    print_machine,
)
from devtools.sample_data import SampleSize

SAMPLE = SampleSize()  # devtools/sample_data.py: the proportions
# 1,000,000 only when asked (BENCH_SCALE_N): the emulator's paged reads slow down as the
# collection grows, so a million takes it over 20 hours (bench/README.md, "The 1M limit").
DEFAULT_SIZES = (10_000, 100_000)
PARTITIONS = 4
BATCH_SIZE = 1000
TIMEOUT_SECONDS = 900
CHANGED_FRACTION = 0.01  # of the messages, before the incremental run
MAP_CHUNK = 10_000  # messages mapped at once for the raw write (its clock runs only around writes)
RESULTS = WORK / "scale-results.json"
STAND_INS_RESULTS = WORK / "scale-stand-ins.json"
CHART = ROOT / "bench" / "scale.png"
MEMORY_LIMIT = 20 * 1024**3  # stop before the stand-ins and the bench together use more

TARGET_COST_RATIO = 1.25
TARGET_RSS_RATIO = 1.2
TARGET_READS_PER_DOC = 1.0
TARGET_VS_RAW = 0.7

FULL, INCREMENTAL, VERIFY_FULL, VERIFY_KEYS = (
    "full run",
    "incremental, 1% changed",
    "verify full",
    "verify keys",
)
PRODUCT_PHASES = (FULL, INCREMENTAL, VERIFY_FULL, VERIFY_KEYS)
RAW_READ, RAW_WRITE = "raw read (messages)", "raw write (messages)"
# The plan's log line when it splits a collection by twin ranges (migrate/plan.py, verify/plan.py).
TWIN_RANGES = re.compile(r"\b(\w+): \S[^\n]*? partition\(s\) by twin ranges")
COLLECTIONS = ("users", "digital_twins", "conversations", "messages")
DONE_SHORT = {"users": "u", "digital_twins": "t", "conversations": "c", "messages": "m"}


# The data set's shape ------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    messages: int
    users: int
    twins: int
    conversations: int

    @property
    def documents(self) -> int:
        return self.messages + self.users + self.twins + self.conversations


def shape(n: int, sample: SampleSize = SAMPLE) -> Shape:
    """N messages with users, twins and conversations in the sample's proportions (10 users,
    20 twins, 200 conversations of 15 messages on average: 3,000 messages), at least one each."""
    per = sample.conversations * sample.messages_per_conversation
    return Shape(
        messages=n,
        users=max(1, round(n * sample.users / per)),
        twins=max(1, round(n * sample.twins / per)),
        conversations=max(1, round(n * sample.conversations / per)),
    )


def changed_paths(s: Shape, fraction: float = CHANGED_FRACTION) -> list[str]:
    """Every 1/fraction-th message's path, in bench/data.messages' order (the same
    spreading of messages over conversations, without generating their content)."""
    step = max(1, round(1 / fraction))
    per_conversation, extra = divmod(s.messages, s.conversations)
    paths, index = [], 0
    for n in range(s.conversations):
        base = data.conversation_path(n, s.twins)
        for m in range(per_conversation + (1 if n < extra else 0)):
            if index % step == 0:
                paths.append(f"{base}/messages/msg{m:05d}")
            index += 1
    return paths


# What one phase measured -----------------------------------------------------------------


@dataclass
class PhaseResult:
    n: int
    phase: str
    docs: int  # documents the phase handled: for a DAG run, its summary's `read`, all collections
    seconds: float
    client_cpu: float | None = None
    peak_rss: int | None = None  # the DAG process tree's; None for the in-process baselines
    journal_bytes: int | None = None  # BSON bytes of the key journal's pages seen
    journal_claims: int | None = None  # keys in those pages (a check that none was missed)
    reads: int | None = None  # Firestore documents the client read (bench/count_reads.py)
    aggregation_queries: int | None = None
    source_docs: int | None = None  # what reads/doc divides by
    done_seconds: dict[str, float] = field(default_factory=dict)  # collection → its `<name>_done`
    emulator_cpu: float | None = None
    mongo_cpu: float | None = None
    proxies_cpu: float | None = None
    emulator_rss: int | None = None  # peak RSS of the emulator's process tree during the phase
    mongo_rss: int | None = None  # peak RSS of mongoeco during the phase
    # Collections whose plan split them by twin ranges (its log says so): on the emulator,
    # which lacks PartitionQuery, that split reads every twin document once per collection.
    twin_range_splits: int | None = None
    ok: bool = True
    notes: list[str] = field(default_factory=list)

    def per_thousand(self, value: float | None) -> float | None:
        return None if value is None or not self.docs else value / self.docs * 1000

    @property
    def seconds_per_thousand(self) -> float | None:
        return self.per_thousand(self.seconds)

    @property
    def cpu_per_thousand(self) -> float | None:
        return self.per_thousand(self.client_cpu)

    @property
    def rate(self) -> float:
        return self.docs / self.seconds if self.seconds > 0 else 0.0

    @property
    def reads_per_doc(self) -> float | None:
        return None if self.reads is None or not self.source_docs else self.reads / self.source_docs

    @property
    def journal_per_doc(self) -> float | None:
        return None if self.journal_bytes is None or not self.docs else self.journal_bytes / self.docs


@dataclass
class SizeResult:
    n: int
    shape: Shape
    seeded: int
    seed_seconds: float
    emulator_rss_seeded: int | None  # the stand-ins' RSS once seeded
    mongo_rss_seeded: int | None
    phases: list[PhaseResult]
    # The emulator's JVM heap in use right after a full GC, once seeded (jcmd): what it needs
    # to hold the data, whatever its RSS (the JVM grows its heap before it collects).
    emulator_heap_seeded: int | None = None
    # Seconds the emulator takes for one 1,000-message page of the raw read's query
    # (collection group ordered by name, start_after), direct, by the page's position:
    # {"0": …, "<N/2>": …, "<N-1000>": …} (the best of 2 each).
    page_probe: dict[str, float] = field(default_factory=dict)

    def phase(self, name: str) -> PhaseResult | None:
        return next((p for p in self.phases if p.phase == name), None)


def dump(results: list[SizeResult], path: Path) -> None:
    path.write_text(json.dumps([asdict(r) for r in results], indent=1))


def load(path: Path) -> list[SizeResult]:
    results = []
    for raw in json.loads(path.read_text()):
        raw["shape"] = Shape(**raw["shape"])
        raw["phases"] = [PhaseResult(**p) for p in raw["phases"]]
        results.append(SizeResult(**raw))
    return results


# The table, the verdicts, the chart -------------------------------------------------------


def _f(value: float | None, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1024**2:,.0f}"


def table_lines(results: list[SizeResult]) -> list[str]:
    header = (
        f"{'N':>9}  {'phase':<24}{'docs':>10}{'seconds':>9}{'s/1k':>9}{'CPU-s/1k':>9}{'RSS MB':>8}"
        f"{'jrnl B/doc':>11}{'reads/doc':>10}  {'<name>_done s (u/t/c/m)':<25}"
        f"{'emu CPU/1k':>11}{'mongo CPU/1k':>13}{'emu MB':>8}{'mongo MB':>9}"
    )
    lines = [header]
    for size in results:
        for p in size.phases:
            done = "/".join(_f(p.done_seconds.get(name), ".1f") for name in COLLECTIONS if p.done_seconds)
            lines.append(
                f"{size.n:>9,}  {p.phase:<24}{p.docs:>10,}{p.seconds:>9.1f}{_f(p.seconds_per_thousand, '.3f'):>9}"
                f"{_f(p.cpu_per_thousand, '.3f'):>9}{_mb(p.peak_rss):>8}{_f(p.journal_per_doc, '.2f'):>11}"
                f"{_f(p.reads_per_doc, '.3f'):>10}  {done or '-':<25}"
                f"{_f(p.per_thousand(p.emulator_cpu), '.3f'):>11}{_f(p.per_thousand(p.mongo_cpu), '.3f'):>13}"
                f"{_mb(p.emulator_rss):>8}{_mb(p.mongo_rss):>9}"
            )
    return lines


def seeding_lines(results: list[SizeResult]) -> list[str]:
    lines = []
    for size in results:
        s = size.shape
        lines.append(
            f"N={size.n:,}: {s.users:,} users, {s.twins:,} twins, {s.conversations:,} conversations, "
            f"{s.messages:,} messages = {size.seeded:,} documents, seeded in {size.seed_seconds:.0f} s "
            f"({size.seeded / size.seed_seconds if size.seed_seconds else 0:,.0f}/s, direct); then the "
            f"emulator's RSS {_mb(size.emulator_rss_seeded)} MB (JVM heap live after a full GC: "
            f"{_mb(size.emulator_heap_seeded)} MB"
            + (
                f", {size.emulator_heap_seeded / size.seeded:,.0f} B per document"
                if size.emulator_heap_seeded
                else ""
            )
            + f"), mongoeco's {_mb(size.mongo_rss_seeded)} MB"
        )
    return lines


def probe_lines(results: list[SizeResult]) -> list[str]:
    lines = []
    for size in results:
        if size.page_probe:
            pages = ", ".join(
                f"at {int(at):,}: {seconds * 1000:,.0f} ms" for at, seconds in size.page_probe.items()
            )
            lines.append(
                f"N={size.n:,}: the emulator's 1,000-message page (raw read's query, direct) {pages}"
            )
    return lines


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def _met(value: float | None, target: float, at_most: bool) -> str:
    if value is None:
        return "not measured"
    return "met" if (value <= target if at_most else value >= target) else "missed"


def verdict_lines(results: list[SizeResult]) -> list[str]:
    """Each target, the largest N against the smallest of this run."""
    if not results:
        return []
    small, large = min(results, key=lambda r: r.n), max(results, key=lambda r: r.n)
    at = f"N={large.n:,} ÷ N={small.n:,}"
    lines = []
    if small is not large:
        for name in (*PRODUCT_PHASES, RAW_READ, RAW_WRITE):
            a, b = large.phase(name), small.phase(name)
            if a is None or b is None:
                continue
            stand_in = name in (RAW_READ, RAW_WRITE)
            for what, value in (
                ("seconds/1k", _ratio(a.seconds_per_thousand, b.seconds_per_thousand)),
                ("client CPU-s/1k", _ratio(a.cpu_per_thousand, b.cpu_per_thousand)),
            ):
                shown = _f(value, ".2f")
                if stand_in:  # the bare baselines: how the stand-ins themselves scale
                    lines.append(f"{name} {what}, {at}: {shown} (the stand-ins' own scaling, no target)")
                else:
                    lines.append(
                        f"{name} {what}, {at}: {shown} (target ≤ {TARGET_COST_RATIO}): "
                        f"{_met(value, TARGET_COST_RATIO, at_most=True)}"
                    )
        for name in PRODUCT_PHASES:
            a, b = large.phase(name), small.phase(name)
            if a is None or b is None:
                continue
            value = _ratio(a.peak_rss, b.peak_rss)
            lines.append(
                f"{name} peak RSS of the DAG process tree, {at}: {_f(value, '.2f')} "
                f"({_mb(a.peak_rss)} / {_mb(b.peak_rss)} MB) (target ≤ {TARGET_RSS_RATIO}): "
                f"{_met(value, TARGET_RSS_RATIO, at_most=True)}"
            )
    for size in results:
        full = size.phase(FULL)
        if full is None:
            continue
        per_doc = full.reads_per_doc
        met = (
            "not counted"
            if per_doc is None
            else ("met" if round(per_doc, 3) == TARGET_READS_PER_DOC else "missed")
        )
        lines.append(
            f"Firestore reads per source document, full run, N={size.n:,}: {_f(per_doc, '.3f')} "
            f"({_f(full.reads, ',')} ÷ {_f(full.source_docs, ',')}; plus {_f(full.aggregation_queries, ',')} "
            f"aggregation queries) (target {TARGET_READS_PER_DOC:.3f}): {met}"
        )
        if full.reads is not None and full.source_docs and full.reads != full.source_docs:
            split = (full.twin_range_splits or 0) * size.shape.twins
            extra = full.reads - full.docs
            why = (
                f"= {full.twin_range_splits} twin-range splits × {size.shape.twins:,} twins, the emulator lacking "
                "PartitionQuery"
                if split == extra
                else "not the twin-range split's"
            )
            lines.append(
                f"  the partitions read {full.docs:,} documents ({full.docs / full.source_docs:.3f} per source "
                f"document); {extra:,} reads more were the plans' ({why})"
            )
    full, read, write = large.phase(FULL), large.phase(RAW_READ), large.phase(RAW_WRITE)
    if full and read and write:
        floor = min(read.rate, write.rate)
        value = _ratio(full.rate, floor)
        lines.append(
            f"full run end to end ÷ min(raw read, raw write), N={large.n:,}: {_f(value, '.2f')} "
            f"({full.rate:,.0f} vs min({read.rate:,.0f}, {write.rate:,.0f}) docs/s) (target ≥ {TARGET_VS_RAW}): "
            f"{_met(value, TARGET_VS_RAW, at_most=False)}"
        )
    return lines


def write_chart(results: list[SizeResult], path: Path) -> Path:
    """Cost per 1,000 documents against N, log scales: wall seconds and client CPU seconds
    of each product phase, with the bare read and write for the stand-ins' own scaling; and
    the DAG process tree's peak RSS."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(results, key=lambda r: r.n)
    figure, axes = plt.subplots(1, 3, figsize=(16, 5.2))
    colors = dict(zip((*PRODUCT_PHASES, RAW_READ, RAW_WRITE), plt.cm.tab10.colors, strict=False))
    panels = (
        (axes[0], "wall seconds per 1,000 documents", lambda p: p.seconds_per_thousand, True),
        (axes[1], "client CPU-s per 1,000 documents", lambda p: p.cpu_per_thousand, True),
        (
            axes[2],
            "peak RSS of the DAG process tree, MB",
            lambda p: p.peak_rss and p.peak_rss / 1024**2,
            False,
        ),
    )
    for axis, title, value, with_raw in panels:
        for name in (*PRODUCT_PHASES, *((RAW_READ, RAW_WRITE) if with_raw else ())):
            points = [
                (size.n, y)
                for size in sizes
                if (phase := size.phase(name)) is not None and (y := value(phase)) is not None and y > 0
            ]
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            raw = name in (RAW_READ, RAW_WRITE)
            axis.plot(xs, ys, marker="o", linestyle=":" if raw else "-", color=colors[name], label=name)
        axis.set_xscale("log")
        if with_raw:
            axis.set_yscale("log")
        else:  # memory: flat is the target, on a linear scale from 0
            axis.set_ylim(bottom=0)
        axis.set_xlabel("N messages")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    figure.suptitle("make bench-scale: cost per document against N (flat = linear)", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def report(results: list[SizeResult], chart: Path | None = CHART) -> list[str]:
    lines = [
        *seeding_lines(results),
        *probe_lines(results),
        "",
        *table_lines(results),
        "",
        *verdict_lines(results),
    ]
    for line in lines:
        print(line)
    if chart is not None and results:
        print(f"chart: {write_chart(results, chart)}")
    return lines


# Measuring -------------------------------------------------------------------------------


class JournalPoller:
    """Polls a key journal collection (direct, not through the proxy) every `interval`
    seconds during a DAG run, for the pages added since the last poll (ObjectIds of one
    process grow), and adds up their BSON bytes and keys: `<name>_done` drops them."""

    def __init__(self, collection, interval: float = 0.25) -> None:
        self.collection = collection
        self.interval = interval
        self.bytes = 0
        self.claims = 0
        self.pages = 0
        self._last = None
        self._seen: set = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-journal", daemon=True)

    def poll(self) -> None:
        import bson

        from include.firestore_to_mongo.target.key_journal import unpack_claims

        with contextlib.suppress(Exception):  # a poll that fails is retried at the next one
            query = {} if self._last is None else {"_id": {"$gt": self._last}}
            for page in self.collection.find(query).sort("_id", 1):
                self._last = page["_id"]
                if page["_id"] in self._seen:
                    continue
                self._seen.add(page["_id"])
                self.pages += 1
                self.bytes += len(bson.encode(page))
                self.claims += len(unpack_claims(page["claims"]))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

    def __enter__(self) -> JournalPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


@contextlib.contextmanager
def standins_peak(bench: Bench) -> Iterator[dict[str, int | None]]:
    """Peak RSS of the emulator's process tree and of mongoeco during the block."""
    peaks: dict[str, int | None] = {"emulator": None, "mongo": None}
    samplers = {"emulator": PeakRss(bench.emulator.process.pid, tree=True)}
    if bench.cpu.mongo_pid is not None:
        samplers["mongo"] = PeakRss(bench.cpu.mongo_pid, tree=True)
    for sampler in samplers.values():
        sampler.start()
    try:
        yield peaks
    finally:
        for name, sampler in samplers.items():
            peaks[name] = sampler.stop()


def tree_rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    sampler = PeakRss(pid, tree=True)
    sampler.sample()
    return sampler.peak


def message_paths_by_name(s: Shape) -> list[str]:
    """Every message's path, in Firestore's name order (the raw read's order)."""
    return sorted(changed_paths(s, fraction=1.0))


def page_probe(client, s: Shape, repeats: int = 2) -> dict[str, float]:
    """Seconds for the emulator to answer one page of phases.raw_read's query at the start,
    the middle and the end of the messages (direct: no proxy), the best of `repeats`."""
    paths = message_paths_by_name(s)
    query = client.collection_group(phases.MESSAGES.source_collection).order_by("__name__")
    found = {}
    for at in sorted({0, len(paths) // 2, max(0, len(paths) - phases.PAGE_SIZE)}):
        page = query.limit(phases.PAGE_SIZE)
        if at:
            page = page.start_after(client.document(paths[at - 1]).get())
        best = float("inf")
        for _ in range(repeats):
            started = time.monotonic()
            list(page.stream())
            best = min(best, time.monotonic() - started)
        found[str(at)] = best
    return found


def jvm_live_heap(pid: int) -> int | None:
    """Bytes of the JVM heap in use after a full GC, in the java process under `pid`
    (`jcmd GC.run`, then `GC.heap_info`); None without jcmd or java."""
    jcmd = shutil.which("jcmd")
    with contextlib.suppress(psutil.Error, OSError, subprocess.SubprocessError):
        java = [p for p in psutil.Process(pid).children(recursive=True) if p.name() == "java"]
        if not jcmd or not java:
            return None
        subprocess.run([jcmd, str(java[0].pid), "GC.run"], capture_output=True, timeout=600, check=True)
        info = subprocess.run(
            [jcmd, str(java[0].pid), "GC.heap_info"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        if found := re.search(r"heap\s+total \d+K, used (\d+)K", info):
            return int(found.group(1)) * 1024
    return None


class MemoryWatch:
    """Sends this process SIGTERM (the bench stops, its servers with it, the figures so far
    saved) when the machine's memory in use passes MEMORY_LIMIT, checked every 2 s."""

    def __init__(self, limit: int = MEMORY_LIMIT) -> None:
        self.limit = limit
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            memory = psutil.virtual_memory()
            used = memory.total - memory.available
            self.peak = max(self.peak, used)
            if used > self.limit:
                print(
                    f"WARNING: {used / 1024**3:.1f} GB of memory in use, over {self.limit / 1024**3:.0f} GB: stopping",
                    flush=True,
                )
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()


def done_seconds(dag_id: str, since: datetime) -> dict[str, float]:
    """Each `<name>_done` task's seconds in `dag_id`'s run that started after `since`, from
    Airflow's task instances (this process's Airflow configuration is the bench's: reading
    the run's summary set it)."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    found = {}
    with create_session() as session:
        rows = (
            session.query(TaskInstance.task_id, TaskInstance.start_date, TaskInstance.end_date)
            .filter(TaskInstance.dag_id == dag_id, TaskInstance.start_date >= since)
            .all()
        )
    for task_id, start, end in rows:
        if task_id.endswith("_done") and start and end:
            found[task_id.removesuffix("_done")] = (end - start).total_seconds()
    return found


def run_checks(run: DagRun, good: tuple[str, ...], expected: dict[str, int] | None) -> list[str]:
    problems = []
    if run.returncode != 0:
        problems.append(f"airflow dags test {run.dag_id} exited with {run.returncode}")
    collections = run.collections or {}
    for name in COLLECTIONS:
        figures = collections.get(name)
        if not figures:
            problems.append(f"{run.dag_id}: no summary figures for {name}")
            continue
        if figures.get("status") not in good:
            problems.append(f"{run.dag_id}: {name}'s status is {figures.get('status')!r}")
        if expected is not None and figures.get("read") != expected[name]:
            problems.append(f"{run.dag_id}: {name} read {figures.get('read')!r}, not {expected[name]:,}")
    return problems


class ScaleBench:
    """Measures each N; `results` holds what was measured so far (a size's phases as they
    end), written to `path` after each phase, so that a run stopped early keeps them."""

    def __init__(self, bench: Bench, path: Path) -> None:
        self.bench = bench
        self.path = path
        self.results: list[SizeResult] = []

    def measure_size(self, n: int, stand_ins_only: bool = False) -> SizeResult:
        bench = self.bench
        s = shape(n)
        bench.emulator.wipe(PROJECT)
        started = time.monotonic()
        seeded = data.seed(
            bench.firestore_direct, n, users=s.users, twins=s.twins, conversations=s.conversations
        )
        seed_seconds = time.monotonic() - started
        size = SizeResult(
            n,
            s,
            seeded,
            seed_seconds,
            tree_rss(bench.emulator.process.pid),
            tree_rss(bench.cpu.mongo_pid),
            [],
        )
        size.emulator_heap_seeded = jvm_live_heap(bench.emulator.process.pid)
        print(seeding_lines([size])[0], flush=True)
        size.page_probe = page_probe(bench.firestore_direct, s)
        print(*probe_lines([size]), flush=True)
        self.results.append(size)
        self.check_memory()
        if stand_ins_only:  # and mongoeco holding the N messages: the raw write
            size.phases.append(self.raw_write(s))
            self.check_memory()
            return size

        size.phases.append(self.raw_read(n))
        self.check_memory()
        size.phases.append(self.raw_write(s))
        self.check_memory()

        database = bench.fresh_database(f"scale_{n}").name
        expected = {
            "users": s.users,
            "digital_twins": s.twins,
            "conversations": s.conversations,
            "messages": n,
        }
        full, _ = self.dag_phase(
            n, FULL, MIGRATE_DAG_ID, self.conf(mode="full"), database, s.documents, expected
        )
        size.phases.append(full)
        self.check_memory()
        paths = self.change(s)
        incremental, figures = self.dag_phase(
            n, INCREMENTAL, MIGRATE_DAG_ID, self.conf(mode="incremental"), database, None, None
        )
        messages = figures.get("messages") or {}
        if messages.get("updated") != len(paths):
            incremental.ok = False
            incremental.notes.append(
                f"the incremental run updated {messages.get('updated')!r} messages, not the {len(paths):,} changed"
            )
        size.phases.append(incremental)
        self.check_memory()
        for name, depth in ((VERIFY_FULL, "full"), (VERIFY_KEYS, "keys")):
            verify, _ = self.dag_phase(
                n, name, VERIFY_DAG_ID, self.conf(depth=depth), database, s.documents, expected
            )
            size.phases.append(verify)
            self.check_memory()
        bench.mongo.drop_database(database)
        return size

    @staticmethod
    def conf(**kwargs: str) -> dict[str, Any]:
        return kwargs | {
            "batch_size": BATCH_SIZE,
            "timeout_seconds": TIMEOUT_SECONDS,
            "partitions": PARTITIONS,
        }

    def raw_read(self, n: int) -> PhaseResult:
        with self.bench.measure() as m, standins_peak(self.bench) as peaks:
            count = phases.raw_read(self.bench.firestore)
        result = PhaseResult(
            n, RAW_READ, count, m.seconds, client_cpu=m.cpu.client, reads=m.reads["documents"]
        )
        result.source_docs = n
        self._stand_ins(result, m.cpu, peaks)
        if count != n:
            result.ok = False
            result.notes.append(f"the raw read read {count:,} messages, not {n:,}")
        self.print_phase(result)
        return result

    def raw_write(self, s: Shape) -> PhaseResult:
        """The messages mapped MAP_CHUNK at a time, each chunk's writes timed (phases.raw_write)."""
        bench = self.bench
        collection = bench.fresh_collection(f"scale_raw_write_{s.messages}")
        seconds = client = emulator = mongo = proxies = 0.0
        written = 0
        sources = data.messages(s.messages, conversations=s.conversations, twins=s.twins)
        with standins_peak(bench) as peaks:
            while chunk := list(itertools.islice(sources, MAP_CHUNK)):
                documents = phases.map_all(chunk)
                with bench.cpu.phase() as cpu:
                    started = time.monotonic()
                    written += phases.raw_write(collection, documents)
                    seconds += time.monotonic() - started
                client += cpu.client or 0.0
                emulator += cpu.emulator or 0.0
                mongo += cpu.mongo or 0.0
                proxies += cpu.proxies or 0.0
        result = PhaseResult(s.messages, RAW_WRITE, written, seconds, client_cpu=client)
        result.emulator_cpu, result.mongo_cpu, result.proxies_cpu = emulator, mongo, proxies
        result.emulator_rss, result.mongo_rss = peaks["emulator"], peaks["mongo"]
        if written != s.messages:
            result.ok = False
            result.notes.append(f"the raw write wrote {written:,} messages, not {s.messages:,}")
        bench.mongo.drop_database(collection.database.name)  # mongoeco's memory, for the product's
        self.print_phase(result)
        return result

    def change(self, s: Shape) -> list[str]:
        """1 % of the messages edited (content, and timestamp = now: the change cursor), direct."""
        from google.api_core.datetime_helpers import DatetimeWithNanoseconds

        client = self.bench.firestore_direct
        paths = changed_paths(s)
        now = datetime.now(UTC)
        stamp = DatetimeWithNanoseconds(
            now.year, now.month, now.day, now.hour, now.minute, now.second, now.microsecond, tzinfo=UTC
        )

        def commit(chunk: tuple[str, ...]) -> None:
            batch = client.batch()
            for path in chunk:
                batch.update(
                    client.document(path),
                    {"content": f"Edited for the incremental run, {path}.", "timestamp": stamp},
                )
            batch.commit()

        with ThreadPoolExecutor(data.SEED_THREADS) as pool:
            list(pool.map(commit, itertools.batched(paths, data.BATCH_LIMIT)))
        print(f"changed {len(paths):,} messages (content, timestamp = now), direct", flush=True)
        return paths

    def dag_phase(
        self,
        n: int,
        phase: str,
        dag_id: str,
        conf: dict[str, Any],
        database: str,
        source_docs: int | None,
        expected: dict[str, int] | None,
    ) -> tuple[PhaseResult, dict[str, dict]]:
        """One DAG run, measured; with its summary's figures per collection."""
        from include.firestore_to_mongo.target.key_journal import MIGRATION_JOURNAL
        from include.firestore_to_mongo.verify.store import KEY_JOURNAL

        bench = self.bench
        journal_name = MIGRATION_JOURNAL if dag_id == MIGRATE_DAG_ID else KEY_JOURNAL
        label = f"scale-{n}-{phase.split(',')[0].replace(' ', '-')}"
        with JournalPoller(bench.mongo[database][journal_name]) as journal, standins_peak(bench) as peaks:
            run, m = bench.dag_run(dag_id, conf, database, label)
        collections = run.collections or {}
        docs = sum(int(figures.get("read") or 0) for figures in collections.values())
        reads = run.firestore_reads or {}
        result = PhaseResult(
            n,
            phase,
            docs,
            run.seconds,
            client_cpu=m.cpu.client,
            peak_rss=run.peak_rss,
            journal_bytes=journal.bytes,
            journal_claims=journal.claims,
            reads=reads.get("documents"),
            aggregation_queries=reads.get("aggregation_queries"),
            source_docs=source_docs if source_docs is not None else docs,
            done_seconds=done_seconds(dag_id, run.started_at) if run.started_at else {},
        )
        self._stand_ins(result, m.cpu, peaks)
        with contextlib.suppress(OSError):
            result.twin_range_splits = len(set(TWIN_RANGES.findall(run.log_path.read_text(errors="replace"))))
        good = ("ok",) if dag_id == MIGRATE_DAG_ID else ("verified",)
        result.notes = run_checks(run, good, expected)
        if journal.claims and journal.claims != docs:
            result.notes.append(
                f"the journal poll saw {journal.claims:,} keys in {journal.pages} pages, the run read {docs:,} "
                "documents (pages dropped before a poll, or read twice)"
            )
        result.ok = not result.notes
        for note in result.notes:
            print(f"WARNING: {note} (log: {run.log_path})")
        self.print_phase(result)
        return result, collections

    @staticmethod
    def _stand_ins(result: PhaseResult, cpu, peaks: dict[str, int | None]) -> None:
        result.emulator_cpu, result.mongo_cpu, result.proxies_cpu = cpu.emulator, cpu.mongo, cpu.proxies
        result.emulator_rss, result.mongo_rss = peaks["emulator"], peaks["mongo"]

    @staticmethod
    def print_phase(result: PhaseResult) -> None:
        print(table_lines([SizeResult(result.n, shape(result.n), 0, 0, None, None, [result])])[1], flush=True)

    def check_memory(self) -> None:
        """Save the figures so far; stop before the machine's memory in use passes MEMORY_LIMIT."""
        dump(self.results, self.path)
        used = psutil.virtual_memory().total - psutil.virtual_memory().available
        if used > MEMORY_LIMIT:
            raise MemoryLimitError(
                f"{used / 1024**3:.1f} GB in use, over {MEMORY_LIMIT / 1024**3:.0f} GB: stopping"
            )


class MemoryLimitError(RuntimeError):
    pass


def parse_sizes(text: str | None) -> tuple[int, ...]:
    if not text or not text.strip():
        return DEFAULT_SIZES
    try:
        sizes = tuple(int(part.strip().replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        sys.exit(f"BENCH_SCALE_N must be a comma-separated list of positive integers, not {text!r}")
    if not sizes or any(size <= 0 for size in sizes):
        sys.exit(f"BENCH_SCALE_N must be a comma-separated list of positive integers, not {text!r}")
    return tuple(sorted(set(sizes)))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    results_path = Path(os.environ.get("BENCH_SCALE_RESULTS") or RESULTS)
    chart = Path(os.environ.get("BENCH_SCALE_CHART") or CHART)
    if argv[:1] == ["--report"]:
        report(load(Path(argv[1]) if len(argv) > 1 else results_path), chart)
        return 0
    # --stand-ins: only seed each N and measure the stand-ins (memory, the emulator's pages),
    # and the raw write (mongoeco's memory with N messages).
    stand_ins_only = argv[:1] == ["--stand-ins"]
    if stand_ins_only and not os.environ.get("BENCH_SCALE_RESULTS"):
        results_path = STAND_INS_RESULTS
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    sizes = parse_sizes(os.environ.get("BENCH_SCALE_N"))
    mongo_uri = os.environ.get("BENCH_MONGODB_URI") or None
    firestore_rtt = _env_rtt("BENCH_FIRESTORE_RTT_MS", DEFAULT_FIRESTORE_RTT_MS)
    mongo_rtt = _env_rtt("BENCH_MONGO_RTT_MS", DEFAULT_MONGO_RTT_MS)
    WORK.mkdir(exist_ok=True)
    print_machine(mongo_uri)
    print(f"messages {', '.join(f'{n:,}' for n in sizes)} (BENCH_SCALE_N), partitions {PARTITIONS}")
    # The emulator's JVM takes at most a quarter of the RAM by default (6 GB of 24): enough for
    # a million documents (about 2.1 KB of live heap each, measured), but settable.
    heap = os.environ.get("BENCH_SCALE_EMULATOR_HEAP", "")
    if heap and "-Xmx" not in os.environ.get("JAVA_TOOL_OPTIONS", ""):
        os.environ["JAVA_TOOL_OPTIONS"] = f"{os.environ.get('JAVA_TOOL_OPTIONS', '')} -Xmx{heap}".strip()
    print(f"emulator JVM: JAVA_TOOL_OPTIONS={os.environ.get('JAVA_TOOL_OPTIONS', '')!r}")
    ok = True
    with contextlib.ExitStack() as stack:
        watch = stack.enter_context(MemoryWatch())
        bench = Bench.start(stack, mongo_uri, PARTITIONS, firestore_rtt, mongo_rtt)
        print(bench.network, flush=True)
        scale = ScaleBench(bench, results_path)
        results = scale.results
        for n in sizes:
            print(f"\nN = {n:,}", flush=True)
            try:
                size = scale.measure_size(n, stand_ins_only)
            except MemoryLimitError as error:
                print(f"WARNING: N={n:,}: {error}")
                ok = False
                break
            ok = ok and all(p.ok for p in size.phases)
    print(
        f"\nbench-scale finished in {time.monotonic() - started:.0f} s; figures in {results_path}; "
        f"the machine's memory in use peaked at {watch.peak / 1024**3:.1f} GB (sampled every 2 s)\n"
    )
    if stand_ins_only:
        print(*seeding_lines(results), *probe_lines(results), *table_lines(results), sep="\n")
    else:
        report(results, chart)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
