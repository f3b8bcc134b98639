"""`make demo` and `make demo-down`: the whole migration on local stand-ins.

    python -m devtools.demo up     # start the emulator and Mongo, seed, run the DAG and the verify, print both
    python -m devtools.demo down   # stop what `up` started

Firestore is the real emulator; MongoDB is mongoeco with its SQLite engine, so
the migrated data stays under .demo/ and stays queryable after the run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
PROJECT = "demo-project"
DATABASE = "app"
FIRESTORE_PORT = int(os.environ.get("DEMO_FIRESTORE_PORT", "8686"))
MONGO_PORT = int(os.environ.get("DEMO_MONGO_PORT", "27027"))
PIDS = {"firestore": DEMO / "firestore.pid", "mongo": DEMO / "mongo.pid"}


def demo_environment() -> dict[str, str]:
    return dict(
        os.environ,
        AIRFLOW_HOME=str(DEMO / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=str(ROOT),
        FIRESTORE_EMULATOR_HOST=f"127.0.0.1:{FIRESTORE_PORT}",
        AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT=json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"project": PROJECT}}
        ),
        AIRFLOW_CONN_MONGO_DEFAULT=f"mongo://127.0.0.1:{MONGO_PORT}/{DATABASE}?directConnection=true",
    )


def up() -> int:
    from devtools.servers import start_firestore_emulator, start_mongoeco

    down(quiet=True)
    DEMO.mkdir(exist_ok=True)
    env = demo_environment()
    os.environ.update(env)

    step(f"Starting the Firestore emulator on port {FIRESTORE_PORT}")
    emulator = start_firestore_emulator(FIRESTORE_PORT, log_path=DEMO / "firestore.log")
    PIDS["firestore"].write_text(str(emulator.process.pid))
    step(f"Starting mongoeco (SQLite engine, data in .demo/mongo.sqlite) on port {MONGO_PORT}")
    mongo = start_mongoeco(MONGO_PORT, sqlite_path=DEMO / "mongo.sqlite", log_path=DEMO / "mongo.log")
    PIDS["mongo"].write_text(str(mongo.process.pid))

    step("Seeding Firestore with the sample dataset")
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    from devtools.sample_data import seed

    counts = seed(firestore.Client(project=PROJECT, credentials=AnonymousCredentials()))
    print("   " + ", ".join(f"{count:,} {name}" for name, count in sorted(counts.items())))

    airflow = [sys.executable, "-m", "airflow"]
    if not (DEMO / "airflow" / "airflow.db").exists():
        step("Creating the Airflow metadata database (.demo/airflow)")
        subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True)

    # mongoeco's SQLite engine needs tens of seconds for a batch once a collection holds
    # thousands of documents; a real MongoDB never comes near this timeout.
    conf = '{"timeout_seconds": 900}'
    migrated = run_dag(airflow, env, "firestore_to_mongo", conf, "dag-run.log")
    print_summary("firestore_to_mongo")
    verified = run_dag(airflow, env, "firestore_to_mongo_verify", conf, "verify-run.log")
    print_summary("firestore_to_mongo_verify")
    print(
        f"""
The data stays in MongoDB (mongoeco on 127.0.0.1:{MONGO_PORT}, database '{DATABASE}') until `make demo-down`.
Query it with any MongoDB client, for example:
  mongosh "mongodb://127.0.0.1:{MONGO_PORT}/{DATABASE}?directConnection=true" --eval 'db.avatar_conversations.findOne()'
  .venv/bin/python -c "import pymongo; db = pymongo.MongoClient('mongodb://127.0.0.1:{MONGO_PORT}/?directConnection=true').{DATABASE}; print(db.avatar_conversations.count_documents({{}}), db.users.find_one())"
The Firestore emulator is on 127.0.0.1:{FIRESTORE_PORT} (project '{PROJECT}').
Run `make demo` again for an incremental re-run (the watermarks stay in .demo/mongo.sqlite):
nothing is duplicated. `make demo-down && rm -rf .demo` starts from scratch."""
    )
    return migrated or verified


def run_dag(airflow: list[str], env: dict[str, str], dag_id: str, conf: str, log_name: str) -> int:
    step(f"Running airflow dags test {dag_id} (log: .demo/{log_name})")
    started = time.monotonic()
    with open(DEMO / log_name, "w") as log:
        run = subprocess.run(
            [*airflow, "dags", "test", dag_id, "--conf", conf], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    print(f"   finished in {time.monotonic() - started:.0f} s, exit code {run.returncode}")
    return run.returncode


def print_summary(dag_id: str) -> None:
    """The table (and notes) of the DAG's latest summary XCom."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from include.firestore_to_mongo.report import render_notes, render_table
    from include.firestore_to_mongo.verify_report import render_verify_notes, render_verify_table

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(XComModel.dag_id == dag_id, XComModel.task_id == "summary")
            .order_by(XComModel.timestamp.desc())
            .first()
        )
        figures = row.value if row else None
    if not figures:
        print(f"\nNo summary of {dag_id} was recorded; see its log under .demo/")
        return
    rows = list(figures["collections"].values())
    if dag_id == "firestore_to_mongo":
        title, table, notes = "Firestore → MongoDB summary", render_table(rows), render_notes(rows)
    else:
        title, table, notes = (
            "Verify: MongoDB against Firestore",
            render_verify_table(rows),
            render_verify_notes(rows),
        )
    print(f"\n{title}\n")
    print(table)
    for note in notes:
        print(f"- {note}")
    print()


def down(quiet: bool = False) -> None:
    for name, pid_file in PIDS.items():
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
            _wait_gone(pid)
            if not quiet:
                print(f"stopped {name} (process group {pid})")
        except ProcessLookupError:
            pass
        pid_file.unlink()


def _wait_gone(pid: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        sys.exit(up())
    elif command == "down":
        down()
    else:
        sys.exit(f"usage: python -m devtools.demo [up|down], not {command!r}")
