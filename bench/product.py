"""A DAG end to end: `airflow dags test <dag_id>` in a subprocess. The bench runs the
migration (`firestore_to_mongo`) and its verify (`firestore_to_mongo_verify`) this way.

Same environment as `make demo` (devtools/demo.py): its own AIRFLOW_HOME (under
.bench/, migrated once), the repository's dags/ and plugins/, and the two
connections given as AIRFLOW_CONN_* variables. The run's figures are read
afterwards from the summary task's XCom in the Airflow database: both DAGs'
`summary` returns {"collections": {name: figures}}.

The subprocess is `python -m bench.count_reads dags test ...`: Airflow's CLI with the
Firestore client's reads counted (bench/count_reads.py), written to a JSON file at exit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.count_reads import READS_FILE_VARIABLE, read_totals
from bench.rss import PeakRss

MIGRATE_DAG_ID = "firestore_to_mongo"
VERIFY_DAG_ID = "firestore_to_mongo_verify"


def migrate_metadata_db(env: dict[str, str]) -> bool:
    """Create the Airflow database once; True when it had to be created."""
    if (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        return False
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    return True


@dataclass
class DagRun:
    dag_id: str
    returncode: int
    seconds: float
    # Peak RSS of the `airflow dags test` process and its descendants, sampled every 50 ms.
    peak_rss: int
    processes_seen: int
    log_path: Path
    # The summary XCom's entry for "messages" ({} when none was recorded).
    messages: dict[str, Any]
    # Firestore reads counted in the subprocess (bench.count_reads.snapshot()); None when
    # it wrote none.
    firestore_reads: dict[str, Any] | None = None
    # The summary XCom's entries of every collection ({} when none was recorded).
    collections: dict[str, dict[str, Any]] | None = None
    started_at: datetime | None = None


def run_dag(env: dict[str, str], dag_id: str, conf: dict[str, Any], log_path: Path) -> DagRun:
    """`airflow dags test dag_id --conf conf`, its output in `log_path`, its Firestore
    reads counted into <log_path>.reads.json."""
    reads_path = log_path.with_suffix(".reads.json")
    reads_path.unlink(missing_ok=True)
    env = dict(env, **{READS_FILE_VARIABLE: str(reads_path)})
    command = [sys.executable, "-m", "bench.count_reads", "dags", "test", dag_id, "--conf", json.dumps(conf)]
    started_at = datetime.now(UTC)
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = PeakRss(process.pid, tree=True).start()
        try:
            returncode = process.wait()
        finally:
            sampler.stop()
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.monotonic() - started
    figures = read_summary(env, dag_id, started_at)
    collections = (figures or {}).get("collections") or {}
    return DagRun(
        dag_id=dag_id,
        returncode=returncode,
        seconds=seconds,
        peak_rss=sampler.peak,
        processes_seen=sampler.processes_seen,
        log_path=log_path,
        messages=collections.get("messages") or {},
        firestore_reads=read_totals(reads_path),
        collections=collections,
        started_at=started_at,
    )


def read_summary(env: dict[str, str], dag_id: str, since: datetime) -> dict[str, Any] | None:
    """`dag_id`'s newest summary XCom written after `since`, as devtools/demo.py reads it.

    The verify's summary task pushes its figures before it fails a run, so a failed
    verify has them too."""
    return read_xcom(env, dag_id, "summary", since)


def read_xcom(env: dict[str, str], dag_id: str, task_id: str, since: datetime) -> dict[str, Any] | None:
    """The newest return_value XCom of `dag_id`'s task `task_id` written after `since` (the
    cut-over's `verdict` pushes its own before it fails a blocked run)."""
    # Airflow reads its configuration on import: point this process at the bench's home first.
    for name in ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "AIRFLOW__CORE__LOAD_EXAMPLES"):
        os.environ[name] = env[name]
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(
                XComModel.dag_id == dag_id,
                XComModel.task_id == task_id,
                XComModel.key == "return_value",
            )
            .order_by(XComModel.timestamp.desc())
            .first()
        )
        if row is None or _aware(row.timestamp) < since:
            return None
        value = row.value
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
