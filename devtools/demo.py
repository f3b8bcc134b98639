"""`make demo` and `make demo-down`: the whole migration on local stand-ins.

    python -m devtools.demo up     # start the emulator and Mongo, seed, run the DAG, print the summary
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
        PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
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

    step("Running the DAG: airflow dags test firestore_to_mongo (log: .demo/dag-run.log)")
    started = time.monotonic()
    with open(DEMO / "dag-run.log", "w") as log:
        run = subprocess.run(
            # mongoeco's SQLite engine needs tens of seconds for a batch once a collection
            # holds thousands of documents; a real MongoDB never comes near this timeout.
            [*airflow, "dags", "test", "firestore_to_mongo", "--conf", '{"timeout_seconds": 900}'],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    print(f"   finished in {time.monotonic() - started:.0f} s, exit code {run.returncode}")

    print_summary()
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
    return run.returncode


def print_summary() -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from include.firestore_to_mongo.report import render_notes, render_table

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter(XComModel.dag_id == "firestore_to_mongo", XComModel.task_id == "summary")
            .order_by(XComModel.timestamp.desc())
            .first()
        )
        figures = row.value if row else None
    if not figures:
        print("\nNo summary was recorded; see .demo/dag-run.log")
        return
    rows = list(figures["collections"].values())
    print("\nFirestore → MongoDB summary\n")
    print(render_table(rows))
    for note in render_notes(rows):
        print(f"- {note}")


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
